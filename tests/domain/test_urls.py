import hashlib
import hmac

import pytest

from tada.domain.urls import InvalidUrl, host_of, link_id_for, normalise_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # case: scheme and host lower-cased, path kept
        ("HTTPS://WWW.Example.COM/Some/Path", "https://www.example.com/Some/Path"),
        # default ports removed, others kept
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        # fragment removed, except a #! route that is part of the address
        ("https://example.com/a#top", "https://example.com/a"),
        ("https://example.com/#!/user/status/1", "https://example.com/#!/user/status/1"),
        # tracking parameters removed, the rest kept in order
        ("https://example.com/v?utm_source=x&b=2&fbclid=1&a=1&UTM_Medium=y", "https://example.com/v?b=2&a=1"),
        ("https://example.com/v?gclid=1&msclkid=2&igshid=3&igsh=4&mc_cid=5&_ga=6", "https://example.com/v"),
        ("https://example.com/v?id=1&ref_src=twsrc&si=abc", "https://example.com/v?id=1&si=abc"),
        ("https://www.youtube.com/watch?v=abc&si=xyz", "https://www.youtube.com/watch?v=abc"),
        ("https://example.com/v?", "https://example.com/v"),
        # empty path becomes /
        ("https://example.com", "https://example.com/"),
        # without a scheme: https:// is added
        ("www.site.com/abc", "https://www.site.com/abc"),
        ("site.com:8080/abc", "https://site.com:8080/abc"),
        ("//site.com/abc", "https://site.com/abc"),
        # surrounding whitespace, trailing dot of the host
        ("  https://example.com./x \n", "https://example.com/x"),
        # IDN to punycode (UTS 46 mapping, so upper case and full-width dots too)
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://BÜCHER.example/x", "https://xn--bcher-kva.example/x"),
        ("https://例え。jp/", "https://xn--r8jz45g.jp/"),
        # non-ASCII and lower-case escapes in path and query become one spelling
        ("https://example.com/路?q=é", "https://example.com/%E8%B7%AF?q=%C3%A9"),
        ("https://example.com/%e8%b7%af", "https://example.com/%E8%B7%AF"),
        # IP address literals
        ("http://192.0.2.1:80/x", "http://192.0.2.1/x"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        # read as a browser reads them (WHATWG URL standard): dot segments resolved, escaped
        # or not, a backslash is a slash, the host percent-decoded
        ("https://example.com/a/../b/./c", "https://example.com/b/c"),
        ("https://example.com/a/%2e%2E/b/%2e/c", "https://example.com/b/c"),
        ("https://example.com/a/..", "https://example.com/"),
        ("https://example.com/a%2eb/%2e%2e%2fc", "https://example.com/a%2Eb/%2E%2E%2Fc"),  # not segments
        ("https://example.com/\\@evil.example/", "https://example.com//@evil.example/"),
        ("https://example.com\\x\\y", "https://example.com/x/y"),
        ("https://example.com\\@evil.example/", "https://example.com/@evil.example/"),  # no user name
        ("http://192.0.2.1./x", "http://192.0.2.1/x"),
        ("http:example.com/x", "http://example.com/x"),
        ("https://ex%61mple.com/", "https://example.com/"),
        ("https://example.com/?q='x'", "https://example.com/?q=%27x%27"),  # as browsers send it
    ],
)
def test_normalises(raw, expected):
    assert normalise_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "HTTPS://WWW.Example.COM:443/P?utm_source=x&a=1#f",
        "https://bücher.example/路?q=é",
        "site.com/x",
        "https://example.com/a/%2e%2e/|^/b?x=%7c|'#!/r|",
        "http://192.0.2.1/\\a\\..\\b",
    ],
)
def test_normalising_twice_changes_nothing(raw):
    once = normalise_url(raw)
    assert normalise_url(once) == once


@pytest.mark.parametrize(
    ("raw", "read_as"),
    [
        ("http://192.0x00A80001/", "192.168.0.1"),
        ("http://0xC0.0x00.0x02.0x01/", "192.0.2.1"),
        ("http://0300.0250.0.01/", "192.168.0.1"),
        ("http://010.0.0.1/", "8.0.0.1"),  # octal: not 10.0.0.1
        ("http://3221225985/", "192.0.2.1"),
        ("http://2130706433:8080/", "127.0.0.1"),
        ("https://1.2.3/", "1.2.0.3"),
        ("http://%31%32%37.0.0.1/", "127.0.0.1"),
        ("http://０Ｘｃ０．０２５０．０１/", "192.168.0.1"),
    ],
)
def test_refuses_an_ipv4_address_in_a_disguise_saying_what_a_browser_reads(raw, read_as):
    with pytest.raises(InvalidUrl) as caught:
        normalise_url(raw)
    assert caught.value.reason == f"has an IPv4 address written in hex, octal or short form (a browser reads {read_as})"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("javascript:alert(1)", "only http and https links can be taken down"),
        ("JavaScript:alert(document.cookie)", "only http and https links can be taken down"),
        ("data:text/html,<b>x</b>", "only http and https links can be taken down"),
        ("ftp://example.com/file", "only http and https links can be taken down"),
        ("file:///etc/passwd", "only http and https links can be taken down"),
        ("mailto:someone@example.com", "only http and https links can be taken down"),
        ("https://user:secret@example.com/", "contains a user name or password"),
        ("https://example.com@evil.com/", "contains a user name or password"),
        ("https://exa mple.com/", "contains spaces or control characters"),
        ("https://example.com/a\tb", "contains spaces or control characters"),
        ("https://example.com/\x00", "contains spaces or control characters"),
        ("https://localhost/x", "host must be a domain name like example.com or an IP address"),
        ("https:///path", "host must be a domain name like example.com or an IP address"),  # host "path"
        ("https://", "has no host"),
        ("/path/only", "has no host"),
        ("\\\\server\\share", "has no host"),
        ("https://1.2.3.256/", "has an invalid IP address"),
        ("https://1.2.3.4.5/", "has an invalid IP address"),
        ("https://example.123/", "has an invalid IP address"),
        ("https://foo.0x4/", "has an invalid IP address"),
        ("http://[::1%25eth0]/", "has an invalid IP address"),
        ("https://exa_mple..com/", "has an invalid host name"),
        ("https://example.com../", "has an invalid host name"),
        ("https://a*b.example/", "has an invalid host name"),
        ("https://a.b.c.xn--pokxncvks/", "has an invalid international domain name"),
        ("https://☃.example/", "has an invalid international domain name"),
        ("https://example.com/\ud800", "contains a lone surrogate, which is not text"),
        ("https://-bad-.com/", "has an invalid host name"),
        ("https://a\u200db.example/", "has an invalid international domain name"),
        ("https://example.com:99999/", "not a valid web address"),
        ("https://example.com:http/", "not a valid web address"),
    ],
)
def test_rejects_with_a_reason(raw, reason):
    with pytest.raises(InvalidUrl) as caught:
        normalise_url(raw)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_rejects_over_long_links():
    assert normalise_url("https://example.com/" + "a" * 2028)  # exactly 2048
    with pytest.raises(InvalidUrl, match="longer than 2048 characters"):
        normalise_url("https://example.com/" + "a" * 2029)


def test_rejects_links_that_grow_too_long_when_normalised():
    with pytest.raises(InvalidUrl, match="longer than 2048 characters"):
        normalise_url("https://example.com/" + "路" * 700)


KEY = bytes(range(32))


def test_a_link_id_is_keyed_by_the_case():
    url = normalise_url("https://example.com/private/photo.jpg")
    link_id = link_id_for("case-7", url, KEY)
    assert link_id == "case-7-" + hmac.new(KEY, b"tada link id\x00" + url.encode(), hashlib.sha256).hexdigest()[:16]
    assert "example" not in link_id and "photo" not in link_id
    unkeyed = hashlib.sha256(url.encode()).hexdigest()[:16]  # what a guesser without the key computes
    assert unkeyed not in link_id
    assert link_id_for("case-7", url, bytes(32)) != link_id  # another case's key, another id
    with pytest.raises(ValueError, match="32 bytes"):
        link_id_for("case-7", url, b"short")


def test_the_same_link_written_two_ways_has_one_id():
    a = normalise_url("HTTPS://Example.com:443/x?utm_campaign=share#top")
    b = normalise_url("example.com/x")
    assert link_id_for("c1", a, KEY) == link_id_for("c1", b, KEY)
    assert link_id_for("c1", a, KEY) != link_id_for("c2", a, KEY)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Sub.Example.co.uk/x", "sub.example.co.uk"),
        ("www.site.com/abc", "www.site.com"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("http://[2001:db8::1]/", "2001:db8::1"),
        ("http://192.0.2.1:8080/", "192.0.2.1"),
    ],
)
def test_host_of(url, host):
    assert host_of(url) == host
