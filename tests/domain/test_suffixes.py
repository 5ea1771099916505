"""The kinds of the private suffixes: every registry section named in
tada/domain/data/private_registries.toml is one of the list's, and the list's text decides."""

from pathlib import Path

import publicsuffixlist
import pytest

from tada.domain.suffixes import SuffixList, bundled, registry_sections

LIST_TEXT = Path(publicsuffixlist.PSLFILE).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", registry_sections())
def test_every_registry_section_named_is_a_section_of_the_list_with_rules(name):
    sections = {section.name: section for section in bundled().sections}
    assert name in sections, f"{name!r} is no section of the list of {bundled().version}: renamed upstream?"
    assert sections[name].rules


def test_no_registry_section_is_named_twice():
    assert len(set(registry_sections())) == len(registry_sections())


def test_the_list_is_read_by_its_sections():
    sections = {section.name: section.rules for section in bundled().sections}
    assert {"uk.com", "us.com", "br.com"} <= set(sections["CentralNic"])
    assert "github.io" in sections["GitHub, Inc."]
    assert "blogspot.com" in sections["Google, Inc."]
    assert "co.uk" not in {rule for rules in sections.values() for rule in rules}  # ICANN, not private
    assert len(sections) > 500


def test_a_section_not_named_a_registry_is_a_platform():
    platforms_only = SuffixList(LIST_TEXT, registries=[])
    assert platforms_only.registrable("www.site.uk.com") == "uk.com"
    assert platforms_only.registrable("user.github.io") == "github.io"
    registries = SuffixList(LIST_TEXT, registries=["CentralNic", "GitHub, Inc."])
    assert registries.registrable("www.site.uk.com") == "site.uk.com"
    assert registries.registrable("user.github.io") == "user.github.io"


def test_a_registry_name_the_list_does_not_have_is_no_error():
    assert SuffixList(LIST_TEXT, registries=["No Such Section"]).registrable("www.site.uk.com") == "uk.com"


def test_the_version_comes_from_the_lists_text():
    assert SuffixList(LIST_TEXT, registries=[]).version == bundled().version
    assert SuffixList("com\n", registries=[]).version == "unknown"
