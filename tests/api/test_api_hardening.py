"""Issue 14's hardening of the HTTP API, against a real uvicorn server on 127.0.0.1 (and a real
worker, Temporal dev server and PostgreSQL): the token is checked before any body is read,
bodies are capped, the OpenAPI documents are off unless configured, and a monitor token
reports only on the cases that opted into its name, refused alike everywhere else."""

from __future__ import annotations

import asyncio
import json
import resource
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from tada.api.server import ApiRunner
from tada.app.case_hashes import add_case_hash
from tada.app.caseworker import withdraw_case
from tada.app.intake import open_case
from tada.app.monitors import change_case_monitors
from tada.errors import CaseRefused
from tada.kit.api_tokens import local_api_tokens
from tada.kit.ports import free_port
from tada.workflows.link import LinkWorkflow
from tests.support import cli_stack
from tests.support.cli_stack import HOURLY, NOTICE_FROM, registry_toml, stack_settings, worker_running, write_registry
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPS, CASEWORKER, WATCHER, OTHER = (secrets.token_urlsafe(24) for _ in range(4))
TOKENS = f"{OPS}:ops,{CASEWORKER}:caseworker,{WATCHER}:monitor:watcher,{OTHER}:monitor:other-watch"
CAP = 64 * 1024  # TADA_API_MAX_BODY_BYTES' default
HUGE = 200 * 1024 * 1024
PDQ = "3c" * 32
NO_SUCH_CASE = f"TD-NO{secrets.token_hex(3).upper()}"  # of this module alone: the audit is shared


@dataclass
class Server:
    http: httpx.AsyncClient
    host: str
    port: int
    pool: Any
    client: Any

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def report(self, case_id: str, body: dict, token: str) -> httpx.Response:
        return await self.http.post(f"/v1/cases/{case_id}/reposts", json=body, headers=self.auth(token))

    async def open_case(self, *monitors: str) -> str:
        case_id = await open_case(
            self.pool, age=30, minimum_age=16, signpost="under {minimum_age}", crypto=suite_crypto()
        )
        await change_case_monitors(self.pool, case_id, add=list(monitors))
        return case_id


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("hardening")
    registry = write_registry(home, registry_toml({**HOURLY, "batch_window": "0s"}))
    settings = stack_settings(
        dev_env, postgres_url, smtp_server[1], registry, "hardening", notice_from=NOTICE_FROM,
        state_dir=home / ".tada", api_tokens=SecretStr(TOKENS), api_host="127.0.0.1", api_port=free_port(),
    )  # fmt: skip
    assert settings.api_max_body_bytes == CAP and settings.api_docs is False  # the defaults
    runner = ApiRunner(settings)
    async with worker_running(dev_env.client, db_pool, settings):
        await runner.start()
        try:
            async with httpx.AsyncClient(base_url=runner.url, timeout=30) as http:
                yield Server(http, settings.api_host, settings.api_port, db_pool, dev_env.client)
        finally:
            await runner.stop()


# --- a raw HTTP/1.1 connection: what a client sends, byte by byte, and when the answer comes ---
# (a plain socket, not asyncio streams: those give up the bytes already received once a reset
# has come, and a server that closes on an unread body may well send one after its answer)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Raw:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setblocking(False)
        self.loop = asyncio.get_running_loop()
        self.received = b""

    async def send(self, data: bytes) -> bool:
        """False once the server has closed the connection."""
        try:
            await asyncio.wait_for(self.loop.sock_sendall(self.sock, data), 5)
            return True
        except (OSError, TimeoutError):
            return False

    async def _more(self, timeout: float) -> bytes:
        try:
            return await asyncio.wait_for(self.loop.sock_recv(self.sock, 65536), timeout)
        except ConnectionResetError:
            return b""

    async def answer(self, timeout: float = 5.0) -> Answer:
        while b"\r\n\r\n" not in self.received:
            data = await self._more(timeout)
            assert data, f"closed before an answer: {self.received!r}"
            self.received += data
        head, _, rest = self.received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines if line)}
        while len(rest) < int(headers["content-length"]):
            data = await self._more(timeout)
            assert data, "closed in the middle of the answer"
            rest += data
        return Answer(int(status_line.split()[1]), headers, rest)

    async def closed_by_server(self, timeout: float = 5.0) -> bool:
        return await self._more(timeout) == b""

    async def push(self, total: int, chunk: bytes) -> int:
        """Send up to ``total`` bytes of ``chunk``s: how many went before the connection closed."""
        sent = 0
        while sent < total and await self.send(chunk):
            sent += len(chunk)
        return sent

    def close(self) -> None:
        self.sock.close()


def request_head(path: str, *, token: str | None, length: int | None = None, chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the server runs in this process


# --- authentication before the body; the body cap ---


async def test_a_huge_body_without_a_token_is_refused_before_it_is_read(server):
    """The report of issue 14: a 200 MB POST without a token grew the API by 600 MB before its 401."""
    before = peak_rss_mib()
    raw = Raw(server.host, server.port)
    await raw.send(request_head("/v1/cases/TD-AAAAAAAA/reposts", token=None, length=HUGE) + b'{"url": "' + b"a" * 1024)
    answer = await raw.answer()  # 1 KiB of 200 MB sent: the answer comes before the rest
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["connection"] == "close"
    assert json.loads(answer.body) == {"detail": "missing bearer token: send Authorization: Bearer <token>"}
    sent = await raw.push(HUGE, b"a" * (1024 * 1024))
    assert sent < HUGE // 4, f"the server took {sent} bytes of a body it had refused"
    assert await raw.closed_by_server()
    raw.close()
    assert peak_rss_mib() - before < 32, "the refused body was held in memory"

    wrong = Raw(server.host, server.port)
    await wrong.send(request_head("/v1/cases/TD-AAAAAAAA/reposts", token="not-a-token-0000000000", length=HUGE))
    refused = await wrong.answer()
    assert refused.status == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert b"not-a-token" not in refused.body
    wrong.close()


async def test_a_body_declared_over_the_cap_is_413_at_once_even_with_a_good_token(server):
    case_id = await server.open_case("watcher")
    for token, length in ((OPS, HUGE), (WATCHER, CAP + 1)):
        raw = Raw(server.host, server.port)
        await raw.send(request_head(f"/v1/cases/{case_id}/reposts", token=token, length=length) + b"{")
        answer = await raw.answer()
        assert answer.status == 413, answer.body
        assert json.loads(answer.body) == {"detail": f"request body too large: at most {CAP} bytes"}
        assert answer.headers["connection"] == "close" and await raw.closed_by_server()
        raw.close()
    assert await server.pool.fetchval("SELECT count(*) FROM reposts WHERE case_id = $1", case_id) == 0


async def test_a_chunked_body_is_counted_as_it_streams_and_cut_off_past_the_cap(server):
    case_id = await server.open_case("watcher")
    raw = Raw(server.host, server.port)
    await raw.send(request_head(f"/v1/cases/{case_id}/reposts", token=OPS, chunked=True))
    chunk = b"a" * 4096
    for _ in range(CAP // len(chunk) + 2):  # past the cap, and the body never ends: only a count can answer
        await raw.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    answer = await raw.answer()
    assert answer.status == 413 and answer.headers["connection"] == "close"
    assert await raw.closed_by_server()
    raw.close()

    async def small() -> Any:  # chunked within the cap goes through: the app reads it as sent
        yield b'{"url": "ftp://example.com/f",'
        yield b' "source": "m"}'

    through = await server.http.post(
        f"/v1/cases/{case_id}/reposts",
        content=small(),
        headers={**server.auth(OPS), "Content-Type": "application/json"},
    )
    assert through.status_code == 422 and "url" in through.text


async def test_invalid_json_is_401_without_a_token_and_422_with_one(server):
    case_id = await server.open_case("watcher")
    path = f"/v1/cases/{case_id}/reposts"
    headers = {"Content-Type": "application/json"}
    without = await server.http.post(path, content=b"{nope", headers=headers)
    assert without.status_code == 401
    basic = await server.http.post(path, content=b"{nope", headers={**headers, "Authorization": "Basic dTpw"})
    assert basic.status_code == 401
    for token in (OPS, WATCHER):
        with_token = await server.http.post(path, content=b"{nope", headers={**headers, **server.auth(token)})
        assert with_token.status_code == 422, with_token.text
    caseworker = await server.http.post(path, content=b"{nope", headers={**headers, **server.auth(CASEWORKER)})
    assert caseworker.status_code in (403, 422)  # known, then refused: by its role or by its body


async def test_the_openapi_documents_are_not_served_unless_configured(server):
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await server.http.get(path)).status_code == 401, path  # not even a hint there is one
        assert (await server.http.get(path, headers=server.auth(OPS))).status_code == 404, path


# --- monitor tokens: scoped to the cases that opted into their name ---


def seen_by_client(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Everything a response says, but its Date."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "date"]
    return response.status_code, headers, response.content


async def until_withdrawn(server: Server, link_id: str) -> None:
    async def withdrawn() -> bool:
        return await server.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == "WITHDRAWN"

    await cli_stack.eventually(withdrawn, f"{link_id} to be withdrawn", 30)


async def audit_of(server: Server, case_id: str) -> list[tuple]:
    rows = await server.pool.fetch(
        "SELECT actor_role, actor_name, allowed, reason FROM audit_events WHERE action = 'repost' AND target = $1"
        " ORDER BY id",
        case_id,
    )
    return [tuple(row) for row in rows]


async def test_a_monitor_is_refused_alike_on_every_case_it_may_not_report_on(server, web):
    mine = await server.open_case("watcher")
    others = await server.open_case("other-watch")
    withdrawn = await server.open_case("watcher")
    link_gone = await server.open_case("watcher")
    web.live("/scoped/a")
    web.live("/scoped/b")
    url = web.url("/scoped/a")

    taken = await server.report(link_gone, {"url": url, "source": "watcher"}, WATCHER)
    assert taken.status_code == 202, taken.text
    await server.client.get_workflow_handle(taken.json()["link_id"]).signal(LinkWorkflow.withdraw, "victim asked")
    await until_withdrawn(server, taken.json()["link_id"])
    await withdraw_case(server.pool, server.client, withdrawn)
    with pytest.raises(CaseRefused, match="takes no new monitors"):
        await change_case_monitors(server.pool, withdrawn, add=["late"])

    refusals = {
        "another monitor's case": await server.report(others, {"url": url, "source": "watcher"}, WATCHER),
        "no such case": await server.report(NO_SUCH_CASE, {"url": url, "source": "watcher"}, WATCHER),
        "a withdrawn case": await server.report(withdrawn, {"url": url, "source": "watcher"}, WATCHER),
        "a withdrawn link": await server.report(link_gone, {"url": url, "source": "watcher"}, WATCHER),
        "its own case, for the other monitor": await server.report(mine, {"url": url, "source": "w"}, OTHER),
    }
    shapes = {label: seen_by_client(response) for label, response in refusals.items()}
    first = next(iter(shapes.values()))
    assert first[0] == 404
    assert json.loads(first[2]) == {
        "detail": "report not taken: no case open to this monitor has this id, or it takes no more reports"
    }
    for label, shape in shapes.items():
        assert shape == first, label  # byte for byte: the monitor learns nothing of the case
    for case_id in (others, withdrawn):
        assert await server.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0

    assert await audit_of(server, others) == [("monitor", "watcher", False, "case did not opt into monitor watcher")]
    assert await audit_of(server, NO_SUCH_CASE) == [("monitor", "watcher", False, "no such case")]
    assert await audit_of(server, withdrawn) == [("monitor", "watcher", False, "case withdrawn")]
    gone = await audit_of(server, link_gone)
    assert [row[2] for row in gone] == [True, False] and "withdrawn" in gone[1][3]

    ops = await server.report(others, {"url": url, "source": "ops-desk"}, OPS)  # ops: any case, the full answer
    assert ops.status_code == 200 and ops.json()["new"] is True
    assert (await server.report(NO_SUCH_CASE, {"url": url, "source": "o"}, OPS)).status_code == 404
    assert (await server.report(withdrawn, {"url": url, "source": "o"}, OPS)).status_code == 409
    await server.client.get_workflow_handle(ops.json()["link_id"]).signal(LinkWorkflow.withdraw, "test over")


async def test_a_monitor_on_its_own_case_gets_a_receipt_that_never_says_whether_the_url_was_known(server, web):
    case_id = await server.open_case("watcher", "other-watch")
    web.live("/receipt/a")
    url = web.url("/receipt/a")
    first = await server.report(case_id, {"url": url, "source": "watcher"}, WATCHER)
    again = await server.report(case_id, {"url": url + "#again", "source": "watcher"}, WATCHER)
    other = await server.report(case_id, {"url": url, "source": "other-watch"}, OTHER)
    assert first.status_code == 202, first.text
    link_id = first.json()["link_id"]
    assert first.json() == {"accepted": True, "link_id": link_id}
    assert seen_by_client(first) == seen_by_client(again) == seen_by_client(other)  # new or known: the same
    rows = await server.pool.fetch("SELECT source, new FROM reposts WHERE case_id = $1 ORDER BY id", case_id)
    assert [(r["source"], r["new"]) for r in rows] == [("watcher", True), ("watcher", False), ("other-watch", False)]
    audited = await audit_of(server, case_id)
    assert [(role, name, ok) for role, name, ok, _ in audited] == [
        ("monitor", "watcher", True), ("monitor", "watcher", True), ("monitor", "other-watch", True),
    ]  # fmt: skip
    assert audited[0][3] == f"taken: new link {link_id}" and audited[1][3] == f"taken: known link {link_id}"

    copy = await server.report(case_id, {"url": web.url("/receipt/b"), "source": "w", "of_link": "nope"}, WATCHER)
    assert copy.status_code == 422 and "of_link" in copy.text  # its own case: the field is named

    await change_case_monitors(server.pool, case_id, remove=["other-watch"])
    dropped = await server.report(case_id, {"url": url, "source": "other-watch"}, OTHER)
    assert dropped.status_code == 404
    await server.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_a_monitor_is_not_told_how_far_its_pdq_hash_is_from_the_case_hashes(server, web):
    case_id = await server.open_case("watcher")
    web.live("/far/a")
    body = {"url": web.url("/far/a"), "source": "watcher", "pdq": "00" * 32}
    no_hashes = await server.report(case_id, body, WATCHER)
    await add_case_hash(server.pool, case_id, PDQ)
    far = await server.report(case_id, body, WATCHER)
    for response in (no_hashes, far):
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["body", "pdq"], "msg": "matches none of the case's hashes", "type": "refused"}
        ]
    assert seen_by_client(no_hashes) == seen_by_client(far)
    ops = await server.report(case_id, body, OPS)
    assert ops.status_code == 422 and "bits from the nearest" in ops.text  # ops still get the distance
    assert await server.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 0


async def test_reads_and_role_refusals_are_audited_under_tokens(server):
    case_id = await server.open_case()
    assert (await server.http.get(f"/v1/cases/{case_id}", headers=server.auth(CASEWORKER))).status_code == 200
    assert (await server.http.get(f"/v1/cases/{case_id}", headers=server.auth(WATCHER))).status_code == 403
    rows = await server.pool.fetch(
        "SELECT actor_role, actor_name, action, allowed FROM audit_events WHERE target = $1 ORDER BY id", case_id
    )
    assert [tuple(row) for row in rows] == [("caseworker", None, "read", True), ("monitor", "watcher", "read", False)]


# --- the local stack's tokens ---


async def test_the_local_stack_names_its_monitor_and_names_the_monitor_of_an_older_tokens_file(tmp_path):
    text, path = local_api_tokens(tmp_path)
    assert text.split(",")[1].endswith(":monitor:local") and path.stat().st_mode & 0o777 == 0o600
    assert local_api_tokens(tmp_path) == (text, path)  # kept
    older = tmp_path / "older"
    older.mkdir()
    ops, monitor = "o" * 20, "m" * 20
    (older / "api_tokens").write_text(f"{ops}:ops,{monitor}:monitor\n")
    named, kept = local_api_tokens(older)
    assert named == f"{ops}:ops,{monitor}:monitor:local"
    assert kept.read_text() == named + "\n" and kept.stat().st_mode & 0o777 == 0o600
