"""The rehearsal world must not be able to send anything beyond this machine.

Checked before anything starts: the SMTP relay is 127.0.0.1, every web address
(reported pages, report forms) is a loopback address, the DNS and RDAP servers
are 127.0.0.1, and every email address the registry names is under the reserved
``.test`` TLD (RFC 2606), so even a misrouted message could not be delivered.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from tada.domain.registry import Registry
from tada.errors import Refused
from tada.settings import Settings

SMTP_HOST = "127.0.0.1"
RESERVED_EMAIL_SUFFIX = ".test"


class SimulationRefused(Refused):
    """The simulation would reach beyond 127.0.0.1; nothing was started."""

    @property
    def message(self) -> str:
        return f"simulation refused: {self}"


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback and ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


def _check_url(url: str, what: str) -> None:
    host = urlsplit(url).hostname
    if not _loopback(host):
        raise SimulationRefused(f"{what} is not on a 127.0.0.0/8 address: refused")


def _check_email(address: str, what: str) -> None:
    if not address.lower().endswith(RESERVED_EMAIL_SUFFIX):
        raise SimulationRefused(f"{what} is not under the reserved .test domain: refused")


def check_local_only(settings: Settings, registry: Registry, urls: list[str]) -> None:
    """Raise SimulationRefused unless everything the engine would contact is local."""
    if settings.smtp_host != SMTP_HOST:
        raise SimulationRefused(f"the simulation's SMTP host must be {SMTP_HOST}, not {settings.smtp_host}")
    if not settings.dns_server or settings.dns_server.rpartition(":")[0] != SMTP_HOST:
        raise SimulationRefused("the simulation's DNS server must be on 127.0.0.1")
    if not settings.rdap_bootstrap or urlsplit(settings.rdap_bootstrap).hostname != SMTP_HOST:
        raise SimulationRefused("the simulation's RDAP bootstrap must be on 127.0.0.1")
    if urlsplit(f"//{settings.temporal_address}").hostname != SMTP_HOST:
        raise SimulationRefused("the simulation's Temporal server must be on 127.0.0.1")
    _check_email(settings.notice_from.rsplit("<", 1)[-1].rstrip(">").strip(), "the notices' sender")
    for platform in registry.platforms:
        policy, where = platform.policy, f'simulated platform "{platform.name}"'
        for domain in platform.domains:
            if not _loopback(domain):
                raise SimulationRefused(f"{where}: domain {domain} is not a loopback address")
        if policy.form_url:
            _check_url(policy.form_url, f"{where}: its form")
        for address in (policy.email, policy.escalation_email):
            if address:
                _check_email(address, f"{where}: an email address")
    for url in urls:
        _check_url(url, "a simulated link")
