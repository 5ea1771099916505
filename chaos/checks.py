"""The chaos run's end: wait until every link has settled, then check the promises (chaos/run.py's
docstring lists them) against what PostgreSQL, Temporal and the SMTP relay hold."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus

from chaos.plan import WAITS_FOR_CONTACT, WAITS_FOR_FILING, LinkPlan, expect, settled
from chaos.world import URL_PATTERN
from tada.domain.models import LinkStatus
from tada.domain.states import TRANSITIONS, LinkState
from tada.workflows.link import LinkWorkflow

if TYPE_CHECKING:
    from chaos.run import Run

S = LinkState
_SEQ = re.compile(r":(\d+):(\d+)(?::[a-z_]+)?$")
#: Every address the chaos run writes to is under .test.
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.test\b")
#: A link whose workflow is still open must say what it waits for: a time ahead, or a person.
PERSON_WAITS = (WAITS_FOR_FILING, WAITS_FOR_CONTACT)


def _seq(key: str) -> tuple[int, int]:
    m = _SEQ.search(key)
    if m is None:
        raise ValueError(f"not a link step key: {key}")
    return int(m.group(1)), int(m.group(2))


def _own_step(event_key: str) -> int | None:
    """The step number of an event the workflow recorded; None for one keyed by a notice's key
    (``…:delayed``: a delivery_delayed the sending activity records, which takes no step)."""
    parts = event_key.split(":")  # link:cycle:seq
    return int(parts[2]) if len(parts) == 3 else None


def waits_for_a_person(next_action: str) -> bool:
    return any(words in next_action for words in PERSON_WAITS) or (
        next_action.startswith("needs ") and "contact" in next_action
    )


async def wait_settled(run: Run, pool: asyncpg.Pool, client: Client, task_queue: str, timeout: float) -> bool:
    """Every link where it must end, and the only open workflows the links that must stay open."""
    deadline = time.monotonic() + timeout
    must_stay_open = sum(1 for p in run.plans.values() if p.withdrawn_at is None and expect(p).open)
    last = ""
    while time.monotonic() < deadline:
        try:
            rows = await pool.fetch("SELECT link_id, state, next_action FROM links")
            done = sum(1 for r in rows if settled(run.plans[r["link_id"]], r["state"], r["next_action"]))
            running = (
                await client.count_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'")
            ).count
            states = Counter(r["state"] for r in rows)
            line = (
                f"settled {done}/{len(rows)}; open workflows {running} (to stay open {must_stay_open}); "
                + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
            )
            if line != last:
                run.say(line)
                last = line
            if done == len(rows) == len(run.plans) and running == must_stay_open:
                return True
        except Exception as err:  # noqa: BLE001 - a server still coming back
            run.say(f"(waiting: {type(err).__name__})")
        await asyncio.sleep(2)
    return False


@dataclass
class Facts:
    """What the stores hold at the end, read once."""

    links: dict[str, Any]
    events: dict[str, list[dict]]  # by link, in step order
    notices: list[Any]
    by_step: dict[tuple[str, int, int], dict] = field(default_factory=dict)  # (link, cycle, seq) -> event
    withdrawn_at: dict[str, float] = field(default_factory=dict)  # link -> epoch s of its transition to WITHDRAWN


def _order(event: dict) -> tuple[int, int]:
    """A link's events in step order; one keyed by a notice (``link:cycle:seq:kind:delayed``) at its notice's step."""
    if event["seq"] is not None:
        return event["cycle"], event["seq"]
    return _seq(event["event_key"].rpartition(":")[0])


async def _read(pool: asyncpg.Pool) -> Facts:
    links = {
        r["link_id"]: r
        for r in await pool.fetch("SELECT link_id, url, state, cycle, next_action, next_action_at FROM links")
    }
    events: dict[str, list[dict]] = defaultdict(list)
    for r in await pool.fetch(
        "SELECT event_key, link_id, cycle, kind, from_state, to_state, detail, occurred_at FROM link_events"
    ):
        e = dict(r)
        e["detail"] = json.loads(e["detail"]) if isinstance(e["detail"], str) else dict(e["detail"])
        e["seq"] = _own_step(e["event_key"])
        events[e["link_id"]].append(e)
    for timeline in events.values():
        timeline.sort(key=_order)
    notices = await pool.fetch(
        "SELECT notice_key, link_id, cycle, kind, channel, recipient, message_id, status FROM notices"
    )
    facts = Facts(links, events, notices)
    for lid, timeline in events.items():
        for e in timeline:
            if e["seq"] is not None:
                facts.by_step[(lid, e["cycle"], e["seq"])] = e
            if e["kind"] == "transition" and e["to_state"] == S.WITHDRAWN:
                facts.withdrawn_at[lid] = e["occurred_at"].timestamp()
    return facts


async def check(
    run: Run,
    pool: asyncpg.Pool,
    client: Client,
    task_queue: str,
    is_settled: bool,
    *,
    strict: bool,
    crash_window: float,
    logs: list[Path],
) -> list[str]:
    failures: list[str] = []

    def result(name: str, problems: list[str]) -> None:
        run.checks[name] = not problems
        for p in problems[:10]:
            failures.append(f"{name}: {p}")
        if len(problems) > 10:
            failures.append(f"{name}: ... and {len(problems) - 10} more")

    result("every link settled in time", [] if is_settled else ["not every link settled before the timeout"])
    facts = await _read(pool)
    run.counts.update(
        links=len(facts.links),
        events=sum(len(t) for t in facts.events.values()),
        notices=len(facts.notices),
        emails=len(run.world.mail),
    )
    result("every link reached the state its platform's behaviour implies", _states(run, facts))
    paths, doubles, gaps = _steps(run, facts)
    result("transitions legal and exactly the expected path per link", paths)
    result("no transition or event recorded twice", doubles)
    result("no step missing (event/notice sequence numbers without gaps)", gaps)
    result("exactly one email per (link, notice step), none missing", _emails(run, facts, strict, crash_window))
    result("nothing delivered after a withdrawal", _withdrawals(run, facts))
    result("every permanent failure recorded and moved its link on", _permanent_failures(run, facts))
    result("no address and no URL in the workers' logs (a 550 repeats the address)", _logs(logs))
    stalls, stuck = await _open_workflows(run, facts, client, task_queue)
    result("no link stalls without a recorded reason", stalls)
    result("no workflow stuck, failed or terminated", stuck)
    return failures


def _states(run: Run, facts: Facts) -> list[str]:
    problems = []
    for lid, plan in run.plans.items():
        row = facts.links.get(lid)
        if row is None:
            problems.append(f"{lid}: started but has no row")
            continue
        if not settled(plan, row["state"], row["next_action"]):
            want = S.WITHDRAWN if plan.withdrawn_at is not None else expect(plan).state
            waiting = expect(plan).waiting if plan.withdrawn_at is None else None
            problems.append(
                f"{lid} ({plan.platform.key}{'' if plan.act else ', left waiting'}): {row['state']} "
                f"({row['next_action']}), expected {want}" + (f" waiting for '{waiting}'" if waiting else "")
            )
    return problems


def _steps(run: Run, facts: Facts) -> tuple[list[str], list[str], list[str]]:
    """Paths of transitions; every step (event, notice row, hand-filed notice) once, none missing."""
    path_problems: list[str] = []
    dup_problems: list[str] = []
    gap_problems: list[str] = []
    run.counts["transitions"] = 0
    for lid, plan in run.plans.items():
        moves = [(S(e["from_state"]), S(e["to_state"])) for e in facts.events[lid] if e["kind"] == "transition"]
        run.counts["transitions"] += len(moves)
        state = S.REPORTED
        for a, b in moves:
            if a != state or b not in TRANSITIONS[a]:
                path_problems.append(f"{lid}: illegal or out-of-order move {a} -> {b} (was in {state})")
                break
            state = b
        want = expect(plan).path
        shown = " ".join(f"{a}->{b}" for a, b in moves)
        if plan.withdrawn_at is not None:  # a prefix of its path, then WITHDRAWN
            if not moves or moves[-1][1] != S.WITHDRAWN or moves[:-1] != want[: len(moves) - 1]:
                path_problems.append(f"{lid} (withdrawn): {shown}; expected a prefix of its path, then WITHDRAWN")
        elif moves != want:
            path_problems.append(
                f"{lid} ({plan.platform.key}): {shown}; expected {' '.join(f'{a}->{b}' for a, b in want)}"
            )
        for x, y in zip(moves, moves[1:]):
            if x == y:
                dup_problems.append(f"{lid}: {x[0]} -> {x[1]} recorded twice in a row")

    seqs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for lid, timeline in facts.events.items():
        for e in timeline:
            if e["seq"] is not None:
                seqs[(lid, e["cycle"])].append(e["seq"])
            # a notice filed by hand has no notices row: its step is the key its event names
            if e["kind"] == "notice" and e["detail"].get("channel") == "manual" and e["detail"].get("notice_key"):
                seqs[(lid, e["cycle"])].append(_seq(e["detail"]["notice_key"])[1])
    for n in facts.notices:
        cycle, seq = _seq(n["notice_key"])
        seqs[(n["link_id"], cycle)].append(seq)
    for (lid, cycle), numbers in seqs.items():
        counted = Counter(numbers)
        twice = sorted(n for n, c in counted.items() if c > 1)
        if twice:
            dup_problems.append(f"{lid} cycle {cycle}: sequence numbers {twice} recorded twice")
        missing = [
            n for n in sorted(set(range(1, max(numbers) + 1)) - set(numbers)) if not _reserved(facts, lid, cycle, n)
        ]
        if missing:
            gap_problems.append(f"{lid} cycle {cycle}: steps {missing} missing from events and notices")
    return path_problems, dup_problems, gap_problems


def _reserved(facts: Facts, lid: str, cycle: int, seq: int) -> bool:
    """A step number taken by a notice that never needed a row: one a withdrawal asked back
    before it was sent (the next step is the move to WITHDRAWN), or one still waiting to be
    filed by hand (the next step is that wait, and nothing came after it)."""
    after = facts.by_step.get((lid, cycle, seq + 1))
    if after is None:
        return False
    if after["kind"] == "transition" and after["to_state"] == S.WITHDRAWN:
        return True
    return (
        after["kind"] == "waiting" and after["detail"].get("for") == "manual filing" and facts.events[lid][-1] is after
    )


def _emails(run: Run, facts: Facts, strict: bool, crash_window: float) -> list[str]:
    url_to_link = {row["url"]: lid for lid, row in facts.links.items()}
    problems: list[str] = []
    mail = run.world.mail
    # A copy the relay took but never answered 250 to (it stopped first) was rightly sent again:
    # what counts is the copies it acknowledged, exactly one per Message-ID.
    ids = Counter(m.message_id for m in mail if m.acknowledged)
    run.counts["copies sent again after the relay stopped before its 250"] = sum(
        1 for m in mail if not m.acknowledged and m.message_id in ids
    )
    run.crash_window = []
    for mid, count in ids.items():
        if count > 1:
            first = min(m.at for m in mail if m.message_id == mid and m.acknowledged)
            if not strict and any(k - crash_window <= first <= k for k in run.kills):
                run.crash_window.append(
                    f"Message-ID {mid} arrived {count} times: resent after a worker was SIGKILLed mid-send"
                )
            else:
                problems.append(f"Message-ID {mid} acknowledged {count} times")

    # every notices row sent, or explained: a permanent failure right after it, a send a withdrawal stopped
    notices_by_mid: dict[str, set[str]] = defaultdict(set)
    sent_rows: dict[str, Counter] = defaultdict(Counter)
    run.counts["notices failed for good"] = run.counts["notices stopped by a withdrawal"] = 0
    for n in facts.notices:
        lid = n["link_id"]
        if n["status"] == "sent":
            sent_rows[lid][n["kind"]] += 1
            if n["channel"] == "email":
                notices_by_mid[n["message_id"]].add(lid)
                if n["message_id"] not in ids:
                    problems.append(
                        f"notice {n['notice_key']} ({n['kind']}) recorded as sent in {n['message_id']}, "
                        "which the relay never acknowledged"
                    )
            continue
        cycle, seq = _seq(n["notice_key"])
        after = facts.by_step.get((lid, cycle, seq + 1))
        if after is not None and after["kind"] == "delivery_failed":
            run.counts["notices failed for good"] += 1
        elif after is not None and after["kind"] == "transition" and after["to_state"] == S.WITHDRAWN:
            run.counts["notices stopped by a withdrawal"] += 1
        else:
            problems.append(f"notice {n['notice_key']} is {n['status']}, and no failure or withdrawal explains it")

    received: dict[str, Counter] = defaultdict(Counter)
    seen: set[str] = set()
    for m in mail:
        listed = {url_to_link.get(u, u) for u in m.urls}
        if not m.acknowledged:  # taken, but the relay stopped before its 250: the sender knows nothing of it
            continue
        if m.message_id in seen:
            continue  # a second copy of the same message: reported above
        seen.add(m.message_id)
        for lid in listed:
            received[lid][m.kind] += 1
        recorded = notices_by_mid.get(m.message_id)
        if recorded is None:
            problems.append(f"email {m.message_id} ({m.kind}) arrived but no notice is recorded under it")
        elif recorded != listed:
            problems.append(f"email {m.message_id} lists {len(listed)} links, {len(recorded)} recorded under it")
    for lid, plan in run.plans.items():
        want = expect(plan).emails
        got = received[lid]
        if plan.withdrawn_at is not None:
            if got - want:
                problems.append(f"{lid} (withdrawn): emails {dict(got)}, more than its path allows ({dict(want)})")
        elif got != want:
            problems.append(f"{lid} ({plan.platform.key}): emails {dict(got)}, expected {dict(want)}")
        if sent_rows[lid] != got:
            problems.append(f"{lid}: notices rows sent {dict(sent_rows[lid])}, emails received {dict(got)}")
    run.counts["expected notices"] = sum(
        sum(expect(p).emails.values()) for p in run.plans.values() if p.withdrawn_at is None
    )
    run.counts["link notices received"] = sum(sum(c.values()) for c in received.values())
    return problems


def _withdrawals(run: Run, facts: Facts) -> list[str]:
    """No message accepted after a link's move to WITHDRAWN lists its URL; none at all lists a
    link withdrawn while the relay held its send (its send began after the relay turned slow)."""
    problems: list[str] = []
    withdrawn = {lid: plan for lid, plan in run.plans.items() if plan.withdrawn_at is not None}
    url_of = {lid: facts.links[lid]["url"] for lid in withdrawn if lid in facts.links}
    for lid in withdrawn:
        if lid not in facts.withdrawn_at:
            problems.append(f"{lid}: withdrawn, but no transition to WITHDRAWN is recorded")
    before = 0
    for m in run.world.mail:
        for lid, url in url_of.items():
            if url not in m.urls:
                continue
            plan, moved = withdrawn[lid], facts.withdrawn_at.get(lid)
            if moved is not None and m.accepted_at >= moved:
                problems.append(
                    f"email {m.message_id} ({m.kind}) accepted {m.accepted_at - moved:.2f}s after {lid} was WITHDRAWN"
                )
            elif plan.burst and plan.withdrawn_at is not None and m.accepted_at >= plan.withdrawn_at:
                problems.append(
                    f"email {m.message_id} lists {lid}, withdrawn while the relay held its send: not stopped"
                )
            else:
                before += 1
    run.counts["withdrawn before"] = before
    kept_burst = {facts.links[lid]["url"] for lid, p in run.plans.items() if p.burst and p.withdrawn_at is None}
    resent = {m.message_id for m in run.world.mail if kept_burst & set(m.urls)}
    run.counts["resent without"] = len(resent)
    slow = run.slow
    if slow is not None:
        problems += slow.problems
        if not slow.mid_send:
            problems.append("no link was withdrawn while its notice was being sent: the scenario did not happen")
        if not slow.cut:
            problems.append("the relay saw no held send cut by its sender: no withdrawal stopped a send in flight")
    return problems


def _permanent_failures(run: Run, facts: Facts) -> list[str]:
    """Each delivery_failed event names its code, channel and domain or host (never the address or
    URL), and a later step moved the link on: a wait for a person, a notice, or a transition."""
    problems: list[str] = []
    failed: dict[str, Counter] = defaultdict(Counter)
    total = 0
    for lid, timeline in facts.events.items():
        for i, e in enumerate(timeline):
            if e["kind"] != "delivery_failed":
                continue
            total += 1
            d = e["detail"]
            failed[lid][d.get("kind", "?")] += 1
            missing = [name for name in ("kind", "channel", "code", "where", "reason") if not d.get(name)]
            if missing:
                problems.append(f"{e['event_key']}: delivery_failed without {', '.join(missing)}")
            where = str(d.get("where", ""))
            if "@" in where or "/" in where:
                problems.append(f"{e['event_key']}: delivery_failed names an address or URL ({where!r})")
            want_code = "403" if d.get("channel") == "form" else "550"
            if d.get("code") != want_code:
                problems.append(f"{e['event_key']}: code {d.get('code')!r}, the chaos relay/form answered {want_code}")
            later = [x for x in timeline[i + 1 :] if x["kind"] in ("waiting", "notice", "transition")]
            if not later:
                problems.append(f"{e['event_key']}: nothing after the permanent failure; the link did not move on")
                continue
            nxt = later[0]
            if nxt["kind"] == "notice" and nxt["detail"].get("channel") != "manual":
                recipient = str(nxt["detail"].get("recipient", ""))
                if recipient.rpartition("@")[2] == where:
                    problems.append(f"{e['event_key']}: the next notice went to the same domain that bounced")
    for lid, plan in run.plans.items():
        if plan.withdrawn_at is None and failed[lid] != expect(plan).failed:
            problems.append(
                f"{lid} ({plan.platform.key}): failures {dict(failed[lid])}, expected {dict(expect(plan).failed)}"
            )
    run.counts["delivery failures"] = total
    return problems


def _logs(logs: list[Path]) -> list[str]:
    problems = []
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        for pattern, what in ((_ADDRESS, "an address"), (URL_PATTERN, "a URL")):
            found = pattern.findall(text)
            if found:
                problems.append(f"{log.name} names {what} {len(found)} time(s)")
    return problems


async def _open_workflows(run: Run, facts: Facts, client: Client, task_queue: str) -> tuple[list[str], list[str]]:
    """Every open link says what it waits for (a time ahead, or a person), in its status, its read
    model and its timeline; the open ones are exactly those that must be; nothing else is open,
    failed or terminated."""
    stalls: list[str] = []
    stuck: list[str] = []
    now = datetime.now(UTC)
    open_links = on_timer = waiting = 0
    async for wf in client.list_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"):
        if wf.workflow_type != "LinkWorkflow":
            stuck.append(f"{wf.id} ({wf.workflow_type}) still running")
            continue
        open_links += 1
        handle = client.get_workflow_handle(wf.id)
        status: LinkStatus = await handle.query(LinkWorkflow.status)
        described = await handle.describe()
        pending = list(described.raw_description.pending_activities)
        plan: LinkPlan | None = run.plans.get(wf.id)
        doing, at = status.next_action, status.next_action_at
        if waits_for_a_person(doing):  # (with a daily reminder: a time ahead too)
            waiting += 1
            last = facts.events[wf.id][-1] if facts.events.get(wf.id) else None
            if last is None or last["kind"] != "waiting":
                stalls.append(f"{wf.id} waits for a person ({doing}) but its timeline's last step is not that wait")
        elif at is not None and at > now:
            on_timer += 1
        else:
            stalls.append(f"{wf.id} open in {status.state} with nothing ahead: '{doing}' at {at}")
        if status.paused:
            stalls.append(f"{wf.id} paused, and nobody paused it")
        row = facts.links.get(wf.id)
        if row is not None and (row["next_action"] != doing or row["next_action_at"] != at):
            stalls.append(
                f"{wf.id}: read model says '{row['next_action']}' at {row['next_action_at']}, the link '{doing}'"
            )
        if plan is None or plan.withdrawn_at is not None or not expect(plan).open or status.state != expect(plan).state:
            key = plan.platform.key if plan else "?"
            stuck.append(f"{wf.id} ({key}) open in {status.state}, next: {doing}")
        if pending:
            stuck.append(f"{wf.id}: {len(pending)} activity(ies) pending, e.g. {pending[0].activity_type.name}")
    async for wf in client.list_workflows(
        f"TaskQueue = '{task_queue}' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed' "
        "AND ExecutionStatus != 'ContinuedAsNew'"
    ):
        stuck.append(f"{wf.id} ({wf.workflow_type}) ended {WorkflowExecutionStatus(wf.status).name}")
    completed = (await client.count_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Completed'")).count
    run.counts["open workflows"] = open_links
    run.counts["open on a timer"] = on_timer
    run.counts["open waiting"] = waiting
    run.counts["waiting for a person"] = waiting
    run.counts["completed workflows (links and notice batches)"] = completed
    return stalls, stuck
