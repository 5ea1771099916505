"""Intake: opening cases and starting one workflow per reported link.

Idempotent by construction: the workflow id is derived from the case id and the
normalised URL (keyed by the case's id key, tada/app/link_ids.py), and a URL the case
already holds keeps its row's id, so the same link imported twice is one row and one workflow.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import asyncpg
from pydantic import BaseModel, Field
from temporalio.client import Client

from tada.adapters.data_crypto import DataCrypto
from tada.app.client_source import ClientSource, client_of
from tada.app.link_ids import link_id_of, link_ids_for, new_id_key
from tada.app.start_links import link_input, start_links
from tada.app.start_links import start_link as start_link_workflow
from tada.domain.intake import ImportRow, Rejection
from tada.domain.models import LinkInput, PlatformPolicy
from tada.domain.registry import Registry
from tada.domain.urls import host_of
from tada.domain.victim_data import check_authorised_on, check_jurisdiction, check_reference
from tada.errors import CaseNotFound, CaseRefused

CASE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class ImportOutcome(BaseModel):
    started: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = Field(default_factory=list)


def new_case_id() -> str:
    return "TD-" + "".join(secrets.choice(CASE_ALPHABET) for _ in range(8))


async def open_case(
    pool: asyncpg.Pool,
    *,
    age: int,
    minimum_age: int,
    signpost: str,
    language: str = "en",
    reference: str | None = None,
    jurisdiction: str | None = None,
    crypto: DataCrypto,
    authorised_on: date | None = None,
    victim_made_image: bool = False,
) -> str:
    """Open a case; under the minimum age nothing is stored and CaseRefused carries the signpost.
    The reference is sealed with the case's own key (tada/adapters/data_crypto.py); a reference or
    jurisdiction that cannot be stored is InvalidField, before anything is."""
    if age < minimum_age:
        raise CaseRefused(signpost.format(minimum_age=minimum_age))
    reference = check_reference(reference)
    jurisdiction = check_jurisdiction(jurisdiction)
    authorised_on = check_authorised_on(authorised_on, datetime.now(UTC).date())
    while True:
        case_id = new_case_id()
        async with pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO cases (case_id, language, jurisdiction, id_key, authorised_on, victim_made_image) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
                case_id,
                language,
                jurisdiction,
                new_id_key(),
                authorised_on,
                victim_made_image,
            )
            if inserted and reference is not None:
                sealed = await crypto.seal(conn, case_id, "reference", reference)
                await conn.execute("UPDATE cases SET reference = $2 WHERE case_id = $1", case_id, sealed)
        if inserted:
            return case_id


class CaseTerms(BaseModel):
    """What a new link takes from its open case: its notices' language, the place whose laws
    apply, and whether the victim made the image (the copyright route)."""

    language: str
    jurisdiction: str | None = None
    victim_made_image: bool = False


async def case_terms(pool: asyncpg.Pool, case_id: str) -> CaseTerms:
    """CaseNotFound, or CaseRefused for a case that is not open."""
    row = await pool.fetchrow(
        "SELECT language, status, jurisdiction, victim_made_image FROM cases WHERE case_id = $1", case_id
    )
    if row is None:
        raise CaseNotFound(case_id)
    if row["status"] != "open":
        raise CaseRefused(f"case {case_id} is {row['status']}")
    return CaseTerms(
        language=row["language"], jurisdiction=row["jurisdiction"], victim_made_image=row["victim_made_image"]
    )


async def case_language(pool: asyncpg.Pool, case_id: str) -> str:
    return (await case_terms(pool, case_id)).language


async def start_link_row(
    pool: asyncpg.Pool, *, case_id: str, url: str, platform: str, category: str, source: str = "import"
) -> str:
    """Record a link (once: a URL the case holds keeps its id) and return its id."""
    link_id = await link_id_of(pool, case_id, url)
    await _insert_link_rows(pool, case_id, source, [(link_id, url, host_of(url), platform, category)])
    return link_id


async def _insert_link_rows(
    pool: asyncpg.Pool, case_id: str, source: str, rows: list[tuple[str, str, str, str, str]]
) -> None:
    """Record links of one case in one statement: (link id, url, host, platform, category) each;
    a link already recorded (by its id or its URL) stays as it is."""
    await pool.execute(
        """
        INSERT INTO links (link_id, case_id, url, host, platform, category, source)
        SELECT link_id, $1, url, host, platform, category, $2
          FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
               AS l(link_id, url, host, platform, category)
        ON CONFLICT DO NOTHING
        """,
        case_id,
        source,
        *(list(column) for column in zip(*rows)),
    )


async def start_link(
    pool: asyncpg.Pool,
    client: Client,
    *,
    case_id: str,
    language: str,
    url: str,
    policy: PlatformPolicy,
    task_queue: str,
    source: str = "import",
    victim_made_image: bool = False,
) -> tuple[str, bool]:
    """Record the link and start its workflow. Returns (link id, whether it started now)."""
    link_id = await start_link_row(
        pool, case_id=case_id, url=url, platform=policy.name, category=policy.category.value, source=source
    )
    link = link_input(
        case_id=case_id, link_id=link_id, url=url, language=language, policy=policy,
        victim_made_image=victim_made_image,
    )  # fmt: skip
    return link_id, await start_link_workflow(client, link, task_queue)


async def add_links(
    pool: asyncpg.Pool,
    client: ClientSource,
    registry: Registry,
    *,
    case_id: str,
    rows: list[ImportRow],
    rejected: list[Rejection],
    task_queue: str,
    source: str = "import",
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    """Start a workflow for every good row; bad rows were already set aside by the parser.
    Every row is recorded first, in one statement; then the workflows start, 32 at a time.
    The case is checked before Temporal is contacted (``client`` may be the callable that opens it)."""
    terms = await case_terms(pool, case_id)
    client = await client_of(client)
    outcome = ImportOutcome(rejected=list(rejected))
    policies: dict[str, PlatformPolicy] = {}  # one per host: the registry's answer does not change
    links: dict[str, LinkInput] = {}  # by link id: a URL twice in one file is one link
    records: list[tuple[str, str, str, str, str]] = []
    ids = await link_ids_for(pool, case_id, (row.url for row in rows))
    for row in rows:
        host = urlsplit(row.url).hostname or ""  # the parser normalised every row's URL
        if host not in policies:
            policies[host] = registry.policy_for(row.url, terms.jurisdiction)
        policy = policies[host]
        link_id = ids[row.url]
        if link_id in links:
            outcome.duplicates += 1
            if progress:
                progress(1)
            continue
        links[link_id] = link_input(
            case_id=case_id, link_id=link_id, url=row.url, host=host, language=terms.language, policy=policy,
            victim_made_image=terms.victim_made_image,
        )  # fmt: skip
        records.append((link_id, row.url, host, policy.name, policy.category.value))
    if records:
        await _insert_link_rows(pool, case_id, source, records)

    def counted(link: LinkInput, started: bool) -> None:
        if started:
            outcome.started += 1
        else:
            outcome.duplicates += 1
        if progress:
            progress(1)

    await start_links(client, links.values(), task_queue, on_each=counted)
    return outcome
