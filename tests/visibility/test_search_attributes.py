"""On the dev server: caseworkers find links by search attributes, which never hold a URL."""

from __future__ import annotations

import asyncio

import pytest

from tada.domain import search
from tada.domain.registry import Registry
from tada.domain.states import LinkState
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import make_policy, running_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _listed(client, query: str, expected: int, timeout: float = 15):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [wf async for wf in client.list_workflows(query)]
        if len(found) == expected or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_links_are_found_by_case_and_state(dev_env, db_pool, settings, mailbox, web):
    web.live("/v1")
    web.gone("/v2")
    async with running_worker(dev_env, db_pool, settings) as h:
        live = await h.start(web.url("/v1"))
        case_id = (await h.status(live)).case_id
        await h.until(live, LinkState.AWAITING_RESPONSE)
        gone = await h.start(web.url("/v2"), make_policy())
        await h.until(gone, LinkState.REMOVED)

        awaiting = await _listed(dev_env.client, f"TadaCaseId = '{case_id}' AND TadaState = 'AWAITING_RESPONSE'", 1)
        assert [wf.id for wf in awaiting] == [live.id]
        removed = await _listed(dev_env.client, f"TadaState = 'REMOVED' AND WorkflowId = '{gone.id}'", 1)
        assert len(removed) == 1

        description = await live.describe()
        attributes = description.typed_search_attributes
        assert attributes.get(search.CATEGORY) == "pornographic_site"
        assert attributes.get(search.PLATFORM) == "platform.test"
        assert attributes.get(search.NEXT_ACTION_AT) is not None
        for pair in attributes:
            assert "127.0.0.1" not in str(pair.value)
        assert "127.0.0.1" not in live.id and "/v1" not in live.id
        await live.signal(LinkWorkflow.withdraw, None)


async def test_a_site_the_registry_does_not_list_is_not_named_in_temporal(dev_env, db_pool, settings, mailbox, web):
    """Beside the case id in Temporal's visibility store, a small site's domain would say where
    that victim's content is: an unlisted site is indexed as "unlisted", its category apart."""
    web.live("/v3")
    policy = Registry(platforms=[], defaults=make_policy().timings).fallback_policy(
        "small-site-of-one-uploader.example"
    )
    assert policy.name == "small-site-of-one-uploader.example" and not policy.listed
    async with running_worker(dev_env, db_pool, settings) as h:
        link = await h.start(web.url("/v3"), policy)
        await h.until(link, LinkState.AWAITING_RESPONSE)
        attributes = (await link.describe()).typed_search_attributes
        assert attributes.get(search.PLATFORM) == search.UNLISTED
        assert attributes.get(search.CATEGORY) == "other"
        assert all("small-site" not in str(pair.value) for pair in attributes)
        assert await db_pool.fetchval("SELECT platform FROM links WHERE link_id = $1", link.id) == policy.name
        await link.signal(LinkWorkflow.withdraw, None)
