"""Which notices travel together: one notice per platform per case."""

from __future__ import annotations

from tada.domain.models import NoticeBatchKey, NoticeRequest
from tada.domain.urls import keyed_digest

BATCH_ID_PURPOSE = b"tada notice batch id\x00"


def batch_key_for(notice: NoticeRequest) -> NoticeBatchKey:
    recipient = notice.recipient if notice.channel == "email" else notice.form_url
    return NoticeBatchKey(
        case_id=notice.case_id,
        channel=notice.channel,
        recipient=recipient or "",
        window=notice.batch_window,
    )


def batch_id_prefix(case_id: str) -> str:
    """What every notice-batch workflow id of a case starts with (a purge finds them by it)."""
    return f"notices-{case_id}-"


def batch_workflow_id(key: NoticeBatchKey, id_key: bytes) -> str:
    """Derived from the case and a keyed hash of the recipient (under the case's id key, as link
    ids are): neither the address nor a way to confirm a guessed one is in the id."""
    return batch_id_prefix(key.case_id) + keyed_digest(id_key, BATCH_ID_PURPOSE, f"{key.channel}:{key.recipient}", 12)
