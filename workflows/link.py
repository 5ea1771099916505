"""The per-link take-down workflow: one durable state machine per reported link.

It reads like the diagram in docs/architecture.md. Every side effect (liveness checks,
notices, the audit trail) is an activity; the workflow only decides, waits on
timers and listens to caseworkers. It never sees the URL, only the link id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from tada.domain import search
    from tada.domain.abuse_contacts import HostLookupRequest
    from tada.domain.delivery import DeliveryFailure
    from tada.domain.durations import format_duration
    from tada.domain.laws import LawTerms, clock_law
    from tada.domain.models import (
        CaseUpdate,
        CaseworkerAction,
        EscalationContact,
        LegalClock,
        LinkCarry,
        LinkEvent,
        LinkInput,
        LinkStatus,
        LivenessRequest,
        LivenessResult,
        NoticeBatch,
        NoticeFailed,
        NoticeRequest,
        NoticeSent,
        PlatformResponse,
    )
    from tada.domain.next_action import nothing_more
    from tada.domain.recipients import recipient_domain
    from tada.domain.replies import PlatformReply, ReplyKind, ReplyStep, reply_step
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
    from tada.workflows.delivery_outcome import INCOMPLETE_NOTICE, permanent_failure
    from tada.workflows.options import CONTACT_REMINDER, HAND_OVER, HOST_LOOKUP, LIVENESS, NOTICE, STORE

S = LinkState
Act = CaseworkerActionKind
Event = EventKind

REPLIES_REMEMBERED = 500  # reply ids a link keeps, to hear each once (a few KB in its history)

#: Workflow versions (``workflow.patched``): histories written before a change replay the old way.
SEND_UNBATCHED_DIRECTLY = "send-unbatched-notices-directly"  # batch_window 0s: no notice-batch workflow
CONFIRM_GONE = "confirm-gone-with-a-second-check"  # a "gone" moves to REMOVED only when a later check agrees
STOP_SEND_IN_FLIGHT = "stop-a-send-in-flight"  # a withdrawal or pause cancels a notice that is being sent
#: An event is written by a local activity: in the workflow task that made it, with one marker in the
#: history instead of an activity's three events and the workflow task that follows them.
RECORD_EVENTS_LOCALLY = "record-events-as-local-activities"

#: How long a link waits for its notice batch to say whether a notice it asked back had gone out.
DROP_PATIENCE = timedelta(minutes=5)

#: What one delivery came to (``_deliver``): out, the link moved meanwhile, or failed for good.
SENT, MOVED, FAILED = "sent", "moved", "failed"

#: Notices to the platform itself: they cite every law that binds it, and start or meet its clock.
TO_THE_PLATFORM = (NoticeKind.INITIAL, NoticeKind.FOLLOW_UP, NoticeKind.REPOST)
#: How late a deadline's own check may run (timers fire a moment after their time) and still find it met.
CHECK_SLACK = timedelta(minutes=5)
#: What a link does while the platform waits on the victim and its legal clock is paused.
CLOCK_PAUSED = "platform needs information: answer it (tada link reply); the legal clock is paused"


class _Withdrawn(Exception):
    """Raised inside the main loop when a caseworker withdraws the link."""


class _ContinueAsNew(Exception):
    """Raised at a resumable wait when Temporal suggests starting a fresh history."""


class _StateChanged(Exception):
    """Raised when a caseworker action moved the link while it waited inside a step (for
    the check that confirms a removal): the main loop carries on from the new state."""


@workflow.defn
class LinkWorkflow:
    @workflow.init
    def __init__(self, link: LinkInput) -> None:
        self._link = link
        self._c: LinkCarry = link.carry.model_copy(deep=True) if link.carry else LinkCarry()
        self._inbox: list[CaseworkerAction] = self._c.inbox
        self._sent: dict[str, NoticeSent] = {}
        self._failed: dict[str, DeliveryFailure] = {}
        self._dropped: set[str] = set()
        if self._c.victim_made_image is None:  # a new link: the case's record at its start
            self._c.victim_made_image = link.victim_made_image

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
    def answered(self) -> None:
        """A caseworker answered the platform's request for information: a paused legal clock runs again."""
        self._inbox.append(CaseworkerAction(action=Act.ANSWERED))

    @workflow.signal
    def case_updated(self, update: CaseUpdate) -> None:
        """The case's facts changed (its authorisation recorded): a notice waiting for them goes out."""
        self._inbox.append(CaseworkerAction(action=Act.CASE_UPDATED, update=update))

    @workflow.signal
    def reply_received(self, reply: PlatformReply) -> None:
        """From the inbox: a platform's reply to this link's notice, classified (never its words)."""
        self._inbox.append(CaseworkerAction(action=Act.REPLY, reply=reply))

    @workflow.signal
    def notice_sent(self, sent: NoticeSent) -> None:
        """From the notice batch: this link's notice went out."""
        self._sent[sent.notice_key] = sent

    @workflow.signal
    def notice_failed(self, failed: NoticeFailed) -> None:
        """From the notice batch: this link's notice can never go out as it is."""
        self._failed[failed.notice_key] = failed.failure

    @workflow.signal
    def notice_dropped(self, notice_key: str) -> None:
        """From the notice batch: the notice this link asked back did not go out."""
        self._dropped.add(notice_key)

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
            clock=c.clock,
        )

    # --- main loop ------------------------------------------------------------------

    @workflow.run
    async def run(self, link: LinkInput) -> LinkStatus:
        self._upsert_search_attributes()
        try:
            while True:
                state = self._c.state
                try:
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
                except _StateChanged:
                    continue
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
        if await self._deliver_to_platform(kind) != SENT:
            return
        c.follow_ups_sent = 0
        c.escalations_sent = 0
        c.regulator_filed = False
        if not await self._start_clock():
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
            if c.next_action == CLOCK_PAUSED:  # the daily look while the platform waits on the victim
                result = await self._check_liveness(CLOCK_PAUSED)
                if result.verdict == Verdict.GONE:
                    await self._move_removed(f"gone while the platform waited for information: {result.reason}")
                    return
                workflow.logger.warning("link %s: the platform waits for an answer", self._link.link_id)
                self._schedule(CLOCK_PAUSED, workflow.now() + CONTACT_REMINDER)
                continue
            result = await self._check_liveness("follow-up check")
            if result.verdict == Verdict.GONE:
                await self._move_removed(f"gone at follow-up check: {result.reason}")
                return
            await self._clock_missed_if_due(result.verdict)
            if c.follow_ups_sent >= timings.follow_ups:
                await self._after_follow_ups("no response after every follow-up")
                return
            self._schedule("send follow-up", workflow.now())
            await self._move(S.FOLLOW_UP, f"no response, still {result.verdict}")
            if await self._deliver_to_platform(NoticeKind.FOLLOW_UP) != SENT:
                return
            c.follow_ups_sent += 1
            self._schedule("follow-up check", workflow.now() + timings.follow_up_after)
            await self._move(S.AWAITING_RESPONSE, f"follow-up {c.follow_ups_sent} sent")

    async def _after_follow_ups(self, reason: str) -> None:
        if self._link.policy.escalation == Escalation.NONE:
            if await self._complain_to_regulator():
                return
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
                await self._clock_missed_if_due(result.verdict)
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
            if delivered == FAILED:  # that contact bounced: the next one found, or a caseworker's
                continue
            if delivered == MOVED:
                return
            c.escalations_sent += 1
            c.checking_escalation = True
        if await self._complain_to_regulator():
            return
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
        c, policy = self._c, self._link.policy
        platform = {policy.email, policy.form_url, c.platform_email}
        bounced = any(address not in platform for address in c.bounced)
        needs = f"{escalation} contact bounced" if bounced else f"needs {escalation} contact"
        self._schedule(f"{needs} (tada link escalate)", workflow.now() + CONTACT_REMINDER)
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
            await self._clock_missed_if_due(result.verdict)
            if await self._complain_to_regulator():  # the deadline passed after the ladder ended
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
            result = await self._check_liveness(self._c.next_action, confirm=False)  # only "live" matters here
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
        if action.action == Act.REPLY and action.reply is not None:
            return await self._on_reply(action.reply)
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
            if response.outcome == ResponseOutcome.NEEDS_INFO:
                await self._pause_clock()
            return False
        if action.action == Act.ANSWERED:
            await self._record(Event.CASEWORKER, {"action": Act.ANSWERED.value})
            await self._resume_clock()
            return False
        if action.action == Act.CASE_UPDATED:  # nothing waits for it here: remembered for the next notice
            if action.update is not None:
                c.victim_made_image = action.update.victim_made_image
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
            result = await self._check_liveness(self._c.next_action, confirm=state != S.REMOVED)
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

    async def _on_reply(self, reply: PlatformReply) -> bool:
        """A platform's emailed reply (tada/domain/replies.py says what each kind does). True
        when the state changed."""
        c, state = self._c, self._c.state
        if reply.reply_id in c.replies_heard:  # the inbox told us again (its reader restarted mid-way)
            return False
        c.replies_heard = [*c.replies_heard, reply.reply_id][-REPLIES_REMEMBERED:]
        step = reply_step(reply, state)
        detail = {
            "kind": reply.kind.value,
            "confidence": "high" if reply.confident else "low",
            "rule": reply.rule,
            "matched_by": reply.matched_by,
            "reply": str(reply.reply_id),
            "received_at": reply.received_at.isoformat(),
        }
        if step == ReplyStep.REVIEW:
            detail["review"] = "caseworker"
        await self._record(Event.REPLY, detail)
        if step == ReplyStep.CHECK:
            result = await self._check_liveness(c.next_action, confirm=True)
            if result.verdict == Verdict.GONE:
                await self._move_removed(f"platform said removed, and the page is gone: {result.reason}")
                return True
            waiting = f"caseworker: platform says removed, page still {result.verdict}"
            await self._record(Event.WAITING, {"for": waiting})
            return False
        if step == ReplyStep.ESCALATE:
            await self._after_follow_ups("platform rejected the notice (its reply)")
            return True
        if step == ReplyStep.BOUNCED and reply.bounced:
            return await self._reply_bounced(reply.bounced)
        if reply.kind == ReplyKind.NEEDS_INFO and reply.confident:  # the platform waits on the victim
            await self._pause_clock()
        return False

    async def _reply_bounced(self, address: str) -> bool:
        """A notice the relay had taken came back undelivered from ``address``: as a delivery
        failure for good. The escalation goes to the next contact; the platform, by its other
        route (the follow-up path skips a bounced address). True when the state must be re-entered."""
        c, policy = self._c, self._link.policy
        if address in c.bounced:
            return False
        current = self._escalation_contact()
        c.bounced.append(address)
        await self._record(
            Event.DELIVERY_FAILED,
            {"kind": "reply", "channel": Channel.EMAIL.value, "code": "bounce", "where": recipient_domain(address),
             "reason": "the recipient's mail server sent the notice back"},
        )  # fmt: skip
        if c.state == S.ESCALATED and c.checking_escalation and current is not None and current.email == address:
            c.escalations_sent = max(0, c.escalations_sent - 1)  # it never reached anyone
            c.checking_escalation = False
            return True
        if c.state in (S.AWAITING_RESPONSE, S.FOLLOW_UP) and address in (policy.email, c.platform_email):
            self._schedule("follow-up check", workflow.now())
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

    async def _check_liveness(self, next_action: str, *, confirm: bool = True) -> LivenessResult:
        """Is the content still up? With ``confirm``, a "gone" counts only when a second check,
        ``confirm_gone_after`` later and asked as a visitor would ask, agrees; otherwise the
        verdict is "unknown" and the link goes on as for any live link. Both are in the timeline."""
        self._raise_if_withdrawn()
        result = await self._probe(confirming=False)
        after = self._link.policy.timings.confirm_gone_after
        if not confirm or result.verdict != Verdict.GONE or after <= timedelta(0) or not workflow.patched(CONFIRM_GONE):
            self._c.next_action = next_action
            await self._record_liveness(result)
            return result
        planned_at = self._c.next_action_at
        self._schedule("confirm removal (second check)", workflow.now() + after)
        await self._record_liveness(result)
        await self._wait_to_confirm()
        second = await self._probe(confirming=True)
        self._schedule(next_action, planned_at)
        await self._record_liveness(second, confirming=True)
        if second.verdict == Verdict.GONE:
            reason = f"{result.reason}, confirmed {format_duration(after)} later"
            return second.model_copy(update={"reason": reason})
        reason = f"not confirmed: {second.verdict} {format_duration(after)} later ({second.reason})"
        return LivenessResult(verdict=Verdict.UNKNOWN, reason=reason, http_status=second.http_status)

    async def _wait_to_confirm(self) -> None:
        """Until the confirming check is due. A caseworker's re-check asks for it at once; an
        action that moves the link ends the confirmation (the main loop goes on from there)."""
        while True:
            action = await self._wait(resumable=False)
            if action is None or action.action == Act.RECHECK:
                return
            if await self._on_action(action):
                raise _StateChanged()

    async def _probe(self, *, confirming: bool) -> LivenessResult:
        request = LivenessRequest(
            link_id=self._link.link_id, removed_markers=self._link.policy.removed_markers, confirming=confirming
        )
        try:
            return await workflow.execute_activity_method(Liveness.check, request, **LIVENESS)
        except ActivityError as error:  # tada's own fault, retried a few times already
            cause = error.cause
            kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
            workflow.logger.warning("link %s: the liveness check failed: %s", self._link.link_id, kind)
            return LivenessResult(
                verdict=Verdict.UNKNOWN, reason=f"the check itself failed ({kind}): treated as unknown"
            )

    async def _record_liveness(self, result: LivenessResult, *, confirming: bool = False) -> None:
        detail = {"verdict": result.verdict.value, "reason": result.reason}
        if result.http_status is not None:
            detail["http_status"] = str(result.http_status)
        if confirming:
            detail["check"] = "confirming"
        await self._record(Event.LIVENESS, detail)

    async def _deliver_to_platform(self, kind: NoticeKind) -> str:
        """A notice to the platform itself. When its address or form fails for good, the
        registry's manual route takes over where there is one; otherwise the link waits, visibly,
        for a caseworker ("contact bounced"): a new contact, or the notice filed another way."""
        c, policy = self._c, self._link.policy
        channel, email = (Channel.EMAIL, c.platform_email) if c.platform_email else (policy.channel, policy.email)
        if self._route(kind) and policy.copyright_email and policy.copyright_email not in c.bounced:
            channel, email = Channel.EMAIL, policy.copyright_email  # the platform's copyright agent
        if (email or policy.form_url or "") not in c.bounced or channel == Channel.MANUAL:
            outcome = await self._deliver(kind, channel, email)
            if outcome != FAILED:
                return outcome
        if policy.manual_instructions:
            return await self._deliver(kind, Channel.MANUAL, None, where=policy.manual_instructions)
        return await self._wait_for_new_platform_contact(kind)

    async def _wait_for_new_platform_contact(self, kind: NoticeKind) -> str:
        """The platform's address bounced and the registry knows no other route."""
        c = self._c
        planned = (c.next_action, c.next_action_at)
        doing = "contact bounced: give a new contact (tada link escalate) or file it another way (tada link filed)"
        self._schedule(doing, workflow.now() + CONTACT_REMINDER)
        await self._record(Event.WAITING, {"for": "new platform contact", "kind": kind.value})
        while True:
            action = await self._wait(resumable=False)
            if action is None:  # the daily reminder
                workflow.logger.warning("link %s: the platform's contact bounced", self._link.link_id)
                self._schedule(doing, workflow.now() + CONTACT_REMINDER)
                continue
            if action.action == Act.FILED:
                self._schedule(*planned)
                c.notices_sent += 1
                detail = {"kind": kind.value, "channel": "manual"}
                await self._record(Event.NOTICE, detail | self._cited_detail(kind, self._notice_facts(kind)))
                return SENT
            if action.action == Act.ESCALATE and action.contact and action.contact.email:  # the platform's, now
                await self._record(Event.CASEWORKER, {"action": Act.ESCALATE.value, "kind": "platform"})
                self._schedule(*planned)
                c.platform_email = action.contact.email
                outcome = await self._deliver(kind, Channel.EMAIL, action.contact.email)
                if outcome != FAILED:
                    return outcome
                self._schedule(doing, workflow.now() + CONTACT_REMINDER)
                continue
            if await self._on_action(action):
                return MOVED

    async def _deliver(
        self, kind: NoticeKind, channel: Channel, recipient: str | None, *, where: str | None = None
    ) -> str:
        """Send one notice: SENT, MOVED (a caseworker action changed the state meanwhile) or
        FAILED (it can never go out to that recipient: recorded, and the recipient remembered
        as bounced). A manual channel waits for the caseworker to confirm filing."""
        self._raise_if_withdrawn()
        c, policy = self._c, self._link.policy
        self._c.seq += 1
        notice_key = f"{self._link.link_id}:{c.cycle}:{c.seq}:{kind.value}"
        cited = self._notice_facts(kind)
        if channel == Channel.MANUAL:
            planned = (self._c.next_action, c.next_action_at)
            while cited["laws"] or cited["route"]:  # a law's elements the case must supply, checked first
                refused = await workflow.execute_activity_method(
                    Notices.check_notice, self._notice_request(kind, channel, None, notice_key, cited), **STORE
                )
                if refused is None:
                    break
                failure = DeliveryFailure(channel=channel, code=INCOMPLETE_NOTICE, where="the case", reason=refused)
                if await self._wait_for_case_details(kind, failure):
                    return MOVED
                cited = self._notice_facts(kind)
            where = where or policy.manual_instructions or f"{policy.name}'s reporting page"
            doing = f"file {kind.value} notice by hand: {where} (then tada link filed)"
            self._schedule(doing, None)
            waiting = {"for": "manual filing", "kind": kind.value}
            await self._record(Event.WAITING, waiting | self._cited_detail(kind, cited))
            while True:
                action = await self._wait(resumable=False)
                if action is None:  # no timer belongs to this wait: nothing is due until it is filed
                    self._schedule(doing, None)
                    continue
                if action.action == Act.FILED:
                    break
                if await self._on_action(action):
                    return MOVED
            self._schedule(planned[0], max(planned[1], workflow.now()) if planned[1] else None)
            c.notices_sent += 1
            detail = {"kind": kind.value, "channel": "manual", "notice_key": notice_key}
            await self._record(Event.NOTICE, detail | self._cited_detail(kind, cited))
            return SENT
        while True:
            request = self._notice_request(kind, channel, recipient, notice_key, cited)
            outcome = await self._send_through_pauses(request)
            if not (isinstance(outcome, DeliveryFailure) and outcome.code == INCOMPLETE_NOTICE):
                break
            # The case lacks what a law the notice cites requires (its authorisation): nothing went
            # out; the link waits, visibly, until the case has it, then writes the notice again.
            if await self._wait_for_case_details(kind, outcome):
                return MOVED
            cited = self._notice_facts(kind)
            self._c.seq += 1
            notice_key = f"{self._link.link_id}:{c.cycle}:{c.seq}:{kind.value}"
        if isinstance(outcome, DeliveryFailure):
            c.bounced.append(recipient or policy.form_url or "")
            detail = {"kind": kind.value, **outcome.model_dump(mode="json")}
            await self._record(Event.DELIVERY_FAILED, detail)
            workflow.logger.warning("link %s: %s notice failed for good at %s", self._link.link_id, kind, outcome.where)
            return FAILED
        c.notices_sent += 1
        detail = {"kind": kind.value, "channel": channel.value, "notice_key": notice_key}
        if outcome.recipient:
            detail["recipient"] = outcome.recipient
        if outcome.batch_size > 1:
            detail["batch_size"] = str(outcome.batch_size)
        await self._record(Event.NOTICE, detail | self._cited_detail(kind, cited))
        return SENT

    def _notice_request(
        self, kind: NoticeKind, channel: Channel, recipient: str | None, notice_key: str, cited: dict
    ) -> NoticeRequest:
        c, policy = self._c, self._link.policy
        return NoticeRequest(
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
            **cited,
        )

    async def _send_through_pauses(self, request: NoticeRequest) -> NoticeSent | DeliveryFailure:
        while True:
            outcome = await self._send(request)
            if outcome is not None:
                return outcome
            # Asked back before it went out: the withdrawal ends the link here, a pause holds
            # it, and after the resume the same notice is sent again.
            self._raise_if_withdrawn()
            pause = next(a for a in self._inbox if a.action == Act.PAUSE)
            self._inbox.remove(pause)
            await self._hold_while_paused()

    async def _wait_for_case_details(self, kind: NoticeKind, failure: DeliveryFailure) -> bool:
        """A notice the case cannot supply a law's elements for: recorded (its reason names the
        element and how to supply it), then a wait for the case to change (``case_updated``) or a
        caseworker's re-check, with a daily reminder. True when an action moved the link."""
        c = self._c
        planned = (c.next_action, c.next_action_at)
        doing = f"notice not sent: {failure.reason}"
        self._schedule(doing, workflow.now() + CONTACT_REMINDER)
        await self._record(Event.DELIVERY_FAILED, {"kind": kind.value, **failure.model_dump(mode="json")})
        while True:
            action = await self._wait(resumable=False)
            if action is None:  # the daily try: the settings may have changed meanwhile
                workflow.logger.warning("link %s: its notice waits for the case's details", self._link.link_id)
                self._schedule(*planned)
                return False
            if action.action in (Act.CASE_UPDATED, Act.RECHECK):
                if action.update is not None:
                    c.victim_made_image = action.update.victim_made_image
                self._schedule(*planned)
                return False
            if await self._on_action(action):
                return True

    def _notice_facts(self, kind: NoticeKind) -> dict:
        """What a notice of ``kind`` stands on (``NoticeRequest``'s law fields): the laws it cites,
        its route, and the deadline a follow-up says was missed."""
        c, policy = self._c, self._link.policy
        clock = c.clock
        known = policy.laws or []
        if kind in TO_THE_PLATFORM:
            laws = known
        elif kind == NoticeKind.REGULATOR:
            laws = [law for law in known if clock is not None and law.id == clock.law]
        else:  # an escalation to a host or an admin: only the laws that bind everyone for this case
            laws = [law for law in known if law.every_platform]
        missed = clock if clock is not None and clock.ended == "missed" and kind != NoticeKind.REPOST else None
        return {
            "laws": None if policy.laws is None else [law.id for law in laws],
            "route": self._route(kind),
            "missed_law": missed.law if missed else None,
            "missed_request_at": missed.started_at if missed else None,
        }

    @staticmethod
    def _cited_detail(kind: NoticeKind, cited: dict) -> dict[str, str]:
        detail = {}
        if cited["laws"]:
            detail["laws"] = ",".join(cited["laws"])
        if cited["route"]:
            detail["route"] = cited["route"]
        return detail

    def _route(self, kind: NoticeKind) -> str | None:
        """ "copyright" for a notice to the platform when the victim made the image and the registry allows it."""
        allowed = self._link.policy.copyright_route and bool(self._c.victim_made_image)
        return "copyright" if allowed and kind in TO_THE_PLATFORM else None

    # --- the legal clock ------------------------------------------------------------

    async def _start_clock(self) -> bool:
        """The request just delivered starts the clock of the law that binds the platform with the
        first deadline; the follow-up check comes when it and its grace have passed. False when
        no law sets one (the follow-up then waits the registry's follow_up_after)."""
        law = clock_law(self._link.policy.laws or [])
        c = self._c
        if law is None or law.response_deadline is None:
            c.clock = None
            return False
        now = workflow.now()
        c.clock = LegalClock(
            law=law.id, deadline=law.response_deadline, grace=law.deadline_grace, started_at=now,
            due_at=now + law.response_deadline,
        )  # fmt: skip
        self._schedule("follow-up check", c.clock.due_at + c.clock.grace)
        await self._record_clock("started")
        return True

    async def _clock_missed_if_due(self, verdict: Verdict = Verdict.LIVE) -> None:
        """At a check that found the page still live (or at the end of the ladder): a running clock
        past its due time is missed. An "unknown" check leaves it running."""
        clock = self._c.clock
        if verdict != Verdict.LIVE:
            return
        if clock is not None and clock.ended is None and clock.paused_at is None and workflow.now() >= clock.due_at:
            clock.ended = "missed"
            await self._record_clock("missed")

    async def _pause_clock(self) -> None:
        """The platform waits on the victim (needs information): the clock stops, and so does the
        follow-up it would bring, until a caseworker answers (``answered``)."""
        c = self._c
        clock = c.clock
        if clock is None or clock.ended is not None or clock.paused_at is not None:
            return
        clock.paused_at = workflow.now()
        if c.next_action == "follow-up check":  # the follow-up waits too; a daily look meanwhile
            self._schedule(CLOCK_PAUSED, workflow.now() + CONTACT_REMINDER)
        await self._record_clock("paused")

    async def _resume_clock(self) -> None:
        c = self._c
        clock = c.clock
        if clock is None or clock.paused_at is None:
            return
        now = workflow.now()
        clock.due_at += now - clock.paused_at
        clock.paused_at = None
        if c.next_action == CLOCK_PAUSED:
            self._schedule("follow-up check", max(clock.due_at + clock.grace, now))
        await self._record_clock("resumed")

    async def _record_clock(self, step: str) -> None:
        clock = self._c.clock
        assert clock is not None
        whole_hours = clock.deadline % timedelta(hours=1) == timedelta(0)  # as laws say it: "48h", not "2d"
        deadline = f"{clock.deadline // timedelta(hours=1)}h" if whole_hours else format_duration(clock.deadline)
        detail = {"law": clock.law, "deadline": deadline, "step": step}
        detail["due_at"] = clock.due_at.isoformat()
        await self._record(Event.DEADLINE, detail)

    async def _complain_to_regulator(self) -> bool:
        """The ladder is used up and the platform missed its legal deadline: a complaint to the
        regulator the law names, prepared for a caseworker to file by hand (once a cycle). True
        when an action moved the link meanwhile."""
        c = self._c
        clock = c.clock
        await self._clock_missed_if_due()  # the ladder ended with the page up: past due is missed
        if clock is None or clock.ended != "missed" or c.regulator_filed:
            return False
        law = next((law for law in self._link.policy.laws or [] if law.id == clock.law), None)
        if law is None or not law.regulator:
            return False
        where = _regulator_page(law)
        if await self._deliver(NoticeKind.REGULATOR, Channel.MANUAL, None, where=where) == MOVED:
            return True
        c.regulator_filed = True
        return False

    async def _send(self, request: NoticeRequest) -> NoticeSent | DeliveryFailure | None:
        """The notice's outcome: sent, failed for good, or None when a withdrawal or pause
        asked it back before it went out."""
        if request.batch_window > timedelta(0) or not workflow.patched(SEND_UNBATCHED_DIRECTLY):
            return await self._send_with_batch(request)
        # no batching window: nothing to wait for, the link sends its notice itself
        sending = workflow.start_activity_method(Notices.send_batch, NoticeBatch(items=[request]), **NOTICE)
        await workflow.wait_condition(lambda: sending.done() or self._stop_asked())
        cancelled = False
        if not sending.done() and workflow.patched(STOP_SEND_IN_FLIGHT):
            sending.cancel()  # waits until the activity has stopped: nothing goes out after this
            cancelled = True
        try:
            receipt = await sending
        except ActivityError as error:
            if failure := permanent_failure(error):
                return failure
            if cancelled or isinstance(error.cause, CancelledError):  # a cancelled send is not retried:
                return None  # whatever ended it (its worker gone, a timeout), the send did not finish
            raise
        return NoticeSent(notice_key=request.notice_key, message_id=receipt.message_id, recipient=receipt.recipient)

    async def _send_with_batch(self, request: NoticeRequest) -> NoticeSent | DeliveryFailure | None:
        """Hand the notice to the batch of its case and recipient, and wait until it went out
        (or failed). A withdrawal or pause meanwhile asks the batch to drop it."""
        key = request.notice_key
        batch_id = await workflow.execute_activity_method(NoticeHandOver.hand_over, request, **HAND_OVER)

        def answered() -> bool:
            return key in self._sent or key in self._failed

        await workflow.wait_condition(lambda: answered() or self._stop_asked())
        if not answered() and workflow.patched(STOP_SEND_IN_FLIGHT):
            batch = workflow.get_external_workflow_handle(batch_id)  # keyed: only the hand-over can name it
            try:
                await batch.signal("drop", key)
                await workflow.wait_condition(lambda: answered() or key in self._dropped, timeout=DROP_PATIENCE)
            except FailureError:  # the batch has closed: whatever it did, it has told us
                pass
            except TimeoutError:
                workflow.logger.warning("link %s: the notice batch did not answer", self._link.link_id)
        elif not answered():  # histories from before: only a withdrawal stops the wait
            await workflow.wait_condition(lambda: answered() or any(a.action == Act.WITHDRAW for a in self._inbox))
            self._raise_if_withdrawn()
        if key in self._failed:
            return self._failed.pop(key)
        if key in self._sent:
            return self._sent.pop(key)
        self._dropped.discard(key)
        return None

    def _stop_asked(self) -> bool:
        return any(a.action in (Act.WITHDRAW, Act.PAUSE) for a in self._inbox)

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
        if workflow.patched(RECORD_EVENTS_LOCALLY):
            await workflow.execute_local_activity_method(Store.record_event, event, **STORE)
        else:
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
        clock = c.clock
        if clock is not None and clock.ended is None:  # gone by the deadline's check, or while paused: met
            late = workflow.now() > clock.due_at + clock.grace + CHECK_SLACK and clock.paused_at is None
            clock.ended = "missed" if late else "met"
            await self._record_clock(clock.ended)
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
        c.clock = None  # the repost notice starts a clock of its own
        c.regulator_filed = False

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
        """The next re-check; no later than a running legal clock's check (due plus grace)."""
        at = workflow.now() + self._link.policy.timings.unresolved_recheck
        clock = self._c.clock
        if clock is not None and clock.ended is None and clock.paused_at is None:
            at = min(at, max(clock.due_at + clock.grace, workflow.now()))
        self._schedule("unresolved re-check", at)

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
        if c.escalation_contact is not None and c.escalation_contact.email not in c.bounced:
            return c.escalation_contact
        if policy.escalation_email and policy.escalation_email not in c.bounced:
            return EscalationContact(email=policy.escalation_email, kind=policy.escalation, source="registry")
        start = min(c.escalations_sent, len(c.found_contacts) - 1)
        usable = [found for found in c.found_contacts[start:] if not found.email or found.email not in c.bounced]
        if usable:
            found = usable[0]
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
                search.PLATFORM.value_set(policy.name if policy.listed else search.UNLISTED),
                search.STATE.value_set(c.state.value),
                search.NEXT_ACTION_AT.value_set(c.next_action_at)
                if c.next_action_at is not None
                else search.NEXT_ACTION_AT.value_unset(),
            ]
        )


def _regulator_page(law: LawTerms) -> str:
    """Where a caseworker files the complaint: the regulator, its page and how."""
    where = f"{law.regulator} ({law.name})"
    if law.regulator_url:
        where += f", {law.regulator_url}"
    return where + (f": {law.regulator_instructions}" if law.regulator_instructions else "")
