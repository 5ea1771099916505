"""Host escalation end to end on the time-skipping server: the site ignores its notice,
tada finds the web host (DNS, then RDAP) and the registrar, and escalates to each in turn.

The reported page is served by the local web server; DNS and RDAP answer for its host
name, as the outside internet would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tada.app.intake import start_link_row
from tada.app.start_links import start_options
from tada.domain.models import LinkInput, PlatformResponse
from tada.domain.states import Escalation, LinkState, ResponseOutcome
from tada.domain.urls import normalise_url
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import PLATFORM_EMAIL, make_policy, running_worker
from tests.support.escalation_world import start_escalation_dns, start_escalation_rdap

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState


@pytest.fixture(scope="module")
def world():
    dns = start_escalation_dns()
    rdap, httpd = start_escalation_rdap()
    yield dns, rdap
    httpd.shutdown()
    dns.stop()


@pytest.fixture
def lookup_settings(settings, world):
    dns, rdap = world
    return settings.model_copy(
        update={"dns_server": dns.state.address, "rdap_bootstrap": rdap.bootstrap_url, "rdap_allow_http": True}
    )


async def _start(h, url: str, host: str):
    policy = make_policy(escalation=Escalation.HOST, escalation_email=None)
    case_id = await h.open_case()
    normalised = normalise_url(url)
    link_id = await start_link_row(
        h.pool, case_id=case_id, url=normalised, platform=policy.name, category=policy.category.value
    )
    h.started.append(link_id)
    link = LinkInput(case_id=case_id, link_id=link_id, host=host, policy=policy)
    return await h.env.client.start_workflow(LinkWorkflow.run, link, **start_options(link_id, h.settings.task_queue))


def _sent(mailbox) -> list[tuple[str, str]]:
    return [(m["X-Tada-Notice-Kind"], m["To"]) for m in mailbox.messages]


async def test_ignored_notice_goes_to_the_web_host_then_the_registrar(time_env, db_pool, lookup_settings, mailbox, web):
    web.live("/clip")
    async with running_worker(time_env, db_pool, lookup_settings) as h:
        handle = await _start(h, web.url("/clip"), "www.tada-arin.com")
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REJECTED))
        await h.wait(handle, lambda s: s.state == S.ESCALATED and s.escalations_sent == 1)
        assert _sent(mailbox) == [("initial", PLATFORM_EMAIL), ("escalation_host", "abuse@colohost.example")]
        await h.advance(timedelta(days=7, minutes=5))  # still live: the registrar is next
        await h.wait(handle, lambda s: s.escalations_sent == 2 and s.next_action == "re-check after escalation")
        assert _sent(mailbox)[-1] == ("escalation_host", "abuse@registrar.example")

        found = await db_pool.fetch(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'contact_found' ORDER BY event_id",
            handle.id,
        )
        host, registrar = (row["detail"] for row in found)
        assert host["kind"] == "host" and host["email"] == "abuse@colohost.example"
        assert host["address"] == "23.94.10.5" and host["rdap_server"].startswith("http://127.0.0.1")
        assert host["entity_handle"]
        assert registrar["kind"] == "registrar" and registrar["email"] == "abuse@registrar.example"


async def test_cdn_fronted_site_is_escalated_through_the_cdn_abuse_process(
    time_env, db_pool, lookup_settings, mailbox, web
):
    web.live("/cdn")
    async with running_worker(time_env, db_pool, lookup_settings) as h:
        handle = await _start(h, web.url("/cdn"), "www.tada-cdn.com")
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REJECTED))
        status = await h.wait(handle, lambda s: s.next_action.startswith("file escalation_host notice by hand"))
        assert status.state == S.ESCALATED
        assert "abuse.cloudflare.com" in status.next_action
        cdn = await db_pool.fetchrow(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'contact_found'", handle.id
        )
        assert cdn["detail"]["kind"] == "cdn" and cdn["detail"]["source"] == "cdn_ranges"
        assert _sent(mailbox) == [("initial", PLATFORM_EMAIL)]  # nothing emailed to the CDN
