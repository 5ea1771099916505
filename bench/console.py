"""Benchmark 6, the console on real case sizes: a case of 1,000 links rendered as its page
against the same case read as JSON from the API's read model, and the plan of "Needs me".

One stack (PostgreSQL, Temporal dev server), the API server with the console on 127.0.0.1, a
case of ``links`` links in PostgreSQL (its read model rows written directly: the page reads
only those) among ``others`` links of other cases, a few hundredths of which wait for a person.
Both sides are asked in turn, ``rounds`` times each, over one keep-alive connection each:

- console: ``GET /console/cases/{case}`` with a person's session (the whole page);
- JSON: ``GET /v1/cases/{case}`` with an ops token (the read model of the same case).

Printed: the median time of each, their ratio (target: the page within 2x the JSON), and the
"Needs me" query's plan (EXPLAIN ANALYZE) on the whole table, which must read the partial index.
"""

from __future__ import annotations

import re
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from bench.report import Report
from bench.stack import Stack
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.api.server import ApiRunner
from tada.app.accounts import add_user
from tada.app.intake import open_case
from tada.app.needs import PAGE, WAITING_LINKS
from tada.kit.ports import free_port

TARGET = 2.0
TOKEN = "bench-console-ops-token-" + "x" * 16
PASSWORD = "bench console password"
STATES = ["AWAITING_RESPONSE", "FOLLOW_UP", "ESCALATED", "REMOVED", "UNRESOLVED", "REPORTED"]
NEEDS = ["filing", "contact", "delivery", "reply", "removal_claim", "decision"]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def run(links: int = 1_000, others: int = 50_000, rounds: int = 20, *, keep: bool = False) -> Report:
    report = Report(f"6. Console: a case of {links} links as a page vs as JSON; the plan of Needs me")
    async with Stack(keep=keep) as stack:
        settings = stack.settings("bench-console").model_copy(
            update={"api_tokens": SecretStr(f"{TOKEN}:ops"), "api_host": "127.0.0.1", "api_port": free_port()}
        )
        pool = await create_pool(settings.database_url, max_size=4)
        crypto = DataCrypto.from_settings(settings)
        try:
            case_id = await _seed(pool, crypto, links, others)
            await add_user(pool, "bench", "caseworker", PASSWORD)
            runner = ApiRunner(settings)
            await runner.start()
            try:
                page, json_times, page_times = await _measure(runner.url, case_id, rounds)
            finally:
                await runner.stop()
            plan = [row[0] for row in await pool.fetch(f"EXPLAIN ANALYZE {WAITING_LINKS}", PAGE)]
        finally:
            await pool.close()
    json_ms, page_ms = statistics.median(json_times) * 1000, statistics.median(page_times) * 1000
    ratio = page_ms / json_ms if json_ms else float("inf")
    met = ratio <= TARGET and any("links_needs_idx" in line for line in plan)
    report.verdict(met)
    report.add("case", f"{links} links (and {others} links of other cases in the table)")
    report.add("JSON read model, median", f"{json_ms:.1f} ms (GET /v1/cases/CASE, {rounds} requests)")
    report.add("console page, median", f"{page_ms:.1f} ms ({page / 1024:.0f} KiB of HTML, {rounds} requests)")
    report.add("ratio page / JSON", f"{ratio:.2f} (target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'})")
    for n, line in enumerate(plan):
        report.add("Needs me plan" if n == 0 else "", line.strip())
    report.note("both sides asked in turn over one keep-alive connection each; times are the client's")
    return report


async def _seed(pool, crypto: DataCrypto, links: int, others: int) -> str:
    case_id = await open_case(pool, age=30, minimum_age=16, signpost="", crypto=crypto)
    cases = [await open_case(pool, age=30, minimum_age=16, signpost="", crypto=crypto) for _ in range(50)]
    now = datetime.now(UTC)
    rows = []
    for n in range(links + others):
        owner = case_id if n < links else cases[n % len(cases)]
        state = STATES[n % len(STATES)]
        waiting = NEEDS[n % len(NEEDS)] if n % 37 == 0 else None
        rows.append((
            f"{owner}-{uuid.uuid4().hex[:16]}", owner, f"http://127.0.0.1:9/bench/{n}", "127.0.0.1", "Bench",
            "other", state, "follow-up check", now + timedelta(hours=n % 72), waiting,
            now - timedelta(minutes=n) if waiting else None,
        ))  # fmt: skip
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "links", records=rows,
            columns=["link_id", "case_id", "url", "host", "platform", "category", "state", "next_action",
                     "next_action_at", "needs", "needs_since"],
        )  # fmt: skip
        await conn.execute("ANALYZE links")
    return case_id


async def _measure(url: str, case_id: str, rounds: int) -> tuple[int, list[float], list[float]]:
    async with (
        httpx.AsyncClient(base_url=url, timeout=60) as person,
        httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as machine,
    ):
        form = await person.get("/console/login")
        csrf = _CSRF.search(form.text)
        assert csrf, "no login form"
        signed = await person.post(
            "/console/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert signed.status_code == 303, signed.text
        page_path, json_path = f"/console/cases/{case_id}", f"/v1/cases/{case_id}"
        warm = await person.get(page_path)
        assert warm.status_code == 200, f"the case page answered {warm.status_code}"
        assert (await machine.get(json_path)).status_code == 200
        json_times, page_times = [], []
        for n in range(rounds):
            for side in ("json", "page") if n % 2 == 0 else ("page", "json"):
                began = time.perf_counter()
                answer = await (machine.get(json_path) if side == "json" else person.get(page_path))
                (json_times if side == "json" else page_times).append(time.perf_counter() - began)
                assert answer.status_code == 200
        return len(warm.content), json_times, page_times
