"""The per-link take-down workflow: one durable state machine per reported link.

It reads like the diagram in docs/architecture.md. Every side effect (liveness checks,
notices, the audit trail) is an activity; the workflow only decides, waits on
timers and listens to caseworkers. It never sees the URL, only the link id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from tada.domain import search
    from tada.domain.abuse_contacts import HostLookupRequest
    from tada.domain.models import (
        CaseworkerAction,
        EscalationContact,
        LinkCarry,
        LinkEvent,
        LinkInput,
        LinkStatus,
        LivenessRequest,
        LivenessResult,
        NoticeBatch,
        NoticeRequest,
        NoticeSent,
        PlatformResponse,
    )
    from tada.domain.next_action import nothing_more
    from tada.domain.states import (
        CaseworkerActionKind,
        Channel,
        Escalation,
        EventKind,
        LinkState,
        NoticeKind,
        ResponseOutcome,
        Verdict,
        check_move,
    )
    from tada.workflows.activity_contracts import HostLookup, Liveness, NoticeHandOver, Notices, Store
    from tada.workflows.options import CONTACT_REMINDER, HOST_LOOKUP, LIVENESS, NOTICE, STORE

S = LinkState
Act = CaseworkerActionKind
Event = EventKind

#: Workflow versions (``workflow.patched``): histories written before a change replay the old way.
SEND_UNBATCHED_DIRECTLY = "send-unbatched-notices-directly"  # batch_window 0s: no notice-batch workflow


class _Withdrawn(Exception):
    """Raised inside the main loop when a caseworker withdraws the link."""


class _ContinueAsNew(Exception):
    """Raised at a resumable wait when Temporal suggests starting a fresh history."""


@workflow.defn
class LinkWorkflow:
    @workflow.init
    def __init__(self, link: LinkInput) -> None:
        self._link = link
        self._c: LinkCarry = link.carry.model_copy(deep=True) if link.carry else LinkCarry()
        self._inbox: list[CaseworkerAction] = self._c.inbox
        self._sent: dict[str, NoticeSent] = {}

    # --- caseworker signals: each one is queued and handled by the main loop --------

    @workflow.signal
    def respond(self, response: PlatformResponse) -> None:
        self._inbox.append(CaseworkerAction(action=Act.RESPOND, response=response))

    @workflow.signal
    def pause(self) -> None:
        self._inbox.append(CaseworkerAction(action=Act.PAUSE))

    @workflow.signal
    def resume(self) -> None:
        self._inbox.append(CaseworkerAction(action=Act.RESUME))

    @workflow.signal
    def withdraw(self, reason: str | None = None) -> None:
        self._inbox.append(CaseworkerAction(action=Act.WITHDRAW, reason=reason))

    @workflow.signal
    def escalate(self, contact: EscalationContact) -> None:
        self._inbox.append(CaseworkerAction(action=Act.ESCALATE, contact=contact))

    @workflow.signal
    def recheck(self) -> None:
        self._inbox.append(CaseworkerAction(action=Act.RECHECK))

    @workflow.signal
    def reopen(self) -> None:
        self._inbox.append(CaseworkerAction(action=Act.REOPEN))

    @workflow.signal
    def confirm_filed(self) -> None:
        self._inbox.append(CaseworkerAction(action=Act.FILED))

    @workflow.signal
    def notice_sent(self, sent: NoticeSent) -> None:
        """From the notice batch: this link's notice went out."""
        self._sent[sent.notice_key] = sent

    @workflow.query
    def status(self) -> LinkStatus:
        c, policy = self._c, self._link.policy
        contact_known = c.escalation_contact is not None or bool(policy.escalation_email)
        return LinkStatus(
            link_id=self._link.link_id,
            case_id=self._link.case_id,
            state=c.state,
            cycle=c.cycle,
            paused=c.paused,
            next_action=self._c.next_action,
            next_action_at=c.next_action_at,
            notices_sent=c.notices_sent,
            follow_ups_sent=c.follow_ups_sent,
            escalations_sent=c.escalations_sent,
            escalation_contact_known=contact_known,
            platform=policy.name,
            category=policy.category,
        )

    # --- main loop ------------------------------------------------------------------

    @workflow.run
    async def run(self, link: LinkInput) -> LinkStatus:
        self._upsert_search_attributes()
        try:
            while True:
                state = self._c.state
                if state == S.REPORTED:
                    await self._reported()
                elif state in (S.AWAITING_RESPONSE, S.FOLLOW_UP):
                    await self._awaiting_response()
                elif state == S.ESCALATED:
                    await self._escalated()
                elif state == S.UNRESOLVED:
                    await self._unresolved()
                elif state == S.REMOVED:
                    if await self._watch_for_reposts():
                        return self.status()
                    await self._continue_as_new()  # a repost: the new cycle starts fresh
                else:
                    return self.status()
        except _ContinueAsNew:
            await self._continue_as_new()
        except _Withdrawn as withdrawn:
            self._schedule(nothing_more("withdrawn"), None)
            await self._move(S.WITHDRAWN, str(withdrawn) or "withdrawn by caseworker")
            return self.status()

    # --- states ---------------------------------------------------------------------

    async def _reported(self) -> None:
        c, policy = self._c, self._link.policy
        timings = policy.timings
        result = await self._check_liveness("send notice")
        if result.verdict == Verdict.GONE:
            await self._move_removed(f"already gone: {result.reason}")
            return
        kind = NoticeKind.REPOST if c.cycle > 1 else NoticeKind.INITIAL
        if not await self._deliver(kind, policy.channel, policy.email):
            return
        c.follow_ups_sent = 0
        c.escalations_sent = 0
        self._schedule("follow-up check", workflow.now() + timings.follow_up_after)
        await self._move(S.AWAITING_RESPONSE, f"{kind} notice sent")

    async def _awaiting_response(self) -> None:
        c, policy = self._c, self._link.policy
        timings = policy.timings
        while True:
            action = await self._wait()
            if action is not None:
                if await self._on_action(action):
                    return
                continue
            result = await self._check_liveness("follow-up check")
            if result.verdict == Verdict.GONE:
                await self._move_removed(f"gone at follow-up check: {result.reason}")
                return
            if c.follow_ups_sent >= timings.follow_ups:
                await self._after_follow_ups("no response after every follow-up")
                return
            self._schedule("send follow-up", workflow.now())
            await self._move(S.FOLLOW_UP, f"no response, still {result.verdict}")
            if not await self._deliver(NoticeKind.FOLLOW_UP, policy.channel, policy.email):
                return
            c.follow_ups_sent += 1
            self._schedule("follow-up check", workflow.now() + timings.follow_up_after)
            await self._move(S.AWAITING_RESPONSE, f"follow-up {c.follow_ups_sent} sent")

    async def _after_follow_ups(self, reason: str) -> None:
        if self._link.policy.escalation == Escalation.NONE:
            self._schedule_unresolved_recheck()
            await self._move(S.UNRESOLVED, f"{reason}; no escalation route")
        else:
            self._schedule("send escalation", workflow.now())
            await self._move(S.ESCALATED, reason)

    async def _escalated(self) -> None:
        c, policy = self._c, self._link.policy
        timings = policy.timings
        while True:
            if c.checking_escalation:  # an escalation went out: wait, then re-check
                action = await self._wait()
                if action is not None:
                    if await self._on_action(action):
                        return
                    continue
                c.checking_escalation = False
                result = await self._check_liveness("send escalation")
                if result.verdict == Verdict.GONE:
                    await self._move_removed(f"gone after escalation: {result.reason}")
                    return
            if c.escalations_sent >= timings.escalations:
                break
            contact = self._escalation_contact()
            if contact is None and policy.escalation == Escalation.HOST and not c.contacts_looked_up:
                await self._look_up_host_contacts()
                continue
            if contact is None:
                if await self._wait_for_contact():
                    return
                continue
            kind = NoticeKind.ESCALATION_ADMIN if contact.kind == Escalation.ADMIN else NoticeKind.ESCALATION_HOST
            self._schedule("re-check after escalation", workflow.now() + timings.escalate_after)
            if contact.email:
                delivered = await self._deliver(kind, Channel.EMAIL, contact.email)
            else:  # a CDN's abuse form: a caseworker files it
                delivered = await self._deliver(kind, Channel.MANUAL, None, where=contact.instructions)
            if not delivered:
                return
            c.escalations_sent += 1
            c.checking_escalation = True
        self._schedule_unresolved_recheck()
        await self._move(S.UNRESOLVED, "every escalation used up")

    async def _look_up_host_contacts(self) -> None:
        """DNS and RDAP: the CDN or web host's abuse contacts, then the registrar's."""
        c = self._c
        try:
            found = await workflow.execute_activity_method(
                HostLookup.find_abuse_contacts, HostLookupRequest(host=self._link.host), **HOST_LOOKUP
            )
            contacts = found.contacts
        except ActivityError as failure:
            workflow.logger.warning("link %s: host lookup failed: %s", self._link.link_id, failure.cause)
            contacts = []
            await self._record(Event.CONTACT_LOOKUP_FAILED, {"host": self._link.host})
        c.contacts_looked_up = True
        c.found_contacts = contacts
        for contact in contacts:
            detail = {"kind": contact.kind, "source": contact.how.source}
            for name in ("email", "name", "instructions"):
                if getattr(contact, name):
                    detail[name] = getattr(contact, name)
            for name in ("address", "network", "rdap_server", "entity_handle"):
                if getattr(contact.how, name):
                    detail[name] = getattr(contact.how, name)
            await self._record(Event.CONTACT_FOUND, detail)

    async def _wait_for_contact(self) -> bool:
        """No escalation contact known: wait, visibly, for a caseworker to supply one; a
        reminder is logged every day. True when a caseworker action changed the state."""
        escalation = self._link.policy.escalation
        self._schedule(f"needs {escalation} contact (tada link escalate)", workflow.now() + CONTACT_REMINDER)
        await self._record(Event.WAITING, {"for": f"{escalation} contact"})
        while True:
            action = await self._wait()
            if action is not None:
                return await self._on_action(action)
            workflow.logger.warning("link %s still needs an %s contact", self._link.link_id, escalation)
            self._schedule(self._c.next_action, workflow.now() + CONTACT_REMINDER)

    async def _unresolved(self) -> None:
        while True:
            action = await self._wait()
            if action is not None:
                if await self._on_action(action):
                    return
                continue
            self._schedule_unresolved_recheck()
            result = await self._check_liveness(self._c.next_action)
            if result.verdict == Verdict.GONE:
                await self._move_removed(f"gone at unresolved re-check: {result.reason}")
                return

    async def _watch_for_reposts(self) -> bool:
        """REMOVED: re-check on the schedule. True when the schedule is done (workflow completes)."""
        c = self._c
        schedule = self._link.policy.timings.recheck_schedule
        while c.recheck_index < len(schedule):
            action = await self._wait()
            if action is not None:
                if await self._on_action(action):
                    return False
                continue
            c.recheck_index += 1
            self._schedule_repost_check()
            result = await self._check_liveness(self._c.next_action)
            if result.verdict == Verdict.LIVE:
                await self._start_new_cycle(f"live again at re-check {c.recheck_index}")
                return False
        self._schedule(nothing_more("watch ended"), None)
        await self._record(Event.WATCH_ENDED, {"rechecks": str(len(schedule))})
        return True

    # --- caseworker actions -----------------------------------------------------------

    async def _on_action(self, action: CaseworkerAction) -> bool:
        """Apply one caseworker action. True when it changed the state."""
        c, state = self._c, self._c.state
        if action.action == Act.RESPOND and action.response is not None:
            response = action.response
            detail = {"outcome": response.outcome.value}
            if response.note:
                detail["note"] = response.note
            await self._record(Event.RESPONSE, detail)
            if response.outcome == ResponseOutcome.REMOVED and state != S.REMOVED:
                await self._move_removed("platform confirmed removal")
                return True
            if response.outcome == ResponseOutcome.REJECTED and state in (S.AWAITING_RESPONSE, S.FOLLOW_UP):
                await self._after_follow_ups("platform rejected the notice")
                return True
            return False
        if action.action == Act.ESCALATE and action.contact is not None:
            c.escalation_contact = action.contact
            await self._record(Event.CASEWORKER, {"action": Act.ESCALATE.value, "kind": action.contact.kind.value})
            if state in (S.AWAITING_RESPONSE, S.FOLLOW_UP, S.UNRESOLVED):
                if state == S.UNRESOLVED:
                    c.escalations_sent = 0
                c.checking_escalation = False
                self._schedule("send escalation", workflow.now())
                await self._move(S.ESCALATED, "caseworker escalated")
                return True
            return False
        if action.action == Act.RECHECK:
            result = await self._check_liveness(self._c.next_action)
            if result.verdict == Verdict.GONE and state != S.REMOVED:
                await self._move_removed(f"gone at caseworker re-check: {result.reason}")
                return True
            if result.verdict == Verdict.LIVE and state == S.REMOVED:
                await self._start_new_cycle("live again at caseworker re-check")
                return True
            return False
        if action.action == Act.REOPEN and state == S.UNRESOLVED:
            self._schedule("send notice", workflow.now())
            await self._move(S.REPORTED, "reopened by caseworker")
            return True
        await self._record(Event.CASEWORKER, {"action": action.action.value, "ignored": f"not applicable in {state}"})
        return False

    # --- waiting, pausing, withdrawing --------------------------------------------

    async def _wait(self, *, resumable: bool = True) -> CaseworkerAction | None:
        """Wait for the scheduled time. Returns a caseworker action that arrived first, or
        None when the time came. Pause, resume and withdraw are handled here. At a
        resumable wait the carried state says everything, so the history may restart."""
        while True:
            if resumable and workflow.info().is_continue_as_new_suggested():
                raise _ContinueAsNew()
            if self._inbox:
                action = self._inbox.pop(0)
                if action.action == Act.WITHDRAW:
                    raise _Withdrawn(action.reason or "withdrawn by caseworker")
                if action.action == Act.PAUSE:
                    await self._hold_while_paused()
                    continue
                return action
            due = self._c.next_action_at
            if due is None:
                await workflow.wait_condition(lambda: bool(self._inbox))
                continue
            remaining = due - workflow.now()
            if remaining <= timedelta(0):
                return None
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=remaining)
            except TimeoutError:
                return None

    async def _hold_while_paused(self) -> None:
        c = self._c
        c.paused = True
        if c.next_action_at is not None:
            c.paused_remaining = max(c.next_action_at - workflow.now(), timedelta(0))
        resume_action = self._c.next_action
        self._schedule(f"paused (then: {resume_action})", None)
        await self._record(Event.CASEWORKER, {"action": Act.PAUSE.value})

        def resumed_or_withdrawn() -> bool:
            return any(a.action in (Act.RESUME, Act.WITHDRAW) for a in self._inbox)

        await workflow.wait_condition(resumed_or_withdrawn)
        index = next(i for i, a in enumerate(self._inbox) if a.action in (Act.RESUME, Act.WITHDRAW))
        action = self._inbox.pop(index)
        if action.action == Act.WITHDRAW:
            raise _Withdrawn(action.reason or "withdrawn by caseworker")
        c.paused = False
        due = workflow.now() + c.paused_remaining if c.paused_remaining is not None else None
        c.paused_remaining = None
        self._schedule(resume_action, due)
        await self._record(Event.CASEWORKER, {"action": Act.RESUME.value})

    def _raise_if_withdrawn(self) -> None:
        for action in self._inbox:
            if action.action == Act.WITHDRAW:
                self._inbox.remove(action)
                raise _Withdrawn(action.reason or "withdrawn by caseworker")

    # --- side effects, all through activities -------------------------------------

    async def _check_liveness(self, next_action: str) -> LivenessResult:
        self._raise_if_withdrawn()
        result = await workflow.execute_activity_method(
            Liveness.check,
            LivenessRequest(link_id=self._link.link_id, removed_markers=self._link.policy.removed_markers),
            **LIVENESS,
        )
        detail = {"verdict": result.verdict.value, "reason": result.reason}
        if result.http_status is not None:
            detail["http_status"] = str(result.http_status)
        self._c.next_action = next_action
        await self._record(Event.LIVENESS, detail)
        return result

    async def _deliver(
        self, kind: NoticeKind, channel: Channel, recipient: str | None, *, where: str | None = None
    ) -> bool:
        """Send one notice. A manual channel waits for the caseworker to confirm filing.
        False when a caseworker action changed the state meanwhile."""
        self._raise_if_withdrawn()
        c, policy = self._c, self._link.policy
        self._c.seq += 1
        notice_key = f"{self._link.link_id}:{c.cycle}:{c.seq}:{kind.value}"
        if channel == Channel.MANUAL:
            planned = (self._c.next_action, c.next_action_at)
            where = where or policy.manual_instructions or f"{policy.name}'s reporting page"
            self._schedule(f"file {kind.value} notice by hand: {where} (then tada link filed)", None)
            await self._record(Event.WAITING, {"for": "manual filing", "kind": kind.value})
            while True:
                action = await self._wait(resumable=False)
                if action is not None and action.action == Act.FILED:
                    break
                if action is not None and await self._on_action(action):
                    return False
            self._schedule(planned[0], max(planned[1], workflow.now()) if planned[1] else None)
            c.notices_sent += 1
            await self._record(Event.NOTICE, {"kind": kind.value, "channel": "manual", "notice_key": notice_key})
            return True
        request = NoticeRequest(
            notice_key=notice_key,
            link_id=self._link.link_id,
            case_id=self._link.case_id,
            cycle=c.cycle,
            kind=kind,
            channel=channel,
            recipient=recipient,
            form_url=policy.form_url,
            form_fields=policy.form_fields,
            platform=policy.name,
            language=policy.language or self._link.language,
            follow_up_number=c.follow_ups_sent + 1 if kind == NoticeKind.FOLLOW_UP else 0,
            previous_removal_at=c.previous_removal_at,
            batch_window=policy.timings.batch_window,
        )
        if policy.timings.batch_window > timedelta(0) or not workflow.patched(SEND_UNBATCHED_DIRECTLY):
            sent = await self._send_with_batch(request)
        else:  # no batching window: nothing to wait for, the link sends its notice itself
            receipt = await workflow.execute_activity_method(Notices.send_batch, NoticeBatch(items=[request]), **NOTICE)
            sent = NoticeSent(notice_key=notice_key, message_id=receipt.message_id, recipient=receipt.recipient)
        c.notices_sent += 1
        detail = {"kind": kind.value, "channel": channel.value, "notice_key": notice_key}
        if sent.recipient:
            detail["recipient"] = sent.recipient
        if sent.batch_size > 1:
            detail["batch_size"] = str(sent.batch_size)
        await self._record(Event.NOTICE, detail)
        return True

    async def _send_with_batch(self, request: NoticeRequest) -> NoticeSent:
        """Hand the notice to the batch of its case and recipient, and wait until it went out."""
        await workflow.execute_activity_method(NoticeHandOver.hand_over, request, **NOTICE)
        await workflow.wait_condition(
            lambda: request.notice_key in self._sent or any(a.action == Act.WITHDRAW for a in self._inbox)
        )
        self._raise_if_withdrawn()
        return self._sent.pop(request.notice_key)

    async def _record(self, kind: EventKind, detail: dict[str, str], *, moved_from: LinkState | None = None) -> None:
        c = self._c
        c.seq += 1
        event = LinkEvent(
            event_key=f"{self._link.link_id}:{c.cycle}:{c.seq}",
            link_id=self._link.link_id,
            case_id=self._link.case_id,
            cycle=c.cycle,
            kind=kind,
            from_state=moved_from,
            to_state=c.state if moved_from is not None else None,
            detail=detail,
            occurred_at=workflow.now(),
            next_action=self._c.next_action,
            next_action_at=c.next_action_at,
        )
        await workflow.execute_activity_method(Store.record_event, event, **STORE)

    async def _move(self, target: LinkState, reason: str) -> None:
        current = self._c.state
        check_move(current, target)
        self._c.state = target
        await self._record(Event.TRANSITION, {"reason": reason}, moved_from=current)
        self._upsert_search_attributes()
        workflow.logger.info("link %s: %s -> %s", self._link.link_id, current, target)

    async def _move_removed(self, reason: str) -> None:
        c = self._c
        c.previous_removal_at = workflow.now()
        c.recheck_index = 0
        self._schedule_repost_check()
        await self._move(S.REMOVED, reason)

    async def _start_new_cycle(self, reason: str) -> None:
        c = self._c
        self._schedule("send repost notice", workflow.now())
        await self._move(S.REPORTED, reason)
        c.cycle += 1
        c.seq = 0
        c.follow_ups_sent = 0
        c.escalations_sent = 0
        c.recheck_index = 0

    async def _continue_as_new(self) -> NoReturn:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._c.inbox = list(self._inbox)
        carry = self._c.model_copy(deep=True)
        workflow.continue_as_new(self._link.model_copy(update={"carry": carry}))

    # --- schedule and visibility --------------------------------------------------

    def _schedule(self, next_action: str, at: datetime | None) -> None:
        self._c.next_action = next_action
        self._c.next_action_at = at

    def _schedule_unresolved_recheck(self) -> None:
        self._schedule("unresolved re-check", workflow.now() + self._link.policy.timings.unresolved_recheck)

    def _schedule_repost_check(self) -> None:
        c = self._c
        schedule = self._link.policy.timings.recheck_schedule
        if c.recheck_index < len(schedule) and c.previous_removal_at is not None:
            due = max(c.previous_removal_at + schedule[c.recheck_index], workflow.now())
            self._schedule(f"repost check {c.recheck_index + 1} of {len(schedule)}", due)
        else:
            self._schedule(nothing_more("watch ended"), None)

    def _escalation_contact(self) -> EscalationContact | None:
        """A caseworker's contact first, then the registry's, then what the host lookup
        found: each further escalation goes to the next one found (host, then registrar)."""
        c, policy = self._c, self._link.policy
        if c.escalation_contact is not None:
            return c.escalation_contact
        if policy.escalation_email:
            return EscalationContact(email=policy.escalation_email, kind=policy.escalation, source="registry")
        if c.found_contacts:
            found = c.found_contacts[min(c.escalations_sent, len(c.found_contacts) - 1)]
            return EscalationContact(
                email=found.email,
                kind=Escalation.HOST,
                source=found.kind,
                name=found.name,
                instructions=found.instructions,
            )
        return None

    def _upsert_search_attributes(self) -> None:
        c = self._c
        policy = self._link.policy
        workflow.upsert_search_attributes(
            [
                search.CASE_ID.value_set(self._link.case_id),
                search.CATEGORY.value_set(policy.category.value),
                search.PLATFORM.value_set(policy.name),
                search.STATE.value_set(c.state.value),
                search.NEXT_ACTION_AT.value_set(c.next_action_at)
                if c.next_action_at is not None
                else search.NEXT_ACTION_AT.value_unset(),
            ]
        )
