"""Guesses from a reply's text, for a reply no header matched (tada/app/reply_matching.py).

People quote what they see: a case id (``TD-AB3DEF7G``), a link id (the case id, a hyphen and
hex digits), a notice's tag (``TD-K3X9P2M7QA-8F4TZ``). ``reply_guesses`` finds them in a text
and keeps those the database knows, in the order the text names them, once each (any letter
case; a tag is read as leniently as in a subject, tada/domain/reply_tags.py). They are
guesses for a caseworker to confirm, never a match: a text can name any case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import asyncpg

from tada.domain.reply_tags import ReplyTagKey, tokens_in_subject

GuessKind = Literal["case", "link", "message"]
#: A case id, and the hex digits of a link id after it when there are.
_IDS = re.compile(r"(?<![0-9A-Za-z])TD-([A-Z2-9]{8})(?:-([0-9A-F]{8,64}))?(?![0-9A-Za-z])", re.I)


@dataclass(frozen=True)
class ReplyGuess:
    kind: GuessKind
    id: str  # the case id, the link id, or the email's canonical token
    case_id: str


async def reply_guesses(
    pool: asyncpg.Pool | asyncpg.Connection, text: str, tag_key: ReplyTagKey | None = None
) -> list[ReplyGuess]:
    """The case ids, link ids and (with ``tag_key``) notice tags ``text`` names that exist."""
    named: list[tuple[GuessKind, str]] = []
    for match in _IDS.finditer(text or ""):
        case_id = f"TD-{match[1].upper()}"
        if match[2]:
            named.append(("link", f"{case_id}-{match[2].lower()}"))
        named.append(("case", case_id))
    if tag_key is not None:
        named += [("message", token) for token in tokens_in_subject(text or "") if tag_key.verify(token)]
    named = list(dict.fromkeys(named))
    if not named:
        return []
    rows = await pool.fetch(
        """
        SELECT 'case' AS kind, case_id AS id, case_id FROM cases WHERE case_id = ANY($1::text[])
        UNION ALL
        SELECT 'link', link_id, case_id FROM links WHERE link_id = ANY($2::text[])
        UNION ALL
        SELECT 'message', reply_token, case_id FROM notice_messages WHERE reply_token = ANY($3::text[])
        """,
        [value for kind, value in named if kind == "case"],
        [value for kind, value in named if kind == "link"],
        [value for kind, value in named if kind == "message"],
    )
    known = {(row["kind"], row["id"]): row["case_id"] for row in rows}
    return [ReplyGuess(kind, value, known[kind, value]) for kind, value in named if (kind, value) in known]
