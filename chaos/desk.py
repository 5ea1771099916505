"""The run's caseworker, through the same functions the CLI and the API use (tada/app/caseworker.py).

- The desk: every second it looks at the links it handles (``LinkPlan.act``) and acts on
  what each waits for, as a caseworker reading ``tada status`` would: a platform address
  or form that bounced gets a new contact (``tada link escalate``), a bounced escalation
  contact another one, a notice to file by hand is filed at the platform (the chaos
  platform reads it as a notice received) and confirmed (``tada link filed``).
- The slow relay: the SMTP relay holds every DATA command; links started for it (a batch of
  several in one case, and one alone in its case) are withdrawn while their notice is held
  (``tada link withdraw``, and ``tada case withdraw`` for the lone link's case), with some
  other link whose notice is being sent; once each is WITHDRAWN the relay lets the held
  sessions go on, and stays slow a while longer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError

from chaos.plan import WAITS_FOR_CONTACT, WAITS_FOR_FILING, LinkPlan
from chaos.world import DESK_CONTACT, ESCALATION_EMAIL, PLATFORMS, ChaosSink
from tada.app.caseworker import signal_link, withdraw_case
from tada.domain.models import EscalationContact
from tada.domain.states import Escalation
from tada.workflows.link import LinkWorkflow

if TYPE_CHECKING:
    from chaos.run import Run

#: How long the relay holds a DATA command while links are withdrawn: inside the mailer's
#: 30 s SMTP timeout, and far longer than a withdrawal takes to cancel a send (a second or two).
MID_SEND_HOLD = 20.0
WITHDRAW_REASON = "withdrawn while its notice was being sent (chaos run)"
#: Links (other than $1) whose notice is being sent now: recorded, not sent, and nothing recorded
#: after it (a notice that failed for good is followed by its delivery_failed event).
IN_FLIGHT = """
SELECT DISTINCT n.link_id FROM notices n JOIN links l USING (link_id)
 WHERE n.status = 'pending' AND l.state <> 'WITHDRAWN' AND n.link_id <> ALL($1::text[])
   AND NOT EXISTS (
       SELECT 1 FROM link_events e
        WHERE e.link_id = n.link_id AND e.cycle = n.cycle
          AND e.event_key = n.link_id || ':' || n.cycle || ':' || (split_part(n.notice_key, ':', 3)::int + 1)
   )
"""


@dataclass
class SlowRelay:
    """What the slow-relay fault did, for the summary and the checks."""

    started: int = 0  # links started for it
    withdrawn: list[str] = field(default_factory=list)  # link ids, in the order withdrawn
    mid_send: int = 0  # of them, withdrawn while their notice was claimed and being sent
    held: int = 0  # DATA commands the relay held during the fault
    cut: int = 0  # of them, the sender hung up during the hold (a send cut: nothing came)
    withdrawn_in: float = 0.0  # s from the first withdrawal until every one was WITHDRAWN
    lasted: float = 0.0
    problems: list[str] = field(default_factory=list)


class Desk:
    def __init__(self, run: Run, pool: asyncpg.Pool, client: Client) -> None:
        self.run = run
        self.pool = pool
        self.client = client
        self.acted: set[tuple[str, str]] = set()  # (link, the next action it was acted on for)
        self.filed_at_platform: set[tuple[str, str]] = set()
        self.counts: Counter = Counter()
        self.slow = SlowRelay()

    # -- the desk -------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Until cancelled."""
        last = ""
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._round()
                last = ""
            except Exception as error:  # noqa: BLE001 - PostgreSQL or Temporal down (a fault): the next round
                if type(error).__name__ != last:
                    last = type(error).__name__
                    self.run.say(f"(desk: {last}; trying again)")

    async def _round(self) -> None:
        mine = [
            lid
            for lid, plan in self.run.plans.items()
            if plan.act and plan.platform.needs_caseworker and plan.withdrawn_at is None
        ]
        if not mine:
            return
        rows = await self.pool.fetch("SELECT link_id, next_action FROM links WHERE link_id = ANY($1::text[])", mine)
        for row in rows:
            link_id, doing = row["link_id"], row["next_action"] or ""
            if (link_id, doing) in self.acted:
                continue
            plan = self.run.plans[link_id]
            if WAITS_FOR_CONTACT in doing:
                email = ESCALATION_EMAIL if plan.platform.escalation_bounces else DESK_CONTACT
                contact = EscalationContact(email=email, kind=Escalation.ADMIN, source="caseworker")
                await signal_link(self.pool, self.client, link_id, LinkWorkflow.escalate, [contact])
                self.counts["new contacts given"] += 1
            elif WAITS_FOR_FILING in doing:
                if (link_id, doing) not in self.filed_at_platform:  # the caseworker files it at the platform
                    kind = doing.split()[1]  # "file initial notice by hand: ..."
                    self.run.world.notice(kind, [plan.url])
                    self.filed_at_platform.add((link_id, doing))
                await signal_link(self.pool, self.client, link_id, LinkWorkflow.confirm_filed)
                self.counts["notices filed by hand"] += 1
            else:
                continue
            self.acted.add((link_id, doing))

    # -- the slow relay -------------------------------------------------------------------------

    async def slow_relay(
        self,
        sink: ChaosSink,
        start: Callable[[LinkPlan], Awaitable[str]],
        new_case: Callable[[str], Awaitable[str]],
        *,
        burst: int,
        others: int,
        slow_for: float,
        slow_hold: float,
    ) -> SlowRelay:
        report, t0 = self.slow, time.monotonic()
        sink.slow_down(MID_SEND_HOLD)
        held_before, cut_before = sink.held, sink.cut
        platform = PLATFORMS["notice"]
        burst_case, lone_case = await new_case("CHAOS-BURST"), await new_case("CHAOS-LONE")
        base = self.run.next_item()
        plans = [
            LinkPlan(platform, self.run.add_page(platform, base + i), burst_case, burst=True) for i in range(burst)
        ]
        lone = LinkPlan(platform, self.run.add_page(platform, base + burst), lone_case, burst=True)
        ids = list(await asyncio.gather(*(start(p) for p in [*plans, lone])))
        report.started = len(ids)
        self.run.say(f"slow relay: {len(ids)} links started to be withdrawn mid-send ({burst} in one case, 1 alone)")

        # until each of their notices is being sent (claimed), and the relay holds their sessions
        deadline = time.monotonic() + 30.0
        sending: list = []
        while time.monotonic() < deadline:
            sending = await self.pool.fetch(
                "SELECT link_id, message_id FROM notices WHERE link_id = ANY($1::text[]) AND status = 'pending'", ids
            )
            if len(sending) == len(ids):
                break
            await asyncio.sleep(0.1)
        sessions = len({r["message_id"] for r in sending})
        while time.monotonic() < deadline and sink.holding < sessions:
            await asyncio.sleep(0.05)
        in_flight = {r["link_id"] for r in sending}

        # withdraw every other link of the batch, the lone link's whole case, and a few others in flight
        chosen = ids[1:burst:2]
        candidates = await self.pool.fetch(IN_FLIGHT, ids)
        extra = [
            r["link_id"]
            for r in candidates
            if r["link_id"] in self.run.plans and self.run.plans[r["link_id"]].withdrawn_at is None
        ][:others]
        first = time.monotonic()
        for link_id in [*chosen, *extra]:
            self._mark(link_id, mid_send=link_id in in_flight or link_id in extra)
            await _patiently(
                partial(signal_link, self.pool, self.client, link_id, LinkWorkflow.withdraw, [WITHDRAW_REASON])
            )
        self._mark(ids[-1], mid_send=ids[-1] in in_flight)
        await _patiently(
            partial(withdraw_case, self.pool, self.client, lone_case, "case withdrawn mid-send (chaos run)")
        )
        report.withdrawn = [*chosen, *extra, ids[-1]]
        report.mid_send = sum(1 for lid in report.withdrawn if self.run.plans[lid].mid_send)
        self.run.say(
            f"slow relay: {len(report.withdrawn)} links withdrawn, {report.mid_send} while their notice was "
            f"being sent ({sink.holding} DATA held)"
        )

        # until each is WITHDRAWN (its send stopped), then let the held sessions go on
        until = t0 + MID_SEND_HOLD - 1.0
        while time.monotonic() < until:
            states = await self.pool.fetch("SELECT state FROM links WHERE link_id = ANY($1::text[])", report.withdrawn)
            if len(states) == len(report.withdrawn) and all(r["state"] == "WITHDRAWN" for r in states):
                break
            await asyncio.sleep(0.1)
        else:
            report.problems.append(f"not every withdrawn link was WITHDRAWN within {MID_SEND_HOLD:g}s of the hold")
        report.withdrawn_in = time.monotonic() - first
        sink.slow_down(slow_hold)  # the relay stays slow a while: each DATA held slow_hold seconds
        await asyncio.sleep(max(0.0, t0 + slow_for - time.monotonic()))
        sink.speed_up()
        report.held, report.cut = sink.held - held_before, sink.cut - cut_before
        report.lasted = time.monotonic() - t0
        return report

    def _mark(self, link_id: str, *, mid_send: bool) -> None:
        """Withdrawn now (before the signal goes: the checks compare with this time)."""
        plan = self.run.plans[link_id]
        plan.withdrawn_at = time.time()
        plan.mid_send = mid_send


async def _patiently(call: Callable[[], Awaitable[object]], attempts: int = 20) -> None:
    """A caseworker's action, tried again for a few seconds should a server not answer."""
    for attempt in range(attempts):
        try:
            await call()
            return
        except (OSError, asyncpg.PostgresError, RPCError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
