"""A big link import from the console: a signed-in person may send up to
TADA_CONSOLE_MAX_IMPORT_BYTES to a case's import, checked before the body is read; without a
session it is refused there, and every other request keeps the 64 KiB cap."""

from __future__ import annotations

import pytest

from tests.console.conftest import csrf_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_signed_in_import_may_be_bigger_than_the_cap_and_nothing_else_may(console, web):
    http, _ = await console.signed_in("ops")
    case_id = await console.open_case()
    web.live("/big/a")
    page = await http.get(f"/console/cases/{case_id}")
    csrf = csrf_of(page.text)
    bad = "".join(f"line {n} is not a link, only words to make the file bigger than the cap\n" for n in range(2_000))
    csv = f"{web.url('/big/a')}\n{bad}".encode()
    assert len(csv) > console.settings.api_max_body_bytes * 2
    sent = await http.post(
        f"/console/cases/{case_id}/import", data={"csrf": csrf}, files={"file": ("links.txt", csv, "text/plain")}
    )
    assert sent.status_code == 303, sent.text
    result = await http.get(sent.headers["location"])
    assert "1 new link(s) started" in result.text and "line 1999 is not a link" in result.text
    assert await console.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 1

    big_form = {"csrf": csrf, "link": "x" * (console.settings.api_max_body_bytes + 1)}
    assert (await http.post("/console/queue/filed", data=big_form)).status_code == 413


async def test_an_import_without_a_session_is_refused_before_its_body_is_read(console):
    case_id = await console.open_case()
    stranger = console.browser()
    body = b"x" * (console.settings.api_max_body_bytes * 4)
    answer = await stranger.post(
        f"/console/cases/{case_id}/import", content=body, headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 401 and "sign in" in answer.text
    forged = console.browser()
    forged.cookies.set("tada_session", "A" * 43, path="/console")
    assert (await forged.post(f"/console/cases/{case_id}/import", content=body)).status_code == 401


async def test_a_role_that_may_not_import_keeps_the_usual_cap(console):
    http, _ = await console.signed_in("caseworker")
    case_id = await console.open_case()
    body = b"x" * (console.settings.api_max_body_bytes * 4)
    assert (await http.post(f"/console/cases/{case_id}/import", content=body)).status_code == 413


async def test_a_pasted_list_over_a_mebibyte_is_read_as_the_file_would_be(console, web):
    """Starlette reads a form field of at most 1 MiB by default (a bare 400 past it); the paste
    field takes what the file does, up to TADA_CONSOLE_MAX_IMPORT_BYTES."""
    http, _ = await console.signed_in("ops")
    case_id = await console.open_case()
    web.live("/big/pasted")
    page = await http.get(f"/console/cases/{case_id}")
    filler = "is not a link, only words to make the pasted list longer than one mebibyte of text"
    pasted = web.url("/big/pasted") + "\n" + "".join(f"line {n} {filler}\n" for n in range(2, 15_002))
    assert 1024 * 1024 < len(pasted) < console.settings.console_max_import_bytes
    sent = await http.post(
        f"/console/cases/{case_id}/import",
        data={"csrf": csrf_of(page.text), "urls": pasted},
        files={"file": ("", b"", "application/octet-stream")},  # as a browser sends the form: no file chosen
    )
    assert sent.status_code == 303, sent.text[:300]
    result = await http.get(sent.headers["location"])
    assert "1 new link(s) started" in result.text and "line 15001 is not a link" in result.text
    assert await console.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 1


async def test_an_import_form_that_cannot_be_read_is_told_on_a_page(console):
    """Not a bare 400: the page names the paste field and the limit."""
    http, _ = await console.signed_in("ops")
    case_id = await console.open_case()
    page = await http.get(f"/console/cases/{case_id}")
    fields = {"csrf": csrf_of(page.text)} | {f"extra{n}": "x" for n in range(1_001)}  # Starlette reads 1,000
    sent = await http.post(
        f"/console/cases/{case_id}/import", data=fields, files={"file": ("", b"", "application/octet-stream")}
    )
    assert sent.status_code == 422 and "Links not added" in sent.text
    kib = console.settings.console_max_import_bytes // 1024
    assert "Paste links, one a line" in sent.text and f"at most {kib} KiB" in sent.text
