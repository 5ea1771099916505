"""Log lines carry ids, states, categories and hosts only: never a URL, an email address or a note.

Captured as production writes them (structlog JSON, INFO): the worker through a whole
lifecycle on the time-skipping server, then the ``tada`` CLI as a subprocess (its
stderr) against the dev server with a worker running, both encrypting payloads.
"""

from __future__ import annotations

import asyncio
import json

from temporalio.client import Client

from tada.adapters.converter import converter_for
from tests.lifecycle.harness import PLATFORM_EMAIL, running_worker
from tests.privacy.log_capture import captured_logs
from tests.privacy.scenario import Secrets, full_lifecycle
from tests.support.cli_stack import HOURLY, cli_env, registry_toml, run_tada, worker_running, write_registry

REGISTRY = registry_toml(HOURLY)


def assert_no_leaks(secrets: Secrets, text: str, what: str) -> None:
    found = [needle for needle in secrets.needles() if needle in text]
    assert not found, f"{what} carries {found}:\n{text}"


async def test_worker_logs_of_a_whole_lifecycle(encrypted_time_env, db_pool, settings, mailbox, web, caplog):
    with captured_logs(caplog) as logs:
        async with running_worker(encrypted_time_env, db_pool, settings) as h:
            secrets = await full_lifecycle(h, web, mailbox)
        text = logs.text()
    assert '"event": "notice_sent"' in text and '"event": "liveness_checked"' in text  # the capture works
    assert_no_leaks(secrets, text, "the worker's log")


async def test_cli_stderr_and_worker_logs(
    dev_env, db_pool, postgres_url, settings, mailbox, web, caplog, tmp_path, payload_keys, payload_key_line
):
    registry = write_registry(tmp_path, REGISTRY)
    address = dev_env.client.service_client.config.target_host
    settings = settings.model_copy(update={"temporal_address": address, "platforms": registry})
    env = cli_env(
        settings,  # with the suite's key for victim data at rest (tests/conftest.py)
        mail=False,
        TADA_PAYLOAD_KEYS=payload_key_line,
        TADA_STATE_DIR=str(tmp_path / ".tada"),
        COLUMNS="220",
    )
    stderr: list[str] = []

    async def tada(*args: str) -> str:
        run = await run_tada(*args, env=env, cwd=tmp_path)
        stderr.append(f"$ tada {args[0]} {args[1] if len(args) > 1 else ''}: {run.stderr}")
        assert run.code == 0, run.stderr
        return run.stdout

    async def link_state(link_id: str, state: str) -> None:
        for _ in range(300):
            if await db_pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == state:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{link_id} never reached {state}")

    secrets = Secrets.new(web.url(""))
    web.live(secrets.path)
    client = Client(dev_env.client.service_client, namespace=dev_env.client.namespace,
                    data_converter=converter_for(payload_keys))  # fmt: skip
    with captured_logs(caplog) as logs:
        async with worker_running(client, db_pool, settings):
            opened = await tada("case", "open", "--age", "30", "--reference", secrets.reference, "--json")
            case_id = json.loads(opened)["case_id"]
            assert json.loads(await tada("links", "add", case_id, secrets.url, "--json"))["started"] == 1
            link_id = await db_pool.fetchval("SELECT link_id FROM links WHERE case_id = $1", case_id)
            await link_state(link_id, "AWAITING_RESPONSE")
            assert secrets.url in await tada("status", case_id, "--json")  # the caseworker's own view
            await tada("link", "respond", link_id, "--outcome", "acknowledged", "--note", secrets.note)
            await tada("link", "escalate", link_id, "--to", secrets.contact, "--kind", "host")
            await link_state(link_id, "ESCALATED")
            shown = json.loads(await tada("link", "show", link_id, "--json"))
            assert shown["live"] is not None, shown["live_unavailable"]  # queried through the codec
            await tada("link", "withdraw", link_id)
            await link_state(link_id, "WITHDRAWN")
        worker_text = logs.text()
    recipients = [m["To"] for m in mailbox.messages if secrets.reference in m["Subject"]]
    assert recipients == [PLATFORM_EMAIL, secrets.contact]
    assert '"event": "notice_sent"' in worker_text
    assert_no_leaks(secrets, worker_text, "the worker's log")
    assert_no_leaks(secrets, "\n".join(stderr), "the CLI's stderr")
