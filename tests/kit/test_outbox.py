"""The local SMTP outbox keeps every message as an .eml file and accepts it."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest

from tada.kit.outbox import Outbox
from tada.kit.ports import PortInUseError, free_port


def _message(subject: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Take-Down Assistance <takedown@tada.test>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Please remove the content at the reported location.\n")
    return message


async def test_every_message_is_stored_as_an_eml_file(tmp_path):
    outbox = Outbox(tmp_path / "outbox", "127.0.0.1", free_port())
    with outbox:
        response = await aiosmtplib.send(
            _message("Removal request 1", "abuse@example.test"),
            hostname=outbox.host,
            port=outbox.port,
            recipients=["abuse@example.test", "copy@example.test"],
        )
        await aiosmtplib.send(
            _message("Removal request 2 — 移除請求", "legal@example.test"),
            hostname=outbox.host,
            port=outbox.port,
        )
        messages = await outbox.wait_for(2)

    assert response[1].startswith("Message accepted")
    files = outbox.files()
    assert len(files) == 2
    assert all(path.suffix == ".eml" for path in files)
    assert not list((tmp_path / "outbox").glob(".*.tmp"))

    first, second = messages
    assert first["Subject"] == "Removal request 1"
    assert first["To"] == "abuse@example.test"
    assert first["X-Outbox-Rcpt-To"] == "abuse@example.test, copy@example.test"
    assert first["X-Outbox-Mail-From"] == "takedown@tada.test"
    assert "Please remove the content" in first.get_content()
    assert second["Subject"] == "Removal request 2 — 移除請求"
    assert second["To"] == "legal@example.test"


def test_a_taken_port_is_reported_by_number(tmp_path):
    port = free_port()
    with Outbox(tmp_path / "a", "127.0.0.1", port):
        with pytest.raises(PortInUseError) as raised:
            Outbox(tmp_path / "b", "127.0.0.1", port).start()
    assert raised.value.port == port
