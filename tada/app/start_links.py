"""The one seam that starts link workflows: intake, reposts, the rehearsal, the chaos run
and the benchmarks all start a link here.

What a start is stays fixed here, because open workflows and recorded histories depend
on it: the workflow id is the link id, the input is a ``LinkInput`` built from the
registry's policy and the link's row, and a link id is never run twice at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from tada.domain.models import LinkCarry, LinkInput, PlatformPolicy
from tada.domain.urls import host_of
from tada.workflows.link import LinkWorkflow

START_CONCURRENCY = 32


def start_options(link_id: str, task_queue: str, *, again: bool = False) -> dict:
    """How a link's workflow is started. No search attributes: the workflow sets all five in its
    first task (and again at every change), so a start that carried them wrote them twice, and
    on the dev server any search attribute on a start costs about a tenth of its start rate.
    ``again``: a link whose workflow has closed starts once more under the same id (a repost)."""
    return {
        "id": link_id,
        "task_queue": task_queue,
        "id_reuse_policy": WorkflowIDReusePolicy.ALLOW_DUPLICATE if again else WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "id_conflict_policy": WorkflowIDConflictPolicy.FAIL,
    }


def link_input(
    *, case_id: str, link_id: str, url: str, policy: PlatformPolicy,
    language: str = "en", host: str | None = None, carry: LinkCarry | None = None, victim_made_image: bool = False,
) -> LinkInput:  # fmt: skip
    """The workflow's input for a link row: its web host (``url``'s, unless given) and never the URL."""
    return LinkInput(
        case_id=case_id,
        link_id=link_id,
        host=host_of(url) if host is None else host,
        language=language,
        policy=policy,
        carry=carry,
        victim_made_image=victim_made_image,
    )


async def start_link(client: Client, link: LinkInput, task_queue: str, *, again: bool = False) -> bool:
    """Start the link's workflow; False when it already runs (or ran): the same link again."""
    try:
        await client.start_workflow(LinkWorkflow.run, link, **start_options(link.link_id, task_queue, again=again))
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_links(
    client: Client,
    links: Iterable[LinkInput],
    task_queue: str,
    *,
    on_each: Callable[[LinkInput, bool], None] | None = None,
) -> int:
    """Start every link's workflow, ``START_CONCURRENCY`` at a time; how many started now.
    ``on_each(link, started)`` after each start."""
    gate = asyncio.Semaphore(START_CONCURRENCY)
    started = 0

    async def one(link: LinkInput) -> None:
        nonlocal started
        async with gate:
            now = await start_link(client, link, task_queue)
        started += now
        if on_each:
            on_each(link, now)

    await asyncio.gather(*(one(link) for link in links))
    return started
