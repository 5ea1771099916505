"""The public suffix list, with the kind of each private suffix decided.

The list is the one the ``publicsuffixlist`` package ships (a release follows nearly every
change to the list, its date in the version); it is read from the installed package when
first needed and never fetched. Upgrading that package, also from a wheel copied onto an
offline machine, is how the list is refreshed (README, "Dependencies").

The list has an ICANN part (``com``, ``co.uk``, ...) and a private part, and the private
part holds two kinds of suffix (``tada/domain/data/private_registries.toml`` says which
sections are which, and why): registries, under which each name is somebody's own site
(``site.uk.com``), and platforms, whose operator hosts every name under it
(``user.github.io``: the site is GitHub's to take down). A ``SuffixList`` answers with both
parts where the suffix is a registry's, and with the ICANN part alone otherwise.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import publicsuffixlist
from publicsuffixlist import PublicSuffixList

__all__ = ["REGISTRIES_FILE", "PrivateSection", "SuffixList", "bundled", "registry_sections"]

REGISTRIES_FILE = Path(__file__).parent / "data" / "private_registries.toml"

_VERSION = re.compile(r"//\s*VERSION:\s*(\S+)")
_BEGIN_PRIVATE = "// ===BEGIN PRIVATE DOMAINS==="
_END_ICANN = "// ===END ICANN DOMAINS==="


@dataclass(frozen=True)
class PrivateSection:
    """One section of the list's private part: its header's name and its rules."""

    name: str
    rules: tuple[str, ...]


class SuffixList:
    """The rules of one public suffix list (its text), private registries' sections named."""

    def __init__(self, text: str, registries: Iterable[str]) -> None:
        icann, sections, version = _parse(text)
        wanted = set(registries)
        #: The list's ``VERSION`` line (``2026-10-22_08-36-41_UTC``), or "unknown".
        self.version = version
        self.sections = sections
        registry_rules = [rule for section in sections if section.name in wanted for rule in section.rules]
        self._icann = PublicSuffixList(icann)
        self._sites = PublicSuffixList(icann + registry_rules)

    def registrable(self, host: str) -> str | None:
        """The site's own domain: one label below its public suffix (a registry's private
        suffix counts, a platform's does not); None for a suffix itself or an empty label.
        A name under no listed suffix gets the list's default rule, ``*``: its last two labels."""
        return self._sites.privatesuffix(host)

    def registered(self, host: str) -> str | None:
        """The name as registered under an ICANN suffix (what that TLD's registry knows), or None."""
        return self._icann.privatesuffix(host)


@cache
def bundled() -> SuffixList:
    """The list the installed ``publicsuffixlist`` package ships, read once."""
    text = Path(publicsuffixlist.PSLFILE).read_text(encoding="utf-8")
    return SuffixList(text, registry_sections())


@cache
def registry_sections() -> tuple[str, ...]:
    """The names of the private sections that are registries (REGISTRIES_FILE)."""
    with REGISTRIES_FILE.open("rb") as file:
        return tuple(tomllib.load(file)["sections"])


def _parse(text: str) -> tuple[list[str], list[PrivateSection], str]:
    """The ICANN rules, the private sections and the version of a list in its published format."""
    icann: list[str] = []
    sections: list[PrivateSection] = []
    version = "unknown"
    private = False
    name: str | None = None
    rules: list[str] = []
    for raw in text.splitlines() + [""]:
        line = raw.strip()
        found = _VERSION.match(line)
        if found and version == "unknown":
            version = found.group(1)
        if line == _END_ICANN or line == _BEGIN_PRIVATE:
            private = True
            continue
        if not private:
            if line and not line.startswith("//"):
                icann.append(line.split()[0])
            continue
        if not line:  # a blank line ends a section
            if name is not None and rules:
                sections.append(PrivateSection(name, tuple(rules)))
            name, rules = None, []
        elif line.startswith("//"):
            if name is None and not line.startswith("// ==="):
                name = re.split(r"\s*:\s", line[2:].strip(), maxsplit=1)[0].strip()
        else:
            rules.append(line.split()[0])
    return icann, sections, version
