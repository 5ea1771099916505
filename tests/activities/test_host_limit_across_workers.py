"""TADA_LIVENESS_PER_HOST across workers: two ``tada-worker`` processes on one database and one
Temporal dev server check thirty links on one slow host, and the host never sees more than
the limit at once (each worker alone would allow the limit, so two would allow twice it)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.support.cli_stack import HOURLY, cli_env, eventually, registry_toml, run_tada, stack_settings, write_registry
from tests.support.link_ids import links_of
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

PER_HOST = 2
LINKS = 30


def _events(log: Path, name: str) -> int:
    """How many times a worker's JSON log names the event ``name``."""
    count = 0
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            count += json.loads(line).get("event") == name
        except (ValueError, AttributeError):
            continue  # not a log record (a traceback, a warning)
    return count


async def test_two_workers_keep_one_host_to_the_limit(dev_env, postgres_url, db_pool, smtp_server, web, tmp_path):
    registry = write_registry(tmp_path, registry_toml(HOURLY))
    settings = stack_settings(dev_env, postgres_url, smtp_server[1], registry, "perhost")
    env = cli_env(settings, TADA_LIVENESS_PER_HOST=str(PER_HOST), TADA_STATE_DIR=str(tmp_path / ".tada"))
    logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
    workers = []
    for log in logs:
        with log.open("wb") as out:
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "tada.worker", env=env, cwd=tmp_path, stdout=out, stderr=out
                )
            )
    paths = [f"/perhost/{n}" for n in range(LINKS)]
    for path in paths:  # the server thinks a while before each answer, so requests overlap
        web.pages[path] = Page(200, "<html><body>still here</body></html>", delay=0.2)
    link_ids: list[str] = []
    try:

        async def started() -> bool:
            return all(_events(log, "worker_started") for log in logs)

        await eventually(started, "both workers to start", 60)
        opened = await run_tada("case", "open", "--age", "30", "--json", env=env, cwd=tmp_path)
        assert opened.code == 0, opened.stderr
        case_id = opened.json["case_id"]
        file = tmp_path / "links.txt"
        file.write_text("".join(f"{web.url(path)}\n" for path in paths), encoding="utf-8")
        imported = await run_tada("links", "import", case_id, str(file), "--json", env=env, cwd=tmp_path)
        assert imported.code == 0, imported.stderr
        assert imported.json["started"] == LINKS
        link_ids = await links_of(db_pool, case_id, *(web.url(path) for path in paths))

        async def all_checked() -> bool:
            return sum(_events(log, "liveness_checked") for log in logs) >= LINKS

        await eventually(all_checked, f"{LINKS} liveness checks", 120)
        checked = [_events(log, "liveness_checked") for log in logs]
        assert all(checked), f"each worker should have checked some links: {checked}"
        peak = web.peak_in_flight
        assert peak == PER_HOST  # never more, and reached: the test can fail
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await asyncio.wait_for(worker.wait(), 30)
        for link_id in link_ids:
            await dev_env.client.get_workflow_handle(link_id).terminate("test over")
