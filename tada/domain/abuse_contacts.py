"""Abuse contacts in RDAP answers, and the models of a host-escalation lookup.

Pure: takes the JSON an RDAP server returned (RFC 9083) and finds the entities
with role ``abuse`` however deep they sit (ARIN nests them in the registrant
organisation, RIPE puts its ``abuse-c`` at the top), and the emails in their
jCard ``vcardArray`` (RFC 7095). Odd shapes, and addresses that can never work, are
skipped, never fatal: a registry's quirk must not cost us the contacts the rest of the
answer holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from tada.domain.recipients import BadRecipient, check_recipient

#: How deep nested ``entities`` are followed; real answers go 2-3 levels.
MAX_DEPTH = 16


class HostLookupRequest(BaseModel):
    host: str  # the web host of the reported link, e.g. "www.badsite.test"


class ContactSource(BaseModel):
    """How a contact was found, stored with the link as evidence."""

    source: Literal["rdap_ip", "rdap_domain", "cdn_ranges"]
    address: str | None = None  # the IP address looked up (host, CDN)
    network: str | None = None  # the CDN range the address is in
    rdap_server: str | None = None  # base URL of the RDAP server that answered
    entity_handle: str | None = None  # handle of the abuse (or registrar) entity


class AbuseContact(BaseModel):
    kind: Literal["host", "registrar", "cdn"]
    email: str | None = None  # None when the only channel is a web form (CDN)
    name: str | None = None  # organisation, when the answer names it (registrar, CDN)
    instructions: str | None = None  # where and how to file, for channels without an email
    how: ContactSource


class HostLookupResult(BaseModel):
    """Escalation targets in order: CDN (if fronted) or host, then registrar."""

    host: str
    addresses: list[str] = Field(default_factory=list)
    registrable_domain: str | None = None
    contacts: list[AbuseContact] = Field(default_factory=list)


class AbuseEmail(NamedTuple):
    email: str
    handle: str | None


class RegistrarAbuse(NamedTuple):
    handle: str | None
    name: str | None
    emails: list[AbuseEmail]


def abuse_emails(rdap: Any) -> list[AbuseEmail]:
    """Every (email, entity handle) of an entity with role ``abuse``, in document order, each email once."""
    found: list[AbuseEmail] = []
    seen: set[str] = set()
    for entity in _entities(rdap, include_self=True):
        if "abuse" not in _roles(entity):
            continue
        for email in vcard_emails(entity):
            if email.lower() not in seen:
                seen.add(email.lower())
                found.append(AbuseEmail(email, _handle(entity)))
    return found


def registrar_abuse(rdap: Any) -> RegistrarAbuse | None:
    """The first entity with role ``registrar`` and the abuse emails nested in it (or on it)."""
    for entity in _entities(rdap, include_self=False):
        if "registrar" in _roles(entity):
            return RegistrarAbuse(_handle(entity), vcard_text(entity, "fn"), abuse_emails(entity))
    return None


def vcard_emails(entity: Any) -> list[str]:
    """The email values of an entity's jCard, ``mailto:`` stripped; a value that is not one
    address tada can write to (``domain.recipients``: lists, control characters, domain
    literals...) is skipped, never stored as a contact."""
    emails = []
    for value in _vcard_values(entity, "email"):
        try:
            emails.append(check_recipient(value.strip().removeprefix("mailto:")))
        except BadRecipient:
            continue
    return emails


def vcard_text(entity: Any, name: str) -> str | None:
    """The first text value of a jCard property (``fn``, ``org``...)."""
    for value in _vcard_values(entity, name):
        if value.strip():
            return value.strip()
    return None


def _vcard_values(entity: Any, name: str) -> Iterator[str]:
    if not isinstance(entity, dict):
        return
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) >= 2 and isinstance(card[1], list)):
        return
    for prop in card[1]:
        if not (isinstance(prop, list) and len(prop) >= 4 and isinstance(prop[0], str)):
            continue
        if prop[0].lower() != name:
            continue
        for value in prop[3:]:  # a property may carry several values
            if isinstance(value, str):
                yield value
            elif isinstance(value, list):  # structured values, e.g. org as ["Acme", "Abuse desk"]
                yield from (v for v in value if isinstance(v, str))


def _entities(node: Any, *, include_self: bool, depth: int = 0) -> Iterator[dict]:
    """Depth-first, document order: the node (if asked), then each nested entity and its own."""
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return
    if include_self:
        yield node
    children = node.get("entities")
    if isinstance(children, list):
        for child in children:
            yield from _entities(child, include_self=True, depth=depth + 1)


def _roles(entity: dict) -> set[str]:
    roles = entity.get("roles")
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list):
        return set()
    return {r.strip().lower() for r in roles if isinstance(r, str)}


def _handle(entity: dict) -> str | None:
    handle = entity.get("handle")
    return handle if isinstance(handle, str) and handle else None
