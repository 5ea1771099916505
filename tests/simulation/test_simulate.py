"""``tada simulate`` end to end: a small rehearsal world, the real engine, and its report."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tada.domain.registry import parse_registry
from tada.simulation.behaviour import DEFAULT_BEHAVIOUR, expected_removal_rate
from tada.simulation.plan import Fate, plan_world
from tada.simulation.registry import registry_toml
from tada.simulation.run import SimulationOptions, run_simulation, simulation_settings
from tada.simulation.safety import SimulationRefused, check_local_only


@pytest.mark.asyncio(loop_scope="session")
async def test_a_small_world_settles_and_its_report_adds_up(settings):
    options = SimulationOptions(
        cases=4, links=20, seed=11, seconds_per_day=0.5, timeout_seconds=120,
        database=f"tada_sim_{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    result = await run_simulation(options, settings)
    assert result.settled, "every link should reach REMOVED or UNRESOLVED"
    assert result.seconds < 60

    conn = await asyncpg.connect(result.database_url)
    try:
        states = [r["state"] for r in await conn.fetch("SELECT state FROM links")]
        removed = await conn.fetchval(
            "SELECT count(DISTINCT link_id) FROM link_events WHERE kind = 'transition' AND to_state = 'REMOVED'"
        )
        cases = await conn.fetchval("SELECT count(*) FROM cases")
        emailed = {r["message_id"] for r in await conn.fetch(
            "SELECT DISTINCT message_id FROM notices WHERE channel = 'email' AND status = 'sent'")}  # fmt: skip
        forms = await conn.fetchval("SELECT count(*) FROM notices WHERE channel = 'form' AND status = 'sent'")
    finally:
        await conn.close()

    assert len(states) == 20 and set(states) <= {"REMOVED", "UNRESOLVED"}
    # Every email went to the simulation's SMTP server on 127.0.0.1, to .test addresses only,
    # and every email notice tada recorded as sent is one that server received.
    assert result.smtp[0] == "127.0.0.1"
    assert result.mail and all(m.peer == "127.0.0.1" for m in result.mail)
    assert all(rcpt.endswith(".test") for m in result.mail for rcpt in m.rcpt_tos)
    assert {m.message_id for m in result.mail} == emailed
    assert forms > 0  # some simulated platforms take reports through their web form

    report = result.report
    assert (report.cases, report.links, report.removed) == (cases, 20, removed)
    assert sum(c.links for c in report.categories) == 20
    assert sum(c.removed for c in report.categories) == removed
    assert sum(p.links for p in report.platforms) == 20
    assert sum(h.links for h in report.hosts) == 20
    assert report.removals >= removed  # one per removal; a repost removed again counts again
    assert any(h.name.endswith(".test") for h in report.hosts), "escalation found hosts by DNS and RDAP"

    # The platforms' answers went by email into the rehearsal's mailbox (pymap), and the worker's
    # inbox reader read every one: each matched to its notice or held in the pen, none in error.
    inbox = result.inbox
    print("\n".join(report.notes), result.replies)
    assert inbox is not None and inbox.received == sum(result.replies.values()) > 0
    assert set(inbox.statuses) <= {"matched", "unmatched"}
    unthreaded = sum(n for what, n in result.replies.items() if "new thread" in what)
    assert inbox.statuses.get("unmatched", 0) == unthreaded  # only the unthreaded ticket mail is unmatched
    assert inbox.statuses.get("matched", 0) == sum(inbox.kinds.values())
    assert any(line.startswith("Replies by email:") for line in report.notes)


def test_default_behaviour_is_the_source_reports():
    assert expected_removal_rate(DEFAULT_BEHAVIOUR) == pytest.approx(0.89, abs=0.001)
    shares = {c.value: b.share for c, b in DEFAULT_BEHAVIOUR.items()}
    assert shares["pornographic_site"] == 42.0 and shares["image_host"] == 5.0
    assert DEFAULT_BEHAVIOUR["pornographic_site"].removal == 0.789
    assert DEFAULT_BEHAVIOUR["image_host"].removal == 1.0


def test_the_plan_is_deterministic_and_follows_the_shares():
    first, again = plan_world(171, 1342, 2023), plan_world(171, 1342, 2023)
    assert first == again
    assert len(first.links) == 1342 and {link.case for link in first.links} == set(range(171))
    porn = [link for link in first.links if first.sites[link.site].category == "pornographic_site"]
    assert 0.38 < len(porn) / 1342 < 0.46
    never = sum(link.fate == Fate.NEVER for link in porn) / len(porn)
    assert 0.15 < never < 0.27  # 21.1 % expected


def test_anything_beyond_loopback_is_refused(settings, tmp_path):
    plan = plan_world(2, 4, 1)
    for site in plan.sites:
        site.port = 8000
    urls = [f"{plan.sites[link.site].base_url}{link.path}" for link in plan.links]
    local = simulation_settings(
        settings, smtp_port=2525, dns_server="127.0.0.1:5353", rdap_bootstrap="http://127.0.0.1:8080/bootstrap/",
        temporal_address="127.0.0.1:7233",
    )  # fmt: skip
    registry = parse_registry(registry_toml(plan.sites, 1.0), "simulated")
    check_local_only(local, registry, urls)  # all local: accepted

    with pytest.raises(SimulationRefused, match="SMTP"):
        check_local_only(local.model_copy(update={"smtp_host": "smtp.example.com"}), registry, urls)
    with pytest.raises(SimulationRefused, match="link"):
        check_local_only(local, registry, [*urls, "https://example.com/clip"])
    with pytest.raises(SimulationRefused, match="RDAP"):
        check_local_only(local.model_copy(update={"rdap_bootstrap": None}), registry, urls)
    outside = registry_toml(plan.sites, 1.0).replace("abuse@tube01.test", "abuse@tube01.com")
    with pytest.raises(SimulationRefused, match="not under the reserved .test"):
        check_local_only(local, parse_registry(outside, "simulated"), urls)
    public_form = registry_toml(plan.sites, 1.0).replace(plan.sites[1].form_url, "https://tube02.example.com/report")
    with pytest.raises(SimulationRefused, match="form"):
        check_local_only(local, parse_registry(public_form, "simulated"), urls)
