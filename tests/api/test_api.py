"""The HTTP API end to end: a real uvicorn server on 127.0.0.1 in the test's event loop,
a real worker on the Temporal dev server, real PostgreSQL, SMTP and web server; httpx as
the monitor's and the caseworker's client."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client, WorkflowExecutionStatus

from tada.api.server import ApiRunner
from tada.app.case_hashes import add_case_hash
from tada.app.caseworker import withdraw_case
from tada.app.intake import open_case
from tada.domain.urls import normalise_url
from tada.kit.ports import free_port
from tada.settings import Settings
from tada.workflows.link import LinkWorkflow
from tests.support import cli_stack
from tests.support.cli_stack import (
    HOURLY,
    NOTICE_FROM,
    registry_toml,
    stack_settings,
    worker_running,
    write_registry,
)
from tests.support.crypto import suite_crypto
from tests.support.link_ids import link_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

REGISTRY = registry_toml({**HOURLY, "recheck_schedule": ["1s"], "batch_window": "0s"})
OPS, CASEWORKER, MONITOR = (secrets.token_urlsafe(24) for _ in range(3))
PDQ = "9f" * 32


@dataclass
class Api:
    http: httpx.AsyncClient
    client: Client
    pool: Any
    settings: Settings

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def report(self, case_id: str, body: dict, token: str = OPS) -> httpx.Response:
        """An ops token's report gets the full answer; a monitor's (scoped, receipts only) is
        tests/api/test_api_hardening.py's."""
        return await self.http.post(f"/v1/cases/{case_id}/reposts", json=body, headers=self.auth(token))

    async def open_case(self) -> str:
        return await open_case(self.pool, age=30, minimum_age=16, signpost="under {minimum_age}", crypto=suite_crypto())


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30.0) -> Any:
    return await cli_stack.eventually(check, what, timeout)


def flipped(pdq: str, bits: int) -> str:
    """``pdq`` with its lowest ``bits`` bits inverted: exactly that Hamming distance away."""
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


def field_errors(response: httpx.Response) -> dict[str, str]:
    """FastAPI's 422 shape: the field named by the last part of each error's location."""
    assert response.status_code == 422, response.text
    return {str(error["loc"][-1]): error["msg"] for error in response.json()["detail"]}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("api")
    settings = stack_settings(
        dev_env,
        postgres_url,
        smtp_server[1],
        write_registry(home, REGISTRY),
        "api",
        notice_from=NOTICE_FROM,
        state_dir=home / ".tada",
        api_tokens=SecretStr(f"{OPS}:ops,{CASEWORKER}:caseworker,{MONITOR}:monitor:watcher"),
        api_docs=True,
        api_host="127.0.0.1",
        api_port=free_port(),
    )
    runner = ApiRunner(settings)
    async with worker_running(dev_env.client, db_pool, settings):
        await runner.start()
        try:
            async with httpx.AsyncClient(base_url=runner.url, timeout=30) as client:
                yield Api(http=client, client=dev_env.client, pool=db_pool, settings=settings)
        finally:
            await runner.stop()


async def test_openapi_document_lists_the_endpoints(api):
    response = await api.http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) >= {
        "/v1/cases/{case_id}/reposts",
        "/v1/cases/{case_id}",
        "/v1/links/{link_id}",
    }
    body = document["components"]["schemas"]["RepostBody"]
    assert set(body["properties"]) == {"url", "source", "of_link", "pdq"}
    assert body["required"] == ["url", "source"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = await api.http.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


async def test_tokens_and_their_scopes(api, web):
    case_id = await api.open_case()
    path = f"/v1/cases/{case_id}"

    missing = await api.http.get(path)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    basic = await api.http.get(path, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    wrong = await api.http.get(path, headers=api.auth("not-a-token-at-all-0000"))
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "not-a-token" not in wrong.text

    monitor_reads = await api.http.get(path, headers=api.auth(MONITOR))
    assert monitor_reads.status_code == 403
    assert "monitor token can only report reposts" in monitor_reads.json()["detail"]
    for token in (OPS, CASEWORKER):
        response = await api.http.get(path, headers=api.auth(token))
        assert response.status_code == 200, response.text
        assert response.json()["case"]["case_id"] == case_id
        assert response.json()["total"] == 0

    web.live("/scope/a")
    caseworker_reports = await api.report(case_id, {"url": web.url("/scope/a"), "source": "cw"}, CASEWORKER)
    assert caseworker_reports.status_code == 403
    unauthenticated = await api.http.post(f"{path}/reposts", json={"url": web.url("/scope/a"), "source": "x"})
    assert unauthenticated.status_code == 401
    assert await api.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0

    assert (await api.http.get("/v1/cases/TD-NOSUCHCS", headers=api.auth(OPS))).status_code == 404
    assert (await api.http.get("/v1/links/TD-NOSUCHCS-0", headers=api.auth(OPS))).status_code == 404
    assert (await api.report("TD-NOSUCHCS", {"url": web.url("/scope/a"), "source": "m"})).status_code == 404


async def test_same_url_twice_is_one_link_and_one_workflow(api, web, mailbox):
    case_id = await api.open_case()
    web.live("/twice/a")
    first = await api.report(case_id, {"url": web.url("/twice/a"), "source": "hashwatch"})
    assert first.status_code == 200, first.text
    link_id = await link_of(api.pool, case_id, web.url("/twice/a"))
    assert first.json() == {"link_id": link_id, "new": True, "distance": None}

    again = await api.report(case_id, {"url": web.url("/twice/a") + "?utm_source=feed#top", "source": "other-bot"})
    assert again.status_code == 200, again.text
    assert again.json() == {"link_id": link_id, "new": False, "distance": None}

    async def listed() -> list:
        found = [wf async for wf in api.client.list_workflows(f"TadaCaseId = '{case_id}'")]
        return found or None

    workflows = await eventually(listed, "the link's workflow to be listed")
    await asyncio.sleep(0.5)
    workflows = [wf async for wf in api.client.list_workflows(f"TadaCaseId = '{case_id}'")]
    assert [wf.id for wf in workflows] == [link_id]
    assert await api.pool.fetchval("SELECT source FROM links WHERE link_id = $1", link_id) == "hashwatch"
    rows = await api.pool.fetch("SELECT source, new FROM reposts WHERE link_id = $1 ORDER BY id", link_id)
    assert [(r["source"], r["new"]) for r in rows] == [("hashwatch", True), ("other-bot", False)]

    async def awaiting() -> bool:
        return await api.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == "AWAITING_RESPONSE"

    await eventually(awaiting, "the notice to go out")
    shown = await api.http.get(f"/v1/links/{link_id}", headers=api.auth(CASEWORKER))
    assert shown.status_code == 200, shown.text
    data = shown.json()
    assert data["link"]["link_id"] == link_id and data["link"]["source"] == "hashwatch"
    assert any(event["kind"] == "notice" for event in data["events"])
    assert data["live"]["cycle"] == 1 and data["live_unavailable"] is None
    # no law binds this platform: no clock (tests/cli/test_legal_cli.py reads one through the same LinkRow)
    assert (data["link"]["deadline"], data["link"]["deadline_step"], data["live"]["clock"]) == (None, None, None)
    await api.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_bad_bodies_get_422_naming_the_field(api, web):
    case_id = await api.open_case()
    url = web.url("/bad/a")
    cases = [
        ({"source": "m"}, "url"),
        ({"url": "ftp://example.com/file", "source": "m"}, "url"),
        ({"url": "javascript:alert(1)", "source": "m"}, "url"),
        ({"url": 123, "source": "m"}, "url"),
        ({"url": url}, "source"),
        ({"url": url, "source": ["m"]}, "source"),
        ({"url": url, "source": "two words"}, "source"),
        ({"url": url, "source": "m", "pdq": "xyz"}, "pdq"),
        ({"url": url, "source": "m", "pdq": "a" * 63}, "pdq"),
        ({"url": url, "source": "m", "pdq": 7}, "pdq"),
        ({"url": url, "source": "m", "of_link": 5}, "of_link"),
        ({"url": url, "source": "m", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        errors = field_errors(await api.report(case_id, body))
        assert field in errors, (body, errors)
    assert "http" in field_errors(await api.report(case_id, {"url": "ftp://example.com/f", "source": "m"}))["url"]
    assert (
        "64 hexadecimal digits"
        in field_errors(await api.report(case_id, {"url": url, "source": "m", "pdq": "ab"}))["pdq"]
    )

    not_json = await api.http.post(
        f"/v1/cases/{case_id}/reposts",
        content=b"{nope",
        headers={**api.auth(MONITOR), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422

    unknown_link = await api.report(case_id, {"url": url, "source": "m", "of_link": f"{case_id}-0000000000000000"})
    assert "no link" in field_errors(unknown_link)["of_link"]
    other_case = await api.open_case()
    web.live("/bad/other")
    other = await api.report(other_case, {"url": web.url("/bad/other"), "source": "m"})
    foreign = await api.report(case_id, {"url": url, "source": "m", "of_link": other.json()["link_id"]})
    assert "of_link" in field_errors(foreign)  # a link of another case is not this case's
    assert await api.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0
    await api.client.get_workflow_handle(other.json()["link_id"]).signal(LinkWorkflow.withdraw, "test over")


async def test_pdq_reports_match_the_case_hashes_or_are_refused(api, web):
    case_id = await api.open_case()
    web.live("/pdq/a")
    web.live("/pdq/b")
    body = {"url": web.url("/pdq/a"), "source": "hashwatch", "pdq": flipped(PDQ, 5)}
    no_hashes = field_errors(await api.report(case_id, body))
    assert "no hashes to match against" in no_hashes["pdq"]

    assert await add_case_hash(api.pool, case_id, PDQ.upper())
    assert not await add_case_hash(api.pool, case_id, PDQ)
    far = field_errors(await api.report(case_id, {**body, "pdq": flipped(PDQ, 40)}))
    assert "40 bits" in far["pdq"] and "at most 31" in far["pdq"]
    assert await api.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0

    near = await api.report(case_id, body)
    assert near.status_code == 200, near.text
    assert near.json()["new"] is True and near.json()["distance"] == 5
    edge = await api.report(case_id, {**body, "url": web.url("/pdq/b"), "pdq": flipped(PDQ, 31)})
    assert edge.status_code == 200 and edge.json()["distance"] == 31
    first = near.json()["link_id"]
    copy = await api.report(case_id, {"url": web.url("/pdq/b"), "source": "hashwatch", "of_link": first}, OPS)
    assert copy.status_code == 200 and copy.json()["new"] is False
    rows = await api.pool.fetch("SELECT pdq_distance, of_link FROM reposts WHERE case_id = $1 ORDER BY id", case_id)
    assert [(r["pdq_distance"], r["of_link"]) for r in rows] == [(5, None), (31, None), (None, first)]
    for link_id in {first, edge.json()["link_id"]}:
        await api.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_withdrawn_case_or_link_is_refused(api, web):
    case_id = await api.open_case()
    web.live("/withdrawn/a")
    reported = await api.report(case_id, {"url": web.url("/withdrawn/a"), "source": "m"})
    link_id = reported.json()["link_id"]
    await api.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "victim asked")

    async def withdrawn() -> bool:
        return await api.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == "WITHDRAWN"

    await eventually(withdrawn, "the link to be withdrawn")
    again = await api.report(case_id, {"url": web.url("/withdrawn/a"), "source": "m"})
    assert again.status_code == 409 and "withdrawn" in again.json()["detail"]
    await withdraw_case(api.pool, api.client, case_id)
    closed = await api.report(case_id, {"url": web.url("/withdrawn/b"), "source": "m"})
    assert closed.status_code == 409 and "withdrawn" in closed.json()["detail"]


async def test_repost_of_a_completed_link_starts_a_new_cycle(api, web, mailbox):
    case_id = await api.open_case()
    web.gone("/back/a")
    reported = await api.report(case_id, {"url": web.url("/back/a"), "source": "crawler"})
    assert reported.status_code == 200 and reported.json()["new"] is True
    link_id = reported.json()["link_id"]
    handle = api.client.get_workflow_handle(link_id)

    async def completed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(completed, "the watch to end (already gone, one re-check after 1 s)")
    assert (
        await api.pool.fetchval("SELECT (state, cycle)::text FROM links WHERE link_id = $1", link_id) == "(REMOVED,1)"
    )

    web.live("/back/a")  # up again
    again = await api.report(case_id, {"url": web.url("/back/a"), "source": "crawler"})
    assert again.status_code == 200, again.text
    assert again.json() == {"link_id": link_id, "new": False, "distance": None}

    async def second_cycle() -> bool:
        row = await api.pool.fetchrow("SELECT state, cycle FROM links WHERE link_id = $1", link_id)
        return (row["state"], row["cycle"]) == ("AWAITING_RESPONSE", 2)

    await eventually(second_cycle, "the repost notice of cycle 2")
    status = await handle.query(LinkWorkflow.status)
    assert status.cycle == 2
    notices = await api.pool.fetch("SELECT cycle, kind FROM notices WHERE link_id = $1 ORDER BY created_at", link_id)
    assert [(n["cycle"], n["kind"]) for n in notices] == [(2, "repost")]
    runs = [wf async for wf in api.client.list_workflows(f"WorkflowId = '{link_id}'")]
    assert sorted(wf.status for wf in runs) == sorted(
        [WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.RUNNING]
    )

    third = await api.report(case_id, {"url": web.url("/back/a"), "source": "crawler"})  # running: a re-check
    assert third.json()["new"] is False
    await asyncio.sleep(0.5)
    runs = [wf async for wf in api.client.list_workflows(f"WorkflowId = '{link_id}'")]
    assert [wf.status for wf in runs].count(WorkflowExecutionStatus.RUNNING) == 1
    await handle.signal(LinkWorkflow.withdraw, "test over")


async def test_a_link_recorded_but_never_started_starts_in_its_first_cycle(api, web, mailbox):
    from tada.app.intake import start_link_row

    case_id = await api.open_case()
    web.live("/orphan/a")
    url = normalise_url(web.url("/orphan/a"))
    link_id = await start_link_row(api.pool, case_id=case_id, url=url, platform="Test Platform", category="image_host")
    reported = await api.report(case_id, {"url": url, "source": "crawler"})  # no workflow, no events yet
    assert reported.json() == {"link_id": link_id, "new": False, "distance": None}

    async def awaiting() -> bool:
        row = await api.pool.fetchrow("SELECT state, cycle FROM links WHERE link_id = $1", link_id)
        return (row["state"], row["cycle"]) == ("AWAITING_RESPONSE", 1)

    await eventually(awaiting, "the first notice")
    kinds = await api.pool.fetch("SELECT kind FROM notices WHERE link_id = $1", link_id)
    assert [row["kind"] for row in kinds] == ["initial"]
    await api.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")
