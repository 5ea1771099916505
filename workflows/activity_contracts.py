"""The activities the workflows call, as typed contracts.

Each class names its activities and the types they take and return; the classes in
``activities/`` implement them (subclass and override, keeping the name). The workflows
call ``workflow.execute_activity_method(Liveness.check, …)``, so an activity's name and
result type are written once, here. Nothing here does I/O: this module is imported inside
the workflow sandbox.

An activity's name is what Temporal records in every history: renaming one would strand
open workflows, so the names below never change.
"""

from __future__ import annotations

from temporalio import activity

from tada.domain.abuse_contacts import HostLookupRequest, HostLookupResult
from tada.domain.models import LinkEvent, LivenessRequest, LivenessResult, NoticeBatch, NoticeReceipt, NoticeRequest

CHECK_LIVENESS = "check_liveness"
HAND_OVER_NOTICE = "hand_over_notice"
SEND_NOTICE_BATCH = "send_notice_batch"
CHECK_NOTICE = "check_notice"
RECORD_EVENT = "record_event"
FIND_ABUSE_CONTACTS = "find_abuse_contacts"


class Liveness:
    @activity.defn(name=CHECK_LIVENESS)
    async def check(self, request: LivenessRequest) -> LivenessResult:
        """Is the reported content still up? (activities/liveness.py)"""
        raise NotImplementedError


class NoticeHandOver:
    @activity.defn(name=HAND_OVER_NOTICE)
    async def hand_over(self, notice: NoticeRequest) -> str:
        """Give a link's notice to the batch of its case and recipient (activities/notice_handover.py)."""
        raise NotImplementedError


class Notices:
    @activity.defn(name=SEND_NOTICE_BATCH)
    async def send_batch(self, batch: NoticeBatch) -> NoticeReceipt:
        """Send one notice listing the batch's links, by email or web form (activities/notices.py)."""
        raise NotImplementedError

    @activity.defn(name=CHECK_NOTICE)
    async def check_notice(self, notice: NoticeRequest) -> str | None:
        """Why a notice filed by hand cannot go yet (a law it cites needs what the case lacks), or None."""
        raise NotImplementedError


class HostLookup:
    @activity.defn(name=FIND_ABUSE_CONTACTS)
    async def find_abuse_contacts(self, request: HostLookupRequest) -> HostLookupResult:
        """The host's and registrar's abuse contacts, by DNS and RDAP (activities/host_lookup.py)."""
        raise NotImplementedError


class Store:
    @activity.defn(name=RECORD_EVENT)
    async def record_event(self, event: LinkEvent) -> None:
        """Append one event to the link's timeline in PostgreSQL (activities/store.py)."""
        raise NotImplementedError


CONTRACTS = (Liveness, NoticeHandOver, Notices, HostLookup, Store)
