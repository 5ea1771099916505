"""``tada case dossier CASE --out FILE.html|.pdf`` (issue 17): a ``tada`` subprocess against the
real database, on a hand-built record with known answers (link_events rows as the engine writes
them). The HTML's text and the PDF's extracted text are checked: this case's addresses as text,
its notices with their dates, recipients and laws, the platforms' answers, the liveness evidence
and the legal clocks; nothing of another case sharing the database, no note, no link, no image."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import secrets
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from tada.app.dossier import Clock, ClockStep, Dossier, DossierLink, NoticeSent
from tada.reporting.dossier_html import render_dossier_html
from tada.reporting.dossier_pdf import html_to_pdf
from tests.support.cli_stack import TADA, Run

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPS, CASEWORKER, MONITOR = "ops-token-dossier-0123456789", "cw-token-dossier-0123456789", "mon-token-dossier-01234567"
ORGANISATION = "Harbour Helpline (dossier test)"
T0 = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
NOTE = "the victim's cousin says the uploader is her former partner"


@pytest.fixture
def env(postgres_url) -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if not key.startswith("TADA_")}
    values.update(
        TADA_DATABASE_URL=postgres_url,
        TADA_TEMPORAL_ADDRESS="127.0.0.1:9",  # never reached: a dossier needs only the database
        TADA_DATA_KEY=os.environ["TADA_DATA_KEY"],
        TADA_API_TOKENS=f"{OPS}:ops,{CASEWORKER}:caseworker,{MONITOR}:monitor:watcher",
        TADA_TOKEN=CASEWORKER,
        TADA_NOTIFIER_NAME=ORGANISATION,
        TADA_LOG_FORMAT="json",
        COLUMNS="200",
    )
    return values


async def tada(env: dict[str, str], *args: str, token: str | None = None) -> Run:
    environment = env if token is None else {**env, "TADA_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        str(TADA), "case", *args, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    return Run(process.returncode or 0, stdout.decode(), stderr.decode())


class Record:
    """One case's rows, inserted as the engine and the intake write them."""

    def __init__(self, conn, crypto, case_id: str) -> None:
        self.conn, self.crypto, self.case_id, self.seq = conn, crypto, case_id, 0

    async def case(self, reference: str, **columns) -> None:
        await self.conn.execute(
            "INSERT INTO cases (case_id, opened_at, jurisdiction, authorised_on) VALUES ($1, $2, $3, $4)",
            self.case_id, T0 - HOUR, columns.get("jurisdiction"), columns.get("authorised_on"),
        )  # fmt: skip
        sealed = await self.crypto.seal(self.conn, self.case_id, "reference", reference)
        await self.conn.execute("UPDATE cases SET reference = $2 WHERE case_id = $1", self.case_id, sealed)

    async def link(self, link_id: str, url: str, platform: str, state: str, cycle: int = 1) -> None:
        await self.conn.execute(
            "INSERT INTO links (link_id, case_id, url, host, platform, category, added_at, state, cycle) "
            "VALUES ($1, $2, $3, $4, $5, 'social_media', $6, $7, $8)",
            link_id, self.case_id, url, url.split("/")[2], platform, T0, state, cycle,
        )  # fmt: skip

    async def event(self, link_id: str, at: datetime, kind: str, detail: dict, *, to_state=None, cycle: int = 1):
        self.seq += 1
        await self.conn.execute(
            "INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, to_state, detail, occurred_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
            f"{link_id}:{cycle}:{self.seq}", link_id, self.case_id, cycle, kind, to_state, json.dumps(detail), at,
        )  # fmt: skip


@pytest.fixture
async def record(db_pool, data_crypto):
    """Two cases sharing the database (ours and another) and a purged one; their ids and URLs."""
    tag = secrets.token_hex(4).upper()
    ours, other, purged = f"TD-DOSA{tag}", f"TD-DOSB{tag}", f"TD-DOSP{tag}"
    facts = {
        "case": ours, "other": other, "purged": purged,
        "reference": f"RL-DOSSIER-{tag}", "other_reference": f"RL-OTHER-{tag}",
        "removed_url": f"https://tube.example/v/kept-{tag.lower()}",
        "missed_url": f"https://chatgram.example/p/missed-{tag.lower()}",
        "other_url": f"https://tube.example/v/elsewhere-{tag.lower()}",
    }  # fmt: skip
    removed, missed = f"{ours}-removed", f"{ours}-missed"
    async with db_pool.acquire() as conn, conn.transaction():
        mine = Record(conn, data_crypto, ours)
        await mine.case(facts["reference"], jurisdiction="US", authorised_on=date(2026, 5, 19))
        await mine.link(removed, facts["removed_url"], "Tube", "REMOVED")
        await mine.link(missed, facts["missed_url"], "Chatgram", "ESCALATED")

        # removed within the TAKE IT DOWN Act's 48 hours, on a confirmed check
        await mine.event(
            removed, T0, "liveness", {"verdict": "live", "reason": "page answers 200", "http_status": "200"}
        )
        await mine.event(removed, T0 + HOUR, "notice", {
            "kind": "initial", "channel": "email", "notice_key": f"{removed}:1:1",
            "recipient": "abuse@tube.example", "laws": "take_it_down_act,dsa",
        })  # fmt: skip
        await mine.event(removed, T0 + HOUR, "deadline", {
            "law": "take_it_down_act", "deadline": "48h", "step": "started", "due_at": (T0 + 49 * HOUR).isoformat(),
        })  # fmt: skip
        received = (T0 + 5 * HOUR).isoformat()
        await mine.event(removed, T0 + 5 * HOUR, "reply", {"kind": "acknowledged", "received_at": received})
        await mine.event(
            removed, T0 + 20 * HOUR, "liveness", {"verdict": "gone", "reason": "404 not found", "http_status": "404"}
        )
        await mine.event(removed, T0 + 20.5 * HOUR, "liveness", {
            "verdict": "gone", "reason": "410 gone", "http_status": "410", "check": "confirming",
        })  # fmt: skip
        await mine.event(removed, T0 + 20.5 * HOUR, "transition", {"reason": "404 not found, confirmed 30m later"},
                         to_state="REMOVED")  # fmt: skip
        await mine.event(removed, T0 + 20.5 * HOUR, "deadline", {
            "law": "take_it_down_act", "deadline": "48h", "step": "met", "due_at": (T0 + 49 * HOUR).isoformat(),
        })  # fmt: skip

        # a copyright notice by form, a pause for more information, a missed clock, the ladder, the regulator
        await mine.event(missed, T0 + 2 * HOUR, "notice", {
            "kind": "initial", "channel": "form", "notice_key": f"{missed}:1:1", "laws": "take_it_down_act",
            "route": "copyright",
        })  # fmt: skip
        await mine.event(missed, T0 + 2 * HOUR, "deadline", {
            "law": "take_it_down_act", "deadline": "48h", "step": "started", "due_at": (T0 + 50 * HOUR).isoformat(),
        })  # fmt: skip
        note = await data_crypto.seal(conn, ours, f"{missed}/note", NOTE)
        await mine.event(missed, T0 + 3 * HOUR, "response", {"outcome": "needs-info", "note": note})
        await mine.event(missed, T0 + 3 * HOUR, "deadline", {
            "law": "take_it_down_act", "deadline": "48h", "step": "paused", "due_at": (T0 + 50 * HOUR).isoformat(),
        })  # fmt: skip
        await mine.event(missed, T0 + 7 * HOUR, "deadline", {
            "law": "take_it_down_act", "deadline": "48h", "step": "resumed", "due_at": (T0 + 54 * HOUR).isoformat(),
        })  # fmt: skip
        await mine.event(missed, T0 + 54 * HOUR, "deadline", {
            "law": "take_it_down_act", "deadline": "48h", "step": "missed", "due_at": (T0 + 54 * HOUR).isoformat(),
        })  # fmt: skip
        await mine.event(
            missed, T0 + 56 * HOUR, "liveness", {"verdict": "live", "reason": "page answers 200", "http_status": "200"}
        )
        await mine.event(missed, T0 + 56 * HOUR, "notice", {
            "kind": "follow_up", "channel": "email", "recipient": "reports@chatgram.example",
            "laws": "take_it_down_act",
        })  # fmt: skip
        await mine.event(missed, T0 + 57 * HOUR, "delivery_failed", {"code": "550", "where": "chatgram.example"})
        await mine.event(missed, T0 + 80 * HOUR, "contact_found", {"kind": "host", "name": "Venom Hosting",
                                                                   "email": "abuse@venom.example"})  # fmt: skip
        await mine.event(missed, T0 + 80 * HOUR, "notice", {
            "kind": "escalation_host", "channel": "email", "recipient": "abuse@venom.example",
        })  # fmt: skip
        await mine.event(missed, T0 + 100 * HOUR, "notice", {
            "kind": "regulator", "channel": "manual", "regulator": "Federal Trade Commission",
            "laws": "take_it_down_act",
        })  # fmt: skip

        theirs = Record(conn, data_crypto, other)
        await theirs.case(facts["other_reference"])
        await theirs.link(f"{other}-1", facts["other_url"], "Tube", "AWAITING_RESPONSE")
        await theirs.event(f"{other}-1", T0, "notice", {"kind": "initial", "channel": "email",
                                                        "recipient": "other-desk@tube.example"})  # fmt: skip

        await conn.execute("INSERT INTO cases (case_id, status, purged_at) VALUES ($1, 'withdrawn', now())", purged)
        await conn.execute(
            "INSERT INTO links (link_id, case_id, url, host, platform, category, state) "
            "VALUES ($1, $2, $3, 'example', 'Tube', 'other', 'WITHDRAWN')",
            f"{purged}-1", purged, f"purged:{purged}-1",
        )  # fmt: skip
    return facts


def _compact(text: str) -> str:
    """Text without its white space: a PDF's lines break inside table cells and long words."""
    return re.sub(r"\s+", "", text)


def _checks_of_the_record(text: str, facts: dict) -> None:
    """What the dossier's text (the HTML's, or the PDF's extracted) must and must not say."""
    flat = _compact(text)
    for expected in (
        facts["case"], facts["reference"], facts["removed_url"], facts["missed_url"], ORGANISATION,
        # notices: dates, recipients, laws, route, channel
        "2026-05-2009:00:00UTC", "abuse@tube.example", "take_it_down_act", "dsa", "reports@chatgram.example",
        "47 U.S.C. § 223a", "(Digital Services Act)",  # as the shipped registry cites them
        "copyright", "512(c)(3)", "webform", "FederalTradeCommission", "abuse@venom.example",
        # answers; a delivery that failed
        "acknowledged", "anemailreply", "askedformoreinformation", "recordedbyacaseworker", "550",
        # the liveness evidence: times, verdicts, statuses, reasons, the confirming check
        "2026-05-2104:00:00UTC", "404notfound", "410gone", "confirmingcheck", "2026-05-2104:30:00UTC",
        # the clocks: due, met, missed, paused and resumed
        "48h", "2026-05-2209:00:00UTC", "met", "missed", "paused", "resumed", "2026-05-2214:00:00UTC",
        "2026-05-19",  # the authorisation's date
        "VenomHosting", "Whatthisrecordis",
    ):  # fmt: skip
        assert _compact(expected) in flat, expected
    for absent in (facts["other"], facts["other_url"], facts["other_reference"], "other-desk@tube.example",
                   "cousin", "former partner", "tada1:", "[purged]"):  # fmt: skip
        assert _compact(absent) not in flat, absent


async def test_the_html_dossier_lists_this_case_only_as_text(env, record, db_pool, tmp_path):
    out = tmp_path / "dossier.html"
    run = await tada(env, "dossier", record["case"], "--out", str(out), "--json")
    assert run.code == 0, run.stderr
    assert run.json == {"case_id": record["case"], "out": str(out), "format": "html", "links": 2, "notices": 5,
                        "removed": 1}  # fmt: skip
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it lists the case's addresses
    page = out.read_text(encoding="utf-8")
    for markup in ("<a ", "href", "<img", "src=", "<script", "url(", "@import", "<link", "http-equiv"):
        assert markup not in page.lower(), markup
    # every address in the page is one of this case's, printed as text
    assert set(re.findall(r"https?://[^\s<\"']+", page)) == {record["removed_url"], record["missed_url"]}
    text = re.sub(r"<[^>]+>", " ", page)
    _checks_of_the_record(text.replace("&#39;", "'").replace("&amp;", "&"), record)

    audit = await db_pool.fetch(
        "SELECT actor_role, allowed FROM audit_events WHERE action = 'case.dossier' AND target = $1", record["case"]
    )
    assert [(row["actor_role"], row["allowed"]) for row in audit] == [("caseworker", True)]


async def test_the_pdf_dossier_is_rendered_from_the_same_page(env, record, tmp_path):
    out = tmp_path / "dossier.PDF"
    run = await tada(env, "dossier", record["case"], "--out", str(out), token=OPS)
    assert run.code == 0, run.stderr
    assert "2 link(s), 5 notice(s), 1 removed now" in run.stdout
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and stat.S_IMODE(out.stat().st_mode) == 0o600
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    _checks_of_the_record(text, record)
    assert reader.metadata.author == ORGANISATION and record["case"] in reader.metadata.title
    for page in reader.pages:  # no link annotation, no image
        assert all(a.get_object().get("/Subtype") != "/Link" for a in page.get("/Annots") or [])
        assert not page.images


async def test_refusals(env, record, db_pool, tmp_path):
    purged = await tada(env, "dossier", record["purged"], "--out", str(tmp_path / "p.pdf"))
    assert purged.code == 3 and "was purged" in purged.stderr and "addresses are erased" in purged.stderr
    assert not (tmp_path / "p.pdf").exists()

    unknown = await tada(env, "dossier", "TD-NOSUCHCASE", "--out", str(tmp_path / "u.html"))
    assert unknown.code == 4 and "no case TD-NOSUCHCASE" in unknown.stderr

    suffix = await tada(env, "dossier", record["case"], "--out", str(tmp_path / "d.txt"))
    assert suffix.code == 2 and "--out" in suffix.stderr and ".pdf or .html" in suffix.stderr

    nowhere = await tada(env, "dossier", record["case"], "--out", str(tmp_path / "no" / "such" / "d.html"))
    assert nowhere.code == 2 and "--out: cannot write" in nowhere.stderr

    monitor = await tada(env, "dossier", record["case"], "--out", str(tmp_path / "m.html"), token=MONITOR)
    assert monitor.code == 3 and "case.dossier needs a ops or caseworker token" in monitor.stderr
    assert not Path(tmp_path / "m.html").exists()
    refused = await db_pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'case.dossier' AND target = $1 AND NOT allowed",
        record["case"],
    )
    assert refused == 1


async def test_the_page_names_laws_as_the_registry_cites_them_and_escapes_what_it_prints():
    """In process, on a dossier built by hand: a law the registry defines by its citation, one it
    does not by its id; an address with markup in it is text, a direction override is U+FFFD; a
    clock past due is overdue."""
    clock = Clock(cycle=1, law="take_it_down_act", deadline="48h",
                  steps=[ClockStep(at=T0, step="started", due_at=T0 + 48 * HOUR)])  # fmt: skip
    link = DossierLink(
        link_id="TD-X-1", url='https://pix.example/a?b=<img src="x">&c', host="pix.example",
        platform="Pix & Co\u202egpj", category="image_host", state="AWAITING_RESPONSE", cycle=1, added_at=T0,
        clocks=[clock],
        notices=[NoticeSent(at=T0, cycle=1, kind="initial", channel="email", recipient="abuse@pix.example",
                            laws=["take_it_down_act", "some_new_law"])],
    )  # fmt: skip
    dossier = Dossier(
        case_id="TD-X", reference="<b>RL-9</b>", status="open", jurisdiction=None, opened_at=T0, withdrawn_at=None,
        authorised_on=None, author="Org <Helpline>", generated_at=T0 + 72 * HOUR, links=[link],
        law_names={"take_it_down_act": "47 U.S.C. § 223a (TAKE IT DOWN Act)"},
    )  # fmt: skip
    page = render_dossier_html(dossier)
    assert "<img" not in page and "<b>" not in page and "<Helpline>" not in page
    assert "https://pix.example/a?b=&lt;img src=&#34;x&#34;&gt;&amp;c" in page
    assert "Pix &amp; Co\ufffdgpj" in page and "\u202e" not in page  # a direction override shown, not obeyed
    assert "47 U.S.C. § 223a (TAKE IT DOWN Act) [take_it_down_act]" in page and "some_new_law" in page
    assert "overdue: past its due time and not removed" in page
    assert "none recorded" in page  # no authorisation, no jurisdiction
    text = _compact("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(html_to_pdf(page))).pages))
    assert _compact('https://pix.example/a?b=<img src="x">&c') in text and _compact("§ 223a") in text
