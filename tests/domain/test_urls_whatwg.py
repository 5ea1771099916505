"""URL normalisation against the WHATWG URL standard's own test data (web-platform-tests'
urltestdata.json, see tests/domain/data/README.md): every http and https case whose result
does not depend on its base URL.

- A URL a browser refuses, tada refuses.
- A URL a browser reads, tada either refuses for one of its own stricter rules (a host DNS
  could not have, an IPv4 address in disguise, a user name, spaces), or normalises it to the
  same link as the URL the browser requests: same host, port, path and query, and the same
  link id as that URL's.
"""

import json
import re
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

import pytest

from tada.domain.urls import InvalidUrl, normalise_url

DATA = Path(__file__).parent / "data" / "whatwg_urltestdata.json"
#: Reasons of tada's own that are stricter than a browser; any other refusal of a URL that a
#: browser reads is a bug.
STRICTER = {
    "contains spaces or control characters",
    "contains a user name or password",
    "contains a lone surrogate, which is not text",
    "host must be a domain name like example.com or an IP address",
    "has an invalid host name",
    "has an invalid international domain name",
    "has an IPv4 address written in hex, octal or short form",
}
_WEB = re.compile(r"[\x00-\x20]*https?:", re.IGNORECASE)
_ABSOLUTE = re.compile(r"[\x00-\x20]*https?://", re.IGNORECASE)


def _web_cases() -> list[dict]:
    cases = []
    for case in json.loads(DATA.read_text(encoding="utf-8")):
        if not isinstance(case, dict) or not _WEB.match(case["input"]):
            continue
        if case.get("base") is not None and not _ABSOLUTE.match(case["input"]):
            continue  # relative to its base ("http:foo" under an http base): tada takes absolute links only
        cases.append(case)
    return cases


CASES = _web_cases()
FAILURES = [case for case in CASES if case.get("failure")]
READ = [case for case in CASES if not case.get("failure")]


def _id(case: dict) -> str:
    return ascii(case["input"])[:60]


def test_the_test_data_is_there():
    assert len(FAILURES) > 150
    assert len(READ) > 150


@pytest.mark.parametrize("case", FAILURES, ids=_id)
def test_what_a_browser_refuses_tada_refuses(case):
    with pytest.raises(InvalidUrl):
        normalise_url(case["input"])


@pytest.mark.parametrize("case", READ, ids=_id)
def test_what_a_browser_reads_is_the_link_it_requests(case):
    try:
        normalised = normalise_url(case["input"])
    except InvalidUrl as refused:
        reason = refused.reason.split(" (a browser reads ")[0]
        assert reason in STRICTER, f"refused as {refused.reason!r}; a browser reads {case['href']!r}"
        return
    assert normalised == normalise_url(case["href"])  # one link, one link id
    got = urlsplit(normalised)
    assert got.hostname == case["hostname"].strip("[]").removesuffix(".")
    assert (str(got.port) if got.port else "") == case["port"]
    assert unquote_to_bytes(got.path) == unquote_to_bytes(case["pathname"])
    assert unquote_to_bytes(got.query) == unquote_to_bytes(case["search"].removeprefix("?"))
    assert normalise_url(normalised) == normalised
