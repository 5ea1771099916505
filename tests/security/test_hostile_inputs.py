"""A corpus of hostile inputs (tests/security/hostile_corpus.py and a few whole files) across
import files, the CLI, the HTTP API, notes and the notices they reach: each gets a clear error
or is stored inert; the good rows around them still start, and no header is ever injected
into an email (checked on a real SMTP server)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from typer.testing import CliRunner

from tada.activities.notices import NotifierIdentity
from tada.activities.store import StoreActivities
from tada.adapters.sealing import is_sealed
from tada.api.server import ApiRunner
from tada.app.intake import open_case, start_link_row
from tada.app.readmodel import case_status, link_timeline
from tada.cli.main import app as tada_app
from tada.cli.runtime import use_settings
from tada.domain.intake import MAX_IMPORT_LINES, ImportTooLarge, parse_link_file
from tada.domain.models import LinkEvent, NoticeBatch, NoticeRequest
from tada.domain.states import Channel, NoticeKind
from tada.domain.urls import normalise_url
from tada.domain.victim_data import InvalidField
from tada.kit.ports import free_port
from tada.settings import Settings
from tests.cli.test_cli import in_state, mail_count, stack  # noqa: F401 - the CLI stack fixture
from tests.security.hostile_corpus import CLI_ARGS, CSV_ROWS, EITHER, GOOD_URLS, INERT, LINES, NOTES, REJECTED
from tests.support.crypto import suite_crypto
from tests.support.link_ids import links_of
from tests.support.notices import notice_activities
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

_URL_SAFE = set("!$%&'()*+,/:;=?@[]~-._#") | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def assert_inert_url(url: str) -> None:
    """Only printable ASCII that needs no escaping, an http(s) scheme and a real host."""
    assert set(url) <= _URL_SAFE, url[:100]
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname and "@" not in parts.netloc


def assert_shown_safely(value: str) -> None:
    assert len(value) <= 200 and not any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


def check_outcome(parsed, line: int, label: str, expected: str) -> None:
    rows = {row.line: row.url for row in parsed.rows}
    rejected = {row.line: row for row in parsed.rejected}
    assert (line in rows) != (line in rejected), f"{label}: neither started nor named"
    if line in rejected:
        assert expected in (REJECTED, EITHER), f"{label}: rejected ({rejected[line].reason})"
        assert rejected[line].reason, label
        assert_shown_safely(rejected[line].value)
    else:
        assert expected in (INERT, EITHER), f"{label}: accepted as {rows[line][:80]}"
        assert_inert_url(rows[line])


# --- import files, parsed ---------------------------------------------------------------------


def hostile_text_file() -> tuple[bytes, dict[int, tuple[str, str]], list[int]]:
    """Good URLs between every hostile line: (file, line -> (label, expected), good lines)."""
    lines, expect, good = [], {}, []
    for number, (label, raw, expected) in enumerate(LINES):
        lines.append(raw)
        expect[len(lines)] = (label, expected)
        lines.append(f"{GOOD_URLS[number % 3]}?n={number}".encode())
        good.append(len(lines))
    return b"\n".join(lines) + b"\n", expect, good


async def test_hostile_lines_are_named_and_the_good_ones_between_them_survive():
    data, expect, good = hostile_text_file()
    parsed = parse_link_file(data)
    for line, (label, expected) in expect.items():
        check_outcome(parsed, line, label, expected)
    assert [row.line for row in parsed.rows if row.line in good] == good
    urls = {row.line: row.url for row in parsed.rows}
    homograph = next(line for line, (label, _) in expect.items() if label.startswith("IDN homograph"))
    assert urls[homograph] == "https://xn--pypal-4ve.com/login"  # never the Latin paypal.com
    assert normalise_url("https://paypal.com/login") != urls[homograph]
    template = next(line for line, (label, _) in expect.items() if label == "template in path")
    assert urls[template] == "https://example.com/%7B%7B7*7%7D%7D"


async def test_hostile_csv_rows_are_named_and_the_good_ones_survive():
    lines, expect, good, physical = [b"url,note"], {}, [], 1  # physical: the last line number used
    for number, (label, raw, expected) in enumerate(CSV_ROWS):
        lines.append(raw)
        expect[physical + 1] = (label, expected)
        physical += 1 + raw.count(b"\n")  # a quoted cell may hold a line break
        lines.append(f"{GOOD_URLS[number % 3]}?row={number},fine".encode())
        physical += 1
        good.append(physical)
    parsed = parse_link_file(b"\n".join(lines) + b"\n")
    for line, (label, expected) in expect.items():
        check_outcome(parsed, line, label, expected)
    assert [row.line for row in parsed.rows if row.line in good] == good


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("UTF-16 file", "\n".join(GOOD_URLS).encode("utf-16")),
        ("PNG bytes", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        ("only NUL bytes", b"\x00" * 4096),
        ("only a BOM", b"\xef\xbb\xbf"),
        ("empty", b""),
    ],
)
async def test_hostile_whole_files_get_line_by_line_errors_not_a_crash(label, data):
    parsed = parse_link_file(data)
    assert parsed.rows == []
    for rejection in parsed.rejected:
        assert rejection.reason and rejection.line >= 1
        assert_shown_safely(rejection.value)


async def test_a_huge_file_is_refused_whole_quickly_before_anything_starts():
    data = b"url\n" + b"https://example.com/v/1234567890\n" * 200_000
    started = asyncio.get_running_loop().time()
    with pytest.raises(ImportTooLarge, match=f"at most {MAX_IMPORT_LINES}: split it"):
        parse_link_file(data)
    assert asyncio.get_running_loop().time() - started < 1.0


# --- the CLI --------------------------------------------------------------------------------------


def first_json(out: str):
    """The CLI's JSON document: in-process, the worker's log lines may share stdout with it."""
    start = 0 if out.startswith("{") else out.index("\n{") + 1
    return json.JSONDecoder().raw_decode(out[start:])[0]


@pytest.fixture
def cli(stack, tmp_path):  # noqa: F811
    """``await cli(*args)``: the real `tada` app, in-process (a subprocess costs seconds of imports),
    with the CLI stack's settings; (exit code, stdout, stderr)."""
    env = stack.env
    settings = Settings(
        database_url=env["TADA_DATABASE_URL"],
        temporal_address=env["TADA_TEMPORAL_ADDRESS"],
        task_queue=env["TADA_TASK_QUEUE"],
        platforms=Path(env["TADA_PLATFORMS"]),
        state_dir=tmp_path / ".tada",
        log_format="json",
    )

    async def invoke(*args: str) -> tuple[int, str, str]:
        result = await asyncio.to_thread(CliRunner().invoke, tada_app, list(args))
        return result.exit_code, result.stdout, result.stderr

    with use_settings(settings, configure_logs=False):  # the suite's logging stays
        yield invoke


async def test_hostile_cli_arguments_get_clear_errors(cli, stack, tmp_path):  # noqa: F811
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"url\n" + b"https://example.com/v/1\n" * (MAX_IMPORT_LINES + 5))
    sparse = tmp_path / "sparse.csv"
    with sparse.open("wb") as file:
        file.truncate(60 * 2**20)  # 60 MiB of nothing, never read
    runs = [
        *CLI_ARGS,
        ("non-UTF-8 note", ["link", "respond", "L", "--outcome", "removed", "--note", "\udcff\udcfe"], 2),
        ("a 200k-line import", ["links", "import", "TD-AAAAAAAA", str(huge)], 2),
        ("a 60 MiB import", ["links", "import", "TD-AAAAAAAA", str(sparse)], 2),
    ]
    before = await stack.pool.fetchval("SELECT count(*) FROM cases")
    for label, args, code in runs:
        got, out, err = await cli(*args)
        assert got == code, f"{label}: exit {got}, expected {code}: {err[-300:]}"
        assert "Traceback" not in err and err.strip(), label
        assert "Bcc: " not in out
    assert await stack.pool.fetchval("SELECT count(*) FROM cases") == before
    assert await stack.pool.fetchval("SELECT to_regclass('cases') IS NOT NULL")


async def test_hostile_references_are_stored_inert_and_a_hostile_import_still_starts_its_good_rows(
    cli,
    stack,  # noqa: F811 - the CLI stack fixture
    web,
    mailbox,
    tmp_path,
):
    reference = "{{7*7}} {% raw %}'; DROP TABLE cases; --"
    opened = await cli("case", "open", "--age", "30", "--reference", reference, "--json")
    assert opened[0] == 0, opened[2]
    case_id = first_json(opened[1])["case_id"]
    stored = await stack.pool.fetchval("SELECT reference FROM cases WHERE case_id = $1", case_id)
    assert is_sealed(stored) and "DROP" not in stored
    assert (await case_status(stack.pool, case_id, suite_crypto())).case.reference == reference

    web.live("/hostile/good1")
    web.live("/hostile/good2")
    refused = [raw for _, raw, expected in LINES if expected == REJECTED]  # inert ones would start (and go out)
    file = tmp_path / "hostile.txt"
    lines = [web.url("/hostile/good1").encode(), *refused, web.url("/hostile/good2").encode()]
    file.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = await cli("links", "import", case_id, str(file), "--json")
    assert code == 0, err
    assert "Traceback" not in err
    result = first_json(out)
    assert (result["started"], len(result["rejected"])) == (2, len(refused))
    assert [row["line"] for row in result["rejected"]] == list(range(2, len(refused) + 2))
    good = await links_of(stack.pool, case_id, web.url("/hostile/good1"), web.url("/hostile/good2"))
    await in_state(stack, "AWAITING_RESPONSE", *good)
    [message] = await mail_count(mailbox, "{{7*7}}", 1)  # the platform's one notice, naming the reference
    assert "49" not in message["Subject"] and "{{7*7}}" in message["Subject"]
    assert message["Bcc"] is None and message["To"] == "reports@platform.test"
    body = message.get_body(("plain",)).get_content()
    assert web.url("/hostile/good1") in body and web.url("/hostile/good2") in body


# --- notices on a real SMTP server: no header is ever injected --------------------------------


class Envelopes:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd calls it so
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_envelopes():
    handler = Envelopes()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


async def test_a_crlf_reference_is_refused_at_intake_and_inert_if_it_was_ever_stored(
    db_pool, smtp_envelopes, web, data_crypto
):
    with pytest.raises(InvalidField, match="line breaks"):
        await open_case(
            db_pool, age=30, minimum_age=16, signpost="", reference="R\r\nBcc: evil@x.test", crypto=suite_crypto()
        )

    handler, port = smtp_envelopes
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", crypto=suite_crypto())
    # As if written before validation existed (or by a path that forgot it): plain text, CRLF and all.
    hostile = "R-1\r\nBcc: evil@x.test\r\nX-Injected: yes\r\n\r\nforged body"
    await db_pool.execute("UPDATE cases SET reference = $2 WHERE case_id = $1", case_id, hostile)
    url = normalise_url("https://site.example/watch?v=1")
    link_id = await start_link_row(db_pool, case_id=case_id, url=url, platform="site.example", category="other")
    identity = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org\r\nBcc: evil@x.test",
                                allow_private_targets=True)  # fmt: skip
    async with httpx.AsyncClient(timeout=5) as http:
        notices = notice_activities(db_pool, http, identity, data_crypto, port=port)
        request = NoticeRequest(
            notice_key=f"{link_id}:1:1:initial", link_id=link_id, case_id=case_id, cycle=1,
            kind=NoticeKind.INITIAL, channel=Channel.EMAIL, recipient="abuse@site.example", platform="site.example",
        )  # fmt: skip
        await notices.send_batch(NoticeBatch(items=[request]))
        form = request.model_copy(update={
            "notice_key": f"{link_id}:1:2:initial", "channel": Channel.FORM, "recipient": None,
            "form_url": web.url("/report"), "form_fields": {"ref": "{case_reference}", "link": "{url}"},
        })  # fmt: skip
        web.pages["/report"] = Page(200)
        await notices.send_batch(NoticeBatch(items=[form]))

    [(recipients, raw)] = handler.received
    assert recipients == ["abuse@site.example"]  # the envelope: nobody added
    message = message_from_bytes(raw, policy=policy.default)
    names = {name.lower() for name in message.keys()}
    assert "bcc" not in names and "x-injected" not in names
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    [(path, fields)] = web.posts
    assert path == "/report" and set(fields) == {"ref", "link"}
    assert fields["ref"] == [hostile] and fields["link"] == [url]  # one field, the text as it is


# --- notes: stored sealed, read back as given ------------------------------------------------


async def test_hostile_notes_are_stored_sealed_and_read_back_inert(db_pool, data_crypto):
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", crypto=suite_crypto())
    url = normalise_url(f"https://notes.example/{uuid.uuid4().hex}")
    link_id = await start_link_row(db_pool, case_id=case_id, url=url, platform="p", category="other")
    store = StoreActivities(db_pool, data_crypto)
    for seq, (_, note) in enumerate(NOTES, 1):
        await store.record_event(LinkEvent(
            event_key=f"{link_id}:1:{seq}", link_id=link_id, case_id=case_id, cycle=1, kind="response",
            detail={"outcome": "acknowledged", "note": note}, occurred_at=datetime.now(UTC),
        ))  # fmt: skip
    raw = await db_pool.fetch("SELECT detail->>'note' AS note FROM link_events WHERE link_id = $1", link_id)
    assert len(raw) == len(NOTES) and all(is_sealed(row["note"]) for row in raw)
    timeline = await link_timeline(db_pool, link_id, suite_crypto())
    read = [event.detail["note"] for event in timeline.events]
    for (label, note), got in zip(NOTES, read):
        expected = note.replace("\x00", "\ufffd").replace("\ud800", "\ufffd")
        assert got == expected, label
    assert await db_pool.fetchval("SELECT count(*) FROM cases WHERE case_id = $1", case_id) == 1


# --- the HTTP API ---------------------------------------------------------------------------------

MONITOR = "monitor-token-" + "m" * 16


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack, postgres_url, tmp_path):  # noqa: F811
    settings = Settings(
        database_url=postgres_url,
        temporal_address=stack.env["TADA_TEMPORAL_ADDRESS"],
        task_queue=stack.env["TADA_TASK_QUEUE"],
        platforms=Path(stack.env["TADA_PLATFORMS"]),
        state_dir=tmp_path / ".tada",
        api_tokens=SecretStr(f"{MONITOR}:monitor:hostile"),  # a case it is not scoped to: still 422 first
        api_host="127.0.0.1",
        api_port=free_port(),
    )
    runner = ApiRunner(settings)
    await runner.start()
    try:
        async with httpx.AsyncClient(base_url=runner.url, timeout=30) as client:
            yield client
    finally:
        await runner.stop()


API_BODIES = [
    ("javascript URL", {"url": "javascript:alert(1)", "source": "m"}),
    ("CRLF in URL", {"url": "https://example.com/x\r\nBcc: a@b.test", "source": "m"}),
    ("NUL in URL", {"url": "https://example.com/\u0000", "source": "m"}),
    ("CRLF in source", {"url": "https://example.com/ok", "source": "m\r\nBcc: a@b.test"}),
    ("NUL in source", {"url": "https://example.com/ok", "source": "m\u0000"}),
    ("template as pdq", {"url": "https://example.com/ok", "source": "m", "pdq": "{{7*7}}"}),
    ("extra field", {"url": "https://example.com/ok", "source": "m", "note": "{{7*7}}"}),
    ("10 kB URL", {"url": "https://example.com/" + "a" * 10_000, "source": "m"}),
    ("number as URL", {"url": 2130706433, "source": "m"}),
    ("credentials in URL", {"url": "https://u:p@example.com/", "source": "m"}),
]


async def test_hostile_api_bodies_are_refused_and_store_nothing(api, stack):  # noqa: F811
    case_id = await open_case(stack.pool, age=30, minimum_age=16, signpost="", crypto=suite_crypto())
    headers = {"Authorization": f"Bearer {MONITOR}"}
    for label, body in API_BODIES:
        response = await api.post(f"/v1/cases/{case_id}/reposts", json=body, headers=headers)
        assert response.status_code == 422, f"{label}: {response.status_code} {response.text[:200]}"
        assert "a@b.test" not in response.headers.get("bcc", "")
    sql_case = await api.post("/v1/cases/TD-'%3B DROP TABLE cases%3B --/reposts",
                              json={"url": "https://example.com/ok", "source": "m"}, headers=headers)  # fmt: skip
    assert sql_case.status_code in (404, 422)
    assert await stack.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0
    assert await stack.pool.fetchval("SELECT count(*) FROM reposts WHERE case_id = $1", case_id) == 0


async def test_the_corpus_has_at_least_fifty_inputs():
    total = len(LINES) + len(CSV_ROWS) + len(NOTES) + len(CLI_ARGS) + len(API_BODIES) + 5 + 1 + 3 + 2
    assert total >= 50, total
    assert os.environ.get("TADA_DATA_KEY")  # everything above was sealed with the suite's key
