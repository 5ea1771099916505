"""What in a reply can name the notice email it answers, and what a match found (pure).

``reply_clues`` reads a received message's headers only: the plus-tags of the addresses it
was sent to (To, Cc, Delivered-To, X-Original-To, Envelope-To), the Message-IDs of
In-Reply-To and References (most recent first), and the ``[TD-<tag>]`` of the subject.
tada/app/reply_matching.py looks them up in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from typing import Literal

from tada.domain.reply_tags import tokens_in_addresses, tokens_in_subject

#: How a reply found its email, in the order the ways are tried.
MatchedBy = Literal["tag", "in-reply-to", "references", "subject"]
#: The headers a reply's own address (with its plus-tag) can be in.
ADDRESS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class ReplyClues:
    tokens: list[str]  # canonical, unchecked, from the addresses
    in_reply_to: list[str]  # "<id@host>"
    references: list[str]  # "<id@host>", the most recent first
    subject_tokens: list[str]  # canonical, unchecked


@dataclass(frozen=True)
class MatchedLink:
    notice_key: str
    link_id: str
    position: int | None  # its number in the email's list of addresses, from 1 (None: not recorded)


@dataclass(frozen=True)
class ReplyMatch:
    """The notice email a reply answers: what it listed, in its order."""

    matched_by: MatchedBy
    reply_token: str | None  # canonical; None for an email sent before emails were recorded
    message_id: str
    case_id: str
    links: tuple[MatchedLink, ...]

    @property
    def notice_keys(self) -> list[str]:
        return [link.notice_key for link in self.links]

    @property
    def link_ids(self) -> list[str]:
        return [link.link_id for link in self.links]

    def at_position(self, position: int) -> MatchedLink | None:
        """The link the email listed as number ``position`` (1 is the first)."""
        return next((link for link in self.links if link.position == position), None)


def reply_clues(message: Message, reply_to: str | None = None) -> ReplyClues:
    """The clues of ``message``; with ``reply_to``, only that mailbox's plus-tags count."""
    values = [str(value) for name in ADDRESS_HEADERS for value in message.get_all(name) or []]
    addresses = [address for _, address in getaddresses(values) if address]
    references = message_ids(" ".join(str(value) for value in message.get_all("References") or []))
    return ReplyClues(
        tokens=tokens_in_addresses(addresses, reply_to),
        in_reply_to=message_ids(" ".join(str(value) for value in message.get_all("In-Reply-To") or [])),
        references=list(reversed(references)),
        subject_tokens=tokens_in_subject(str(message.get("Subject") or "")),
    )


def message_ids(text: str) -> list[str]:
    """The ``<id@host>`` of a header, in order, once each (a bare ``id@host`` gets its brackets)."""
    found = [f"<{value}>" for value in _MESSAGE_ID.findall(text)]
    if not found and "@" in text.strip() and len(text.split()) == 1:
        found = [f"<{text.strip()}>"]
    return list(dict.fromkeys(found))
