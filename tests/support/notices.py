"""NoticeActivities as a test builds them: on the suite's database, a mailer on a local SMTP port."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tada.activities.notices import NoticeActivities, NotifierIdentity
from tada.adapters.data_crypto import DataCrypto
from tada.clients.mailer import Mailer, SmtpConfig
from tada.clients.rate_limit import RecipientRateLimit


def notice_activities(
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    identity: NotifierIdentity,
    crypto: DataCrypto,
    *,
    limit: RecipientRateLimit | None = None,
    **smtp: Any,
) -> NoticeActivities:
    """Notices sent through SMTP on 127.0.0.1 (``smtp``: ``port``, any other SmtpConfig field),
    each recipient limited by ``limit`` (RecipientRateLimit's default on ``pool`` if None)."""
    return NoticeActivities(
        pool,
        Mailer(SmtpConfig(host="127.0.0.1", **smtp)),
        http,
        identity,
        RecipientRateLimit(pool) if limit is None else limit,
        crypto,
    )
