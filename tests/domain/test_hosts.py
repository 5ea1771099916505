"""Registrable domains: the public suffix list's own test vectors, its private part by kind,
names under a TLD the list does not know, and the list being current and never fetched."""

import ast
import importlib.resources
import re
import socket

import pytest

import tada.domain.suffixes as suffixes
from tada.domain.hosts import rdap_domain, registrable_domain, suffix_list_version


def _psl_test_vectors() -> list[tuple[str, str | None]]:
    """``checkPublicSuffix(domain, expected)`` from test_psl.txt, the PSL project's test file
    that the publicsuffixlist package ships beside the list (null input left out: hosts are text)."""
    text = (importlib.resources.files("publicsuffixlist") / "test_psl.txt").read_text(encoding="utf-8")
    vectors = []
    for line in text.splitlines():
        found = re.fullmatch(r"checkPublicSuffix\((.+), (.+)\);", line.strip())
        if found:
            domain, expected = (None if part == "null" else ast.literal_eval(part) for part in found.groups())
            if domain is not None:
                vectors.append((domain, expected))
    return vectors


VECTORS = _psl_test_vectors()


def test_the_psl_test_file_is_there_and_read():
    assert len(VECTORS) > 70
    assert ("example.uk.com", "example.uk.com") in VECTORS  # a private registry's suffix, as below


@pytest.mark.parametrize(("domain", "expected"), VECTORS)
def test_the_public_suffix_lists_own_test_vectors(domain, expected):
    assert suffixes.bundled().registrable(domain) == expected
    assert registrable_domain(domain) == (expected or domain.lower().removesuffix("."))


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("sub.example.co.uk", "example.co.uk"),
        ("a.b.c.example.com", "example.com"),
        ("example.com", "example.com"),
        ("t.me", "t.me"),
        ("www.google.com.hk", "google.com.hk"),
        ("WWW.Example.COM.", "example.com"),
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        # private suffixes of registries: each name under them is somebody's own site
        ("site.uk.com", "site.uk.com"),
        ("www.site.us.com", "site.us.com"),
        ("shop.example.eu.org", "example.eu.org"),
        ("www.site.de.eu.org", "site.de.eu.org"),
        ("www.site.pp.ua", "site.pp.ua"),
        ("a.site.us.kg", "site.us.kg"),
        ("uk.com", "uk.com"),  # the suffix's own site: itself
        # private suffixes of platforms: the platform hosts every name under them
        ("someone.blogspot.com", "blogspot.com"),
        ("user.github.io", "github.io"),
        ("project.gitlab.io", "gitlab.io"),
        ("bucket.s3.amazonaws.com", "amazonaws.com"),
        ("myhome.duckdns.org", "duckdns.org"),
        # a TLD the list does not know: its default rule "*", the last two labels
        ("www.site.tld", "site.tld"),
        ("a.b.xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("cdn.exampletube.test", "exampletube.test"),
        # rules of the current list that the list of 2025-04 did not have
        ("www.site.bank.in", "site.bank.in"),
        ("www.site.api.br", "site.api.br"),
        ("portal.site.gov.cz", "site.gov.cz"),
    ],
)
def test_registrable_domain(host, domain):
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("sub.example.co.uk", "example.co.uk"),
        ("www.site.uk.com", "uk.com"),  # .com's registry knows uk.com, not CentralNic's names under it
        ("www.site.de.eu.org", "eu.org"),
        ("someone.blogspot.com", "blogspot.com"),
        ("www.site.tld", "site.tld"),
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_rdap_domain_is_the_name_an_icann_registry_knows(host, domain):
    assert rdap_domain(host) == domain


def test_the_list_is_a_current_one():
    version = suffix_list_version()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC", version)
    assert version >= "2026-10-22"  # the package's minimum in pyproject.toml ships this list or a newer one


def test_the_list_is_read_from_the_installed_package_never_fetched(monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    suffixes.bundled.cache_clear()
    try:
        assert registrable_domain("sub.example.co.uk") == "example.co.uk"
    finally:
        suffixes.bundled.cache_clear()
    assert attempts == []
