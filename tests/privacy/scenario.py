"""One link's whole life, with recognisable secrets: what must never be readable outside tada.

Reported → initial notice → follow-up → the platform acknowledges (a caseworker's
note) → a caseworker escalates to a contact they found → the content is gone →
removed, re-checked, and the workflow completes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from tada.app.intake import open_case
from tada.domain.models import EscalationContact, PlatformResponse
from tada.domain.states import Escalation, LinkState, ResponseOutcome
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import HOST_EMAIL, PLATFORM_EMAIL, Harness, make_policy
from tests.support.crypto import suite_crypto

DAY = timedelta(days=1)
S = LinkState


@dataclass(frozen=True)
class Secrets:
    """Strings that identify the victim's case: none may appear outside tada's own stores."""

    tag: str
    url: str
    reference: str
    note: str
    contact: str

    @classmethod
    def new(cls, base_url: str) -> Secrets:
        tag = uuid.uuid4().hex[:10]
        return cls(
            tag=tag,
            url=f"{base_url}/privacy/{tag}/video.mp4",
            reference=f"RL-PRIV-{tag}",
            note=f"Ticket PRIVNOTE-{tag}: the uploader is Jane Roe",
            contact=f"abuse-{tag}@caseworker-found.test",
        )

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def needles(self) -> list[str]:
        """Each string whose presence is a leak."""
        return [
            self.url,
            self.path,
            self.tag,  # in the URL, the note, the reference and the contact alike
            self.reference,
            self.note,
            "PRIVNOTE",
            "Jane Roe",
            self.contact,
            PLATFORM_EMAIL,
            HOST_EMAIL,
            "@caseworker-found.test",
            "@platform.test",
            "@host.test",
            "@tada.test",  # the notifier's own address
            "http://",
            "https://",
        ]


async def full_lifecycle(h: Harness, web, mailbox) -> Secrets:
    secrets = Secrets.new(web.url(""))
    web.live(secrets.path)
    case_id = await open_case(
        h.pool, age=30, minimum_age=16, signpost="", reference=secrets.reference, crypto=suite_crypto()
    )
    # A batching window, so the notices also pass through notice-batch workflows, whose
    # histories must hold nothing readable either.
    policy = make_policy()
    policy.timings.batch_window = timedelta(seconds=1)  # real seconds: polled, not skipped
    handle = await h.start(secrets.url, policy, case_id=case_id)

    await h.until(handle, S.AWAITING_RESPONSE)  # the initial notice went out
    await h.advance(2 * DAY + timedelta(minutes=5))
    await h.wait(handle, lambda s: s.follow_ups_sent == 1 and not s.next_action.startswith("send"))

    response = PlatformResponse(outcome=ResponseOutcome.ACKNOWLEDGED, note=secrets.note)
    await handle.signal(LinkWorkflow.respond, response)
    await handle.signal(
        LinkWorkflow.escalate, EscalationContact(email=secrets.contact, kind=Escalation.HOST, source="caseworker")
    )
    await h.wait(handle, lambda s: s.state == S.ESCALATED and s.escalations_sent == 1)

    web.gone(secrets.path)
    await h.advance(7 * DAY + timedelta(minutes=5))
    await h.until(handle, S.REMOVED)
    result = await h.result(handle)  # the repost re-checks run, then the watch ends
    assert result.state == S.REMOVED

    sent = [(m["X-Tada-Notice-Kind"], m["To"]) for m in mailbox.messages]
    assert sent == [
        ("initial", PLATFORM_EMAIL),
        ("follow_up", PLATFORM_EMAIL),
        ("escalation_host", secrets.contact),
    ]
    return secrets
