"""Which notices travel together: one notice per platform per case."""

from __future__ import annotations

import hashlib

from tada.domain.models import NoticeBatchKey, NoticeRequest


def batch_key_for(notice: NoticeRequest) -> NoticeBatchKey:
    recipient = notice.recipient if notice.channel == "email" else notice.form_url
    return NoticeBatchKey(
        case_id=notice.case_id,
        channel=notice.channel,
        recipient=recipient or "",
        window=notice.batch_window,
    )


def batch_workflow_id(key: NoticeBatchKey) -> str:
    """Derived from the case and a hash of the recipient: no address in the id."""
    digest = hashlib.sha256(f"{key.channel}:{key.recipient}".encode()).hexdigest()[:12]
    return f"notices-{key.case_id}-{digest}"
