"""Who to escalate to when a site ignores its notices: the CDN in front of it or
its web host, then the registrar of its domain.

DNS gives the host's addresses; an address in a CDN's published ranges means the
CDN's abuse process (the CDN is not the host and forwards to it), otherwise RDAP
gives each address's abuse contacts. The registrar's abuse contact, from the
domain's RDAP record, comes last as the next target. Nothing found is an empty
list (a caseworker supplies the contact); a rate limit or an unreachable server
is an error Temporal retries, never "no contact".
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import httpx
import idna
import structlog
from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from tada.clients.dns_lookup import DnsLookup, DnsUnavailable
from tada.clients.rdap_client import RdapClient, RdapRateLimited, RdapUnavailable
from tada.domain.abuse_contacts import (
    AbuseContact,
    ContactSource,
    HostLookupRequest,
    HostLookupResult,
    abuse_emails,
    registrar_abuse,
)
from tada.domain.cdn import cdn_for
from tada.domain.hosts import ip_literal, rdap_domain, registrable_domain
from tada.workflows.activity_contracts import FIND_ABUSE_CONTACTS, HostLookup

log = structlog.get_logger(__name__)


class HostLookupConfig(BaseModel):
    rdap_bootstrap: str | None = None  # TADA_RDAP_BOOTSTRAP; None: IANA
    rdap_allow_http: bool = False  # accept http:// RDAP servers in the bootstrap (local mirrors, tests)
    rdap_timeout_seconds: float = Field(default=15.0, gt=0)
    rdap_max_attempts: int = Field(default=4, ge=1)  # per query, while the server answers 429
    rdap_max_wait_seconds: float = Field(default=10.0, ge=0)  # longest Retry-After waited out in the activity
    dns_server: str | None = None  # TADA_DNS_SERVER, "host" or "host:port"; None: the system's resolver
    dns_timeout_seconds: float = Field(default=5.0, gt=0)


class HostLookupActivities(HostLookup):
    def __init__(self, config: HostLookupConfig, http: httpx.AsyncClient) -> None:
        self._dns = DnsLookup(server=config.dns_server, timeout_seconds=config.dns_timeout_seconds)
        self._rdap = RdapClient(
            http,
            bootstrap_source=config.rdap_bootstrap,
            allow_http=config.rdap_allow_http,
            timeout_seconds=config.rdap_timeout_seconds,
            max_attempts=config.rdap_max_attempts,
            max_wait_seconds=config.rdap_max_wait_seconds,
        )

    @activity.defn(name=FIND_ABUSE_CONTACTS)
    async def find_abuse_contacts(self, request: HostLookupRequest) -> HostLookupResult:
        host = _ascii_host(request.host)
        try:
            result = await self.lookup(host)
        except RdapRateLimited as limited:
            raise ApplicationError(
                str(limited), type="RdapRateLimited", next_retry_delay=_delay(limited.retry_after)
            ) from limited
        except RdapUnavailable as error:
            raise ApplicationError(str(error), type="RdapUnavailable") from error
        except DnsUnavailable as error:
            raise ApplicationError(str(error), type="DnsUnavailable") from error
        log.info(
            "abuse_contacts_found",
            host=host,
            addresses=len(result.addresses),
            contacts=[contact.kind for contact in result.contacts],
        )
        return result

    async def lookup(self, host: str) -> HostLookupResult:
        literal = ip_literal(host)
        addresses = [str(literal)] if literal else await self._dns.addresses(host)
        result = HostLookupResult(host=host, addresses=addresses)
        if not addresses:  # the name does not exist (or has no address): nothing hosts it
            return result
        contacts: list[AbuseContact] = []
        for address in addresses:
            contacts += await self._address_contacts(address, contacts)
        if literal is None:
            result.registrable_domain = registrable_domain(host)
            # The TLD's RDAP server knows the name registered with it: uk.com for site.uk.com.
            contacts += await self._registrar_contacts(rdap_domain(host), contacts)
        result.contacts = contacts
        return result

    async def _address_contacts(self, address: str, known: list[AbuseContact]) -> list[AbuseContact]:
        provider = cdn_for(address)
        if provider is not None:
            if any(c.kind == "cdn" and c.name == provider.name for c in known):
                return []
            how = ContactSource(source="cdn_ranges", address=address, network=str(provider.network_of(address)))
            return [AbuseContact(kind="cdn", name=provider.name, instructions=provider.instructions, how=how)]
        if not ipaddress.ip_address(address).is_global:  # private, loopback...: no registry knows it
            return []
        answer = await self._rdap.ip(address)
        if answer is None:
            return []
        found = []
        for email, handle in abuse_emails(answer.data):
            if not _has_email(email, known + found):
                how = ContactSource(source="rdap_ip", address=address, rdap_server=answer.server, entity_handle=handle)
                found.append(AbuseContact(kind="host", email=email, how=how))
        return found

    async def _registrar_contacts(self, domain: str, known: list[AbuseContact]) -> list[AbuseContact]:
        answer = await self._rdap.domain(domain)
        registrar = registrar_abuse(answer.data) if answer else None
        if registrar is None:
            return []
        return [
            AbuseContact(
                kind="registrar",
                email=email,
                name=registrar.name,
                how=ContactSource(
                    source="rdap_domain", rdap_server=answer.server, entity_handle=handle or registrar.handle
                ),
            )
            for email, handle in registrar.emails
            if not _has_email(email, known)
        ]


def _ascii_host(host: str) -> str:
    """The host as DNS and RDAP want it: lower case, no trailing dot or brackets, punycode for IDN."""
    host = host.strip().rstrip(".").removeprefix("[").removesuffix("]")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            pass  # left as is: DNS will not find it
    return host.lower()


def _has_email(email: str, contacts: list[AbuseContact]) -> bool:
    return any(c.email and c.email.lower() == email.lower() for c in contacts)


def _delay(seconds: float) -> timedelta:
    return timedelta(seconds=max(1.0, seconds))
