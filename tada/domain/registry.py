"""The platform registry: who to write to about a link, how, and on what timetable.

A TOML file (``TADA_PLATFORMS``, default ``platforms.toml``) with a ``[defaults]``
table of timings and one ``[[platform]]`` table per platform. A bad file fails
at start with the file, the entry and the field named; unknown keys are errors,
so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tada.domain import registry_values as read
from tada.domain.hosts import ip_literal, registrable_domain
from tada.domain.laws import Element, Law, laws_for
from tada.domain.models import PlatformPolicy, Timings
from tada.domain.states import Category, Channel, Escalation
from tada.domain.urls import host_of
from tada.errors import Misconfigured

PLATFORM_FIELDS: dict[str, read.Reader] = {
    "name": read.text,
    "category": read.choice(Category),
    "domains": read.domains,
    "channel": read.choice(Channel),
    "email": read.email,
    "form_url": read.web_address,
    "form_fields": read.form_fields,
    "manual_instructions": read.text,
    "escalation": read.choice(Escalation),
    "escalation_email": read.email,
    "removed_markers": read.text_list,
    "language": read.language,
    "laws": read.identifiers,
    "copyright_route": read.flag,
    "copyright_email": read.email,
}
LAW_FIELDS: dict[str, read.Reader] = {
    "id": read.identifier,
    "name": read.text,
    "citation": read.text,
    "citation_zh": read.text,
    "notice_text": read.text,
    "notice_text_zh": read.text,
    "response_deadline": read.duration,
    "deadline_grace": read.duration,
    "elements": read.choices(Element),
    "jurisdictions": read.places,
    "every_platform": read.flag,
    "regulator": read.text,
    "regulator_url": read.web_address,
    "regulator_instructions": read.text,
    "source": read.web_address,
}
LAW_REQUIRED = ("id", "name", "citation", "source")
TIMING_FIELDS: dict[str, read.Reader] = {
    "follow_up_after": read.duration,
    "follow_ups": read.count,
    "escalate_after": read.duration,
    "escalations": read.count,
    "recheck_schedule": read.duration_list,
    "unresolved_recheck": read.duration,
    "batch_window": read.duration,
    "confirm_gone_after": read.duration,
    "deadline_grace": read.duration,
}
REQUIRED_FIELDS = ("name", "domains", "channel")
#: The field each channel cannot work without.
CHANNEL_NEEDS = {Channel.EMAIL: "email", Channel.FORM: "form_url", Channel.MANUAL: "manual_instructions"}


class RegistryError(Misconfigured, ValueError):
    """A registry that cannot be used; the message names the file, the entry and the field."""

    @property
    def message(self) -> str:
        return f"platform registry (TADA_PLATFORMS): {self}"


class RegisteredPlatform(BaseModel):
    domains: list[str]
    policy: PlatformPolicy
    laws: list[str] = []  # the ids of the laws its entry lists

    @property
    def name(self) -> str:
        return self.policy.name


class Registry:
    def __init__(
        self, platforms: list[RegisteredPlatform], defaults: Timings, source: str = "", laws: list[Law] | None = None
    ) -> None:
        self.platforms = platforms
        self.defaults = defaults
        self.source = source
        self.laws = {law.id: law for law in laws or []}
        self._by_domain = {domain: p for p in platforms for domain in p.domains}

    def match(self, host: str) -> RegisteredPlatform | None:
        """The platform listing this host: exact domain first, then the most specific wildcard."""
        host = host.lower().rstrip(".")
        if host in self._by_domain:
            return self._by_domain[host]
        labels = host.split(".")
        for start in range(len(labels) - 1):
            found = self._by_domain.get("*." + ".".join(labels[start:]))
            if found:
                return found
        return None

    def domain_names(self) -> list[str]:
        """Every domain the registry lists, each once, as a resolver would be asked for it: a
        wildcard ``*.x.com`` by the domain it covers, ``x.com``; IP addresses left out."""
        names = (domain.removeprefix("*.") for platform in self.platforms for domain in platform.domains)
        return list(dict.fromkeys(name for name in names if ip_literal(name) is None))

    def policy_for(self, url: str, jurisdiction: str | None = None) -> PlatformPolicy:
        """How to take this URL down for a case of ``jurisdiction``: its platform's policy, or
        abuse@ its registrable domain; with the laws that bind it for that case."""
        host = host_of(url)
        found = self.match(host)
        policy = found.policy.model_copy(deep=True) if found else self.fallback_policy(host)
        policy.laws = [law.terms() for law in laws_for(found.laws if found else (), self.laws, jurisdiction)]
        return policy

    def case_laws(self, jurisdiction: str | None) -> list[Law]:
        """The laws that bind every platform for a case of ``jurisdiction`` (whatever the platform lists)."""
        return laws_for((), self.laws, jurisdiction)

    def laws_of(self, ids: Collection[str]) -> list[Law]:
        """The registry's laws of these ids, in the registry's order (an id it no longer defines is left out)."""
        return [law for law in self.laws.values() if law.id in ids]

    def fallback_policy(self, host: str) -> PlatformPolicy:
        domain = registrable_domain(host)
        timings = self.defaults.model_copy(deep=True)
        if ip_literal(domain) is not None:
            return PlatformPolicy(
                name=domain,
                channel=Channel.MANUAL,
                manual_instructions=f"{domain} has no domain name: find the abuse contact of the "
                "network that owns the address (RDAP/whois) and write to it.",
                timings=timings,
                listed=False,
            )
        return PlatformPolicy(
            name=domain,
            category=Category.OTHER,
            channel=Channel.EMAIL,
            email=f"abuse@{domain}",
            escalation=Escalation.HOST,
            timings=timings,
            listed=False,
        )


def load_registry(path: str | Path) -> Registry:
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise RegistryError(f"{path}: no such file (set TADA_PLATFORMS to the registry's path)") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise RegistryError(f"{path}: cannot be read: {error.strerror}") from None
    return parse_registry(text, str(path))


def parse_registry(text: str, source: str) -> Registry:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{source}: not valid TOML: {error}") from None
    _check_keys(data, {"defaults", "platform", "law"}, source, "key")
    defaults_table = data.get("defaults", {})
    if not isinstance(defaults_table, dict):
        raise RegistryError(f"{source}: [defaults] must be a table")
    _check_keys(defaults_table, TIMING_FIELDS.keys(), f"{source}: [defaults]", "field")
    defaults = _timings(defaults_table, Timings(), f"{source}: [defaults]")
    entries = data.get("platform", [])
    if not isinstance(entries, list):
        raise RegistryError(f"{source}: write each platform as a [[platform]] table (double brackets)")
    law_entries = data.get("law", [])
    if not isinstance(law_entries, list):
        raise RegistryError(f"{source}: write each law as a [[law]] table (double brackets)")
    laws = [_law(entry, index, defaults, source) for index, entry in enumerate(law_entries, 1)]
    _check_unique_laws(laws, source)
    platforms = [_platform(entry, index, defaults, source) for index, entry in enumerate(entries, 1)]
    _check_unique(platforms, source)
    _check_laws_listed(platforms, {law.id for law in laws}, source)
    return Registry(platforms, defaults, source, laws)


def _law(entry: Any, index: int, defaults: Timings, source: str) -> Law:
    where, values = _entry(entry, f"{source}: [[law]] #{index}", "id", LAW_FIELDS, LAW_FIELDS, LAW_REQUIRED)
    values.setdefault("deadline_grace", defaults.deadline_grace)
    if "regulator_url" in values and "regulator" not in values:
        raise RegistryError(f'{where}: field "regulator" is required when "regulator_url" is given')
    return Law(**values)


def _entry(
    entry: Any, where: str, name: str, allowed: Collection[str], fields: dict[str, read.Reader], required: Iterable[str]
) -> tuple[str, dict[str, Any]]:
    """One [[…]] table read: where it is (with its ``name`` field), and the values of ``fields``
    it sets; an unknown key or a missing required field is an error naming it."""
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: must be a table")
    if isinstance(entry.get(name), str) and entry[name].strip():
        where += f' "{entry[name].strip()}"'
    _check_keys(entry, allowed, where, "field")
    values = {f: _value(where, f, reader, entry[f]) for f, reader in fields.items() if f in entry}
    for field in required:
        if field not in values:
            raise RegistryError(f'{where}: field "{field}" is missing')
    return where, values


def _platform(entry: Any, index: int, defaults: Timings, source: str) -> RegisteredPlatform:
    allowed = PLATFORM_FIELDS.keys() | TIMING_FIELDS.keys() - {"deadline_grace"}  # a law's (or [defaults])
    where, values = _entry(entry, f"{source}: [[platform]] #{index}", "name", allowed, PLATFORM_FIELDS, REQUIRED_FIELDS)
    needed = CHANNEL_NEEDS[values["channel"]]
    if needed not in values:
        raise RegistryError(f'{where}: field "{needed}" is required when channel is "{values["channel"]}"')
    domains = values.pop("domains")
    laws = values.pop("laws", [])
    if "copyright_email" in values:
        values["copyright_route"] = values.get("copyright_route", True)
    timings = _timings(entry, defaults, where)
    return RegisteredPlatform(domains=domains, laws=laws, policy=PlatformPolicy(**values, timings=timings))


def _timings(table: Mapping[str, Any], base: Timings, where: str) -> Timings:
    """``base`` with the timings this table sets."""
    updates = {f: _value(where, f, reader, table[f]) for f, reader in TIMING_FIELDS.items() if f in table}
    return base.model_copy(update=updates, deep=True)


def _value(where: str, field: str, reader: read.Reader, value: Any) -> Any:
    try:
        return reader(value)
    except ValueError as error:
        raise RegistryError(f'{where}: field "{field}": {error}') from None


def _check_keys(table: Mapping[str, Any], allowed: Collection[str], where: str, noun: str) -> None:
    for key in table:
        if key not in allowed:
            close = get_close_matches(key, sorted(allowed), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise RegistryError(f'{where}: unknown {noun} "{key}"{hint}')


def _check_unique_laws(laws: list[Law], source: str) -> None:
    seen: dict[str, int] = {}
    for index, law in enumerate(laws, 1):
        if law.id in seen:
            raise RegistryError(
                f'{source}: [[law]] #{index}: field "id": "{law.id}" is already used by [[law]] #{seen[law.id]}'
            )
        seen[law.id] = index


def _check_laws_listed(platforms: list[RegisteredPlatform], defined: set[str], source: str) -> None:
    for index, platform in enumerate(platforms, 1):
        for law in platform.laws:
            if law not in defined:
                close = get_close_matches(law, sorted(defined), n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else " (define it in a [[law]] table)"
                raise RegistryError(
                    f'{source}: [[platform]] #{index} "{platform.name}": field "laws": no law "{law}"{hint}'
                )


def _check_unique(platforms: list[RegisteredPlatform], source: str) -> None:
    owners: dict[str, str] = {}
    names: dict[str, str] = {}
    for index, platform in enumerate(platforms, 1):
        where = f'{source}: [[platform]] #{index} "{platform.name}"'
        if platform.name in names:
            raise RegistryError(f'{where}: field "name": "{platform.name}" is already used by {names[platform.name]}')
        names[platform.name] = f"[[platform]] #{index}"
        for domain in platform.domains:
            if domain in owners:
                raise RegistryError(f'{where}: field "domains": "{domain}" is already listed by {owners[domain]}')
            owners[domain] = f'[[platform]] #{index} "{platform.name}"'
