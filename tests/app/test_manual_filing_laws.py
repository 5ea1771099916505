"""A manual filing cites the laws that bind the platform for the case, as an emailed notice would;
one whose law needs what the case lacks is refused, naming the element; the regulator's complaint
after a missed deadline is ready with the regulator's page and the request's date. The shipped
registry's laws, real PostgreSQL, the timeline written through the store activity."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tada.activities.store import StoreActivities
from tada.app.intake import open_case, start_link_row
from tada.app.manual_filing import manual_filing
from tada.domain.models import LinkEvent
from tada.domain.registry import load_registry
from tada.domain.urls import normalise_url
from tada.settings import SHIPPED_PLATFORMS, Settings
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
REGISTRY = load_registry(SHIPPED_PLATFORMS)
SETTINGS = Settings(notifier_name="RainLily", notice_from="RainLily <takedown@rainlily.test>")


async def _x_link(
    db_pool, *, authorised_on: date | None, jurisdiction: str | None = "HK"
) -> tuple[str, StoreActivities, str]:
    case_id = await open_case(
        db_pool, age=30, minimum_age=16, signpost="", reference="R-7", crypto=suite_crypto(),
        jurisdiction=jurisdiction, authorised_on=authorised_on,
    )  # fmt: skip
    url = normalise_url(f"https://x.com/someone/status/{uuid.uuid4().int % 10**12}")
    link_id = await start_link_row(db_pool, case_id=case_id, url=url, platform="X", category="social_media")
    return link_id, StoreActivities(db_pool, suite_crypto()), case_id


async def _event(store, link_id, case_id, seq, event_kind, minutes, **detail) -> None:
    await store.record_event(LinkEvent(
        event_key=f"{link_id}:1:{seq}", link_id=link_id, case_id=case_id, cycle=1, kind=event_kind, detail=detail,
        occurred_at=T0 + timedelta(minutes=minutes),
    ))  # fmt: skip


X_LAWS = "take_it_down_act,dsa,hk_crimes_ordinance_159aae"  # as the workflow names them for an HK case


async def test_a_manual_filing_cites_the_laws_the_workflow_named(db_pool):
    link_id, store, case_id = await _x_link(db_pool, authorised_on=date(2026, 5, 30))
    await _event(
        store, link_id, case_id, 1, "waiting", 1, **{"for": "manual filing", "kind": "initial", "laws": X_LAWS}
    )
    filing = await manual_filing(db_pool, suite_crypto(), REGISTRY, SETTINGS, link_id)
    flat = " ".join(filing.text.split())
    assert filing.refused is None
    assert "47 U.S.C. § 223a" in flat and "Digital Services Act" in flat and "159AAE" in flat
    assert "Please act within 48 hours of this request" in flat
    assert "authorisation given to us on 30 May 2026" in flat
    assert "/s/ RainLily, Authorised representative" in flat


async def test_a_link_from_before_the_laws_cites_its_places_laws_as_its_notices_did(db_pool):
    link_id, store, case_id = await _x_link(db_pool, authorised_on=None)
    await _event(store, link_id, case_id, 1, "waiting", 1, **{"for": "manual filing", "kind": "initial"})
    filing = await manual_filing(db_pool, suite_crypto(), REGISTRY, SETTINGS, link_id)
    flat = " ".join(filing.text.split())
    assert filing.refused is None and "159AAE" in flat  # the Hong Kong paragraph, as before
    assert "TAKE IT DOWN" not in flat  # its workflow keeps no clock: its filing starts none


async def test_a_manual_filing_the_case_cannot_supply_is_refused_naming_the_element(db_pool):
    link_id, store, case_id = await _x_link(db_pool, authorised_on=None, jurisdiction=None)
    await _event(
        store,
        link_id,
        case_id,
        1,
        "waiting",
        1,
        **{"for": "manual filing", "kind": "initial", "laws": "take_it_down_act,dsa"},
    )
    filing = await manual_filing(db_pool, suite_crypto(), REGISTRY, SETTINGS, link_id)
    assert filing.refused is not None and filing.text == filing.refused
    assert filing.refused.startswith(
        "a notice under TAKE IT DOWN Act needs what this case cannot supply: authorisation"
    )
    assert "tada case authorise" in filing.refused and "https://x.com" not in filing.refused


async def test_the_regulators_complaint_is_ready_after_a_missed_deadline(db_pool):
    link_id, store, case_id = await _x_link(db_pool, authorised_on=date(2026, 5, 30))
    await _event(store, link_id, case_id, 1, "notice", 0, kind="initial", channel="manual", laws="take_it_down_act")
    due = (T0 + timedelta(hours=48)).isoformat()
    await _event(
        store, link_id, case_id, 2, "deadline", 0, law="take_it_down_act", step="started", deadline="48h", due_at=due
    )
    await _event(
        store,
        link_id,
        case_id,
        3,
        "deadline",
        50 * 60,
        law="take_it_down_act",
        step="missed",
        deadline="48h",
        due_at=due,
    )
    await _event(
        store, link_id, case_id, 4, "notice", 50 * 60 + 1, kind="follow_up", channel="manual", laws="take_it_down_act"
    )
    await _event(
        store,
        link_id,
        case_id,
        5,
        "waiting",
        9000,
        **{"for": "manual filing", "kind": "regulator", "laws": "take_it_down_act"},
    )
    filing = await manual_filing(db_pool, suite_crypto(), REGISTRY, SETTINGS, link_id)
    flat = " ".join(filing.text.split())
    assert filing.kind == "regulator" and filing.where.startswith(
        "Federal Trade Commission: https://takeitdown.ftc.gov/"
    )
    assert filing.subject.startswith("Complaint: X did not act on a valid removal request under TAKE IT DOWN Act")
    assert "To: Federal Trade Commission" in flat
    assert "Our valid request of 1 June 2026 under 47 U.S.C. § 223a" in flat and "within 48 hours" in flat
    assert "on 1 June 2026 and 3 June 2026" in flat  # the request and the follow-up
    assert "Digital Services Act" not in flat  # the complaint stands on the law that was missed
