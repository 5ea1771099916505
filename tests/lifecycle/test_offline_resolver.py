"""On a network whose resolver answers "no such name" for everything (offline machines, office
and family filters), a real-looking link is not REMOVED: its notice goes out. Before, every
such link was REMOVED within a second with no notice sent. The worker asks a real DNS server
on 127.0.0.1 that knows no name at all (TADA_DNS_SERVER), as this machine's own resolver does."""

from __future__ import annotations

import pytest

from tada.domain.states import LinkState
from tests.lifecycle.harness import PLATFORM_EMAIL, make_policy, running_worker
from tests.support.dns import start_dns_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def nothing_resolves():
    server = start_dns_server()  # no records: NXDOMAIN for every name, canaries included
    yield server.state
    server.stop()


async def test_a_link_on_a_resolver_that_knows_no_name_gets_its_notice(
    time_env, db_pool, settings, mailbox, web, nothing_resolves
):
    offline = settings.model_copy(update={"dns_server": nothing_resolves.address, "dns_canaries": "x.com,t.me"})
    policy = make_policy()
    policy.timings.confirm_gone_after = policy.timings.follow_up_after  # as in production: on
    async with running_worker(time_env, db_pool, offline) as h:
        handle = await h.start(f"http://video-site.test:{web.port}/watch/1", policy)
        status = await h.until(handle, LinkState.AWAITING_RESPONSE)
    assert status.notices_sent == 1
    assert [m["To"] for m in mailbox.messages] == [PLATFORM_EMAIL]
    reason = await db_pool.fetchval(
        "SELECT detail->>'reason' FROM link_events WHERE link_id = $1 AND kind = 'liveness'", handle.id
    )
    assert "cannot resolve canaries" in reason
    asked = {name for name, _ in nothing_resolves.queries}
    assert {"video-site.test", "x.com", "t.me"} <= asked
