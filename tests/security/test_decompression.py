"""Memory and size limits hold after decoding (issue 14).

httpx decoded whatever Content-Encoding a server named, each wire chunk in one call: 1,827
bytes of ``gzip, gzip`` took a liveness check to 2 GB. Now a body is decoded in bounded
steps, its decoded bytes count against the caller's limit, a chain of encodings or an
unknown one is refused, and so is anything compressed beyond 100:1 (tada/clients/decoding.py).

A real server on 127.0.0.1 (tests/support/raw_web.py) sends the bombs: 128 MiB of zeros,
about 130 KB on the wire (373 bytes as ``gzip, gzip``). The real liveness probe, form
client, RDAP client and bootstrap loader read them, and the memory allocated meanwhile
(tracemalloc's peak) stays within a few MiB; before, the same calls allocated 64 MiB and
more, so the bound fails them without taking the machine down.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from collections.abc import Sequence

import httpx
import pytest
import pytest_asyncio

from tada.activities.liveness import LivenessActivities
from tada.clients.decoding import STEP, AnswerRefused
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy
from tada.clients.forms import FormFailed, submit_form
from tada.clients.host_limiter import HostLimiter
from tada.clients.rdap_bootstrap import BootstrapUnavailable, load_bootstrap
from tada.clients.rdap_client import RdapClient, RdapUnavailable
from tada.clients.safe_transport import ResponseTooLarge, safe_client
from tada.domain.states import Verdict
from tada.settings import Settings
from tests.support.bombs import DEFLATE, GZIP, RAW_DEFLATE, bomb, compressed
from tests.support.raw_web import RawSite, raw_answer

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPEN = EgressPolicy(allow_private=True)  # the hostile site is on 127.0.0.1
MARKER = "this video has been removed"
#: The worker's own slice of a page (TADA_LIVENESS_MAX_BYTES' default).
LIVENESS_MAX_BYTES = Settings.model_fields["liveness_max_bytes"].default
DECODED = 128 << 20  # each bomb's zeros
#: The most any one call may allocate while it reads a bomb.
MEMORY_BOUND = 4 << 20

GZIP_BOMB = bomb(DECODED)
HTML = [("Content-Type", "text/html; charset=utf-8")]
JSON_TYPE = [("Content-Type", "application/rdap+json")]

#: (label, Content-Encoding header lines, body, what the refusal names)
HOSTILE = [
    ("gzip bomb", [("Content-Encoding", "gzip")], GZIP_BOMB, "compressed beyond 100:1"),
    ("deflate bomb", [("Content-Encoding", "deflate")], bomb(DECODED, DEFLATE), "compressed beyond 100:1"),
    ("raw deflate bomb", [("Content-Encoding", "deflate")], bomb(DECODED, RAW_DEFLATE), "compressed beyond 100:1"),
    ("gzip, gzip", [("Content-Encoding", "gzip, gzip")], compressed(GZIP_BOMB), "stacked content encodings"),
    (
        "gzip on two lines",
        [("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")],
        compressed(GZIP_BOMB),
        "stacked content encodings",
    ),
    ("brotli", [("Content-Encoding", "br")], b"\x1b\xff\xff\x7f" + os.urandom(200), "unknown content encoding 'br'"),
    ("zstd", [("Content-Encoding", "zstd")], b"\x28\xb5\x2f\xfd" + os.urandom(200), "unknown content encoding 'zstd'"),
    ("made-up", [("Content-Encoding", "x-" + "<" * 60)], GZIP_BOMB, "unknown content encoding"),  # not echoed
    ("x-gzip bomb", [("Content-Encoding", "x-gzip")], GZIP_BOMB, "compressed beyond 100:1"),
]
HOSTILE_IDS = [label for label, *_ in HOSTILE]


class PeakMemory:
    """``with PeakMemory() as memory: ...``; then ``memory.peak``: the most bytes allocated at
    once meanwhile (every thread), counted by tracemalloc."""

    peak = 0

    def __enter__(self) -> PeakMemory:
        tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site():
    started = await RawSite().start()
    yield started
    await started.stop()


@pytest.fixture
async def http():
    async with safe_client(OPEN, timeout=5) as client:  # as the worker has it
        yield client


@pytest.fixture
def probe(db_pool, http):
    nxdomain = NxdomainEvidence(OPEN.resolver, [])
    activities = LivenessActivities(
        db_pool, http, egress=OPEN, limiter=HostLimiter(0), max_bytes=LIVENESS_MAX_BYTES, nxdomain=nxdomain
    )
    return activities.probe


def page_text(size: int) -> bytes:
    """An HTML page of ``size`` bytes that compresses as real text does (about 2:1)."""
    words = os.urandom(size // 2).hex().encode()
    return b"<html><body><p>" + words[: size - 40] + b"</p></body></html>"


def serve(site: RawSite, path: str, headers: Sequence[tuple[str, str]], body: bytes) -> str:
    site.answers[path] = raw_answer(200, list(headers), body)
    return site.url(path)


# -- liveness --------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "encoding", "body", "named"), HOSTILE, ids=HOSTILE_IDS)
async def test_a_hostile_encoding_makes_the_check_unknown_never_a_blow_up(probe, site, label, encoding, body, named):
    url = serve(site, "/video/1", HTML + encoding, body)
    with PeakMemory() as memory:
        result = await probe(url, [MARKER])
    assert memory.peak < MEMORY_BOUND, f"{label}: {memory.peak} bytes allocated"
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, f"answer refused: {named}")


async def test_a_bomb_through_any_http_client_is_read_in_bounded_steps_too(db_pool, site):
    """The probe decodes what it reads itself: a client without the safe transport (it asks for
    gzip, and httpx would decode it) is no way round the bound."""
    url = serve(site, "/video/2", [*HTML, ("Content-Encoding", "gzip")], GZIP_BOMB)
    nxdomain = NxdomainEvidence(OPEN.resolver, [])
    async with httpx.AsyncClient(timeout=5) as plain:
        probe = LivenessActivities(
            db_pool, plain, egress=OPEN, limiter=HostLimiter(0), max_bytes=LIVENESS_MAX_BYTES, nxdomain=nxdomain
        ).probe
        with PeakMemory() as memory:
            result = await probe(url, [MARKER])
    assert memory.peak < MEMORY_BOUND, f"{memory.peak} bytes allocated"
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, "answer refused: compressed beyond 100:1")


@pytest.mark.parametrize(
    ("coding", "wbits"), [("gzip", GZIP), ("x-gzip", GZIP), ("deflate", DEFLATE), ("deflate", RAW_DEFLATE)]
)
@pytest.mark.parametrize(("text", "verdict"), [(MARKER, Verdict.GONE), ("still here", Verdict.LIVE)])
async def test_a_compressed_page_is_still_read(probe, site, coding, wbits, text, verdict):
    page = f"<html><body><p>{text}</p>{'<p>filler</p>' * 300}</body></html>".encode()
    url = serve(site, "/video/3", [*HTML, ("Content-Encoding", coding)], compressed(page, wbits))
    result = await probe(url, [MARKER])
    assert result.verdict == verdict, result.reason


async def test_a_transfer_coding_other_than_chunked_is_refused(probe, site):
    head = raw_answer(200, [*HTML, ("Transfer-Encoding", "gzip, chunked")], content_length=False)
    site.answers["/video/4"] = head + b"%x\r\n" % len(GZIP_BOMB) + GZIP_BOMB + b"\r\n0\r\n\r\n"
    with PeakMemory() as memory:
        result = await probe(site.url("/video/4"), [MARKER])
    assert memory.peak < MEMORY_BOUND, f"{memory.peak} bytes allocated"
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, "connection failed: RemoteProtocolError")


# -- the transport itself -----------------------------------------------------------------------


async def test_decoded_bytes_count_against_the_transports_limit(site):
    """300 KB of text, 150 KB gzipped on the wire: over a 200 KB limit once decoded."""
    url = serve(site, "/big", [*HTML, ("Content-Encoding", "gzip")], compressed(page_text(300_000)))
    async with safe_client(OPEN, timeout=5, max_response_bytes=200_000) as http:
        with pytest.raises(ResponseTooLarge):
            await http.get(url)


async def test_no_decoding_step_hands_out_more_than_a_bounded_piece(http, site):
    page = page_text(1_000_000)
    url = serve(site, "/page", [*HTML, ("Content-Encoding", "gzip")], compressed(page))
    async with http.stream("GET", url) as response:
        pieces = [piece async for piece in response.aiter_bytes()]
    assert b"".join(pieces) == page  # decoded once, by the transport: httpx is shown no encoding
    assert "content-encoding" not in response.headers
    assert max(map(len, pieces)) <= STEP


async def test_an_answer_with_a_refused_encoding_is_refused_before_its_body_is_read(http, site):
    url = serve(site, "/double", [*HTML, ("Content-Encoding", "gzip, gzip")], compressed(GZIP_BOMB))
    with pytest.raises(AnswerRefused, match="stacked content encodings"):
        await http.get(url)


# -- forms --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "named"),
    [("gzip, gzip", "stacked content encodings"), ("br", "unknown content encoding 'br'")],
    ids=["stacked", "unknown"],
)
async def test_a_form_answering_in_a_refused_encoding_fails_the_delivery_for_good(http, site, encoding, named):
    url = serve(site, "/report", [*HTML, ("Content-Encoding", encoding)], compressed(GZIP_BOMB))
    with PeakMemory() as memory, pytest.raises(FormFailed) as failed:
        await submit_form(http, url, {"url": "https://victim.example/v/1"}, allow_private=True)
    assert (failed.value.code, failed.value.permanent, failed.value.where) == ("answer", True, "127.0.0.1")
    assert failed.value.reason == f"the form's answer is refused: {named}"
    assert "victim" not in str(failed.value) and "/report" not in str(failed.value)
    assert memory.peak < MEMORY_BOUND, f"{memory.peak} bytes allocated"


async def test_a_form_answering_with_a_bomb_took_the_report_and_nothing_is_decoded(http, site):
    url = serve(site, "/report-bomb", [*HTML, ("Content-Encoding", "gzip")], GZIP_BOMB)
    with PeakMemory() as memory:
        status = await submit_form(http, url, {"url": "https://victim.example/v/1"}, allow_private=True)
    assert status == 200 and site.hits["/report-bomb"] == 1
    assert memory.peak < MEMORY_BOUND, f"{memory.peak} bytes allocated"


# -- RDAP and its bootstrap ---------------------------------------------------------------------

RECORD = {"objectClassName": "ip network", "handle": "NET-23-94-0-0-1", "entities": []}


#: Services for the registries a test does not ask (whoisit wants each to name some).
ELSEWHERE = {
    "dns": [[["example"], ["https://rdap.example/"]]],
    "ipv4": [[["45.0.0.0/8"], ["https://rdap.example/"]]],
    "ipv6": [[["2001:db8::/32"], ["https://rdap.example/"]]],
}


def registry(services: list) -> str:
    return json.dumps({"version": "1.0", "publication": "2026-11-01T00:00:00Z", "services": services})


@pytest.fixture
def bootstrap_dir(tmp_path, site):
    """Bootstrap files on disk naming the hostile site as the registry for 23.94.0.0/16."""
    (tmp_path / "ipv4.json").write_text(registry([[["23.94.0.0/16"], [site.url("/registry/")]]]))
    (tmp_path / "ipv6.json").write_text(registry(ELSEWHERE["ipv6"]))
    (tmp_path / "dns.json").write_text(registry(ELSEWHERE["dns"]))
    return str(tmp_path)


@pytest.mark.parametrize(("label", "encoding", "body", "named"), HOSTILE, ids=HOSTILE_IDS)
async def test_a_hostile_rdap_answer_fails_the_lookup_clearly(http, site, bootstrap_dir, label, encoding, body, named):
    site.answers["/registry/ip/23.94.10.5"] = raw_answer(200, JSON_TYPE + encoding, body)
    rdap = RdapClient(http, bootstrap_source=bootstrap_dir, allow_http=True)
    with PeakMemory() as memory, pytest.raises(RdapUnavailable) as failed:
        await rdap.ip("23.94.10.5")
    assert memory.peak < MEMORY_BOUND, f"{label}: {memory.peak} bytes allocated"
    assert str(failed.value) == f"RDAP server {site.url('/registry/')} sent an answer refused: {named}"


async def test_decoded_bytes_count_against_the_rdap_cap(http, site, bootstrap_dir):
    """1.5 MB of JSON, about 750 KB gzipped: over the 1 MiB cap once decoded."""
    big = json.dumps({**RECORD, "remarks": page_text(1_500_000).decode()}).encode()
    site.answers["/registry/ip/23.94.10.5"] = raw_answer(
        200, [*JSON_TYPE, ("Content-Encoding", "gzip")], compressed(big)
    )
    with pytest.raises(RdapUnavailable, match="ResponseTooLarge"):
        await RdapClient(http, bootstrap_source=bootstrap_dir, allow_http=True).ip("23.94.10.5")


async def test_a_gzipped_rdap_answer_is_still_read(http, site, bootstrap_dir):
    body = compressed(json.dumps(RECORD).encode())
    site.answers["/registry/ip/23.94.10.5"] = raw_answer(200, [*JSON_TYPE, ("Content-Encoding", "gzip")], body)
    answer = await RdapClient(http, bootstrap_source=bootstrap_dir, allow_http=True).ip("23.94.10.5")
    assert answer is not None and answer.data == RECORD


def bootstrap_files(site: RawSite, base: str, dns: bytes, encoding: str = "gzip") -> str:
    ipv4, ipv6 = (compressed(registry(ELSEWHERE[name]).encode()) for name in ("ipv4", "ipv6"))
    for name, body in (("dns.json", dns), ("ipv4.json", ipv4), ("ipv6.json", ipv6)):
        site.answers[f"{base}{name}"] = raw_answer(
            200, [("Content-Type", "application/json"), ("Content-Encoding", encoding)], body
        )
    return site.url(base)


@pytest.mark.parametrize(
    ("base", "encoding", "dns", "named"),
    [
        ("/iana-bomb/", "gzip", GZIP_BOMB, "compressed beyond 100:1"),
        ("/iana-stacked/", "gzip, gzip", compressed(GZIP_BOMB), "stacked content encodings"),
    ],
    ids=["bomb", "stacked"],
)
async def test_a_hostile_bootstrap_fails_the_load_clearly(http, site, base, encoding, dns, named):
    url = bootstrap_files(site, base, dns, encoding)
    with PeakMemory() as memory, pytest.raises(BootstrapUnavailable) as failed:
        await load_bootstrap(url, http, allow_http=True)
    assert memory.peak < MEMORY_BOUND, f"{memory.peak} bytes allocated"
    assert str(failed.value).endswith(f": {named}")


async def test_a_gzipped_bootstrap_still_loads(http, site):
    url = bootstrap_files(site, "/iana-plain/", compressed(registry(ELSEWHERE["dns"]).encode()))
    bootstrap = await load_bootstrap(url, http, allow_http=True)
    assert bootstrap.is_bootstrapped()
