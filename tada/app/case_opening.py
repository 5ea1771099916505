"""Opening a case, the whole flow of ``tada case open`` and the console's "Open a case": the age
gate (under the minimum age nothing is stored and CaseRefused carries the signpost), the case
itself (tada.app.intake.open_case: language, sealed reference, jurisdiction), then the monitors
that may report reposts on it. Every value is checked before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg
from pydantic import BaseModel

from tada.adapters.data_crypto import DataCrypto
from tada.app.intake import open_case
from tada.app.monitors import change_case_monitors, monitor_names
from tada.errors import CaseRefused


class OpenedCase(BaseModel):
    case_id: str
    monitors: list[str]


async def open_new_case(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    *,
    age: int,
    minimum_age: int,
    signpost: str,
    language: str = "en",
    reference: str | None = None,
    jurisdiction: str | None = None,
    monitors: Sequence[str] = (),
    authorised_on: date | None = None,
    victim_made_image: bool = False,
) -> OpenedCase:
    """Open a case and opt it into ``monitors``. CaseRefused (with the signpost) under the minimum
    age, InvalidMonitorName or InvalidField for a value that cannot be stored: nothing is stored then."""
    if age < minimum_age:  # refused before anything is checked, opened or stored
        raise CaseRefused(signpost.format(minimum_age=minimum_age))
    names = monitor_names(monitors)
    case_id = await open_case(
        pool, age=age, minimum_age=minimum_age, signpost=signpost, language=language, reference=reference,
        jurisdiction=jurisdiction, crypto=crypto, authorised_on=authorised_on, victim_made_image=victim_made_image,
    )  # fmt: skip
    return OpenedCase(case_id=case_id, monitors=await change_case_monitors(pool, case_id, add=names))
