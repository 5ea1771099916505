"""URL normalisation, link ids and hosts.

The normalised URL is what tada stores, checks and sends to a platform, so it
must still open the same page: only changes that cannot alter the page are made
(case of scheme and host, default port, fragment, tracking parameters, percent
escapes). The same link written two ways normalises to one string, and so to
one link id and one workflow.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote, unquote, urlsplit

import idna

from tada.domain.hosts import ip_literal, registrable_domain
from tada.errors import InvalidInput

__all__ = [
    "MAX_URL_LENGTH",
    "TRACKING_PARAMETERS",
    "InvalidUrl",
    "host_of",
    "link_id_for",
    "normalise_url",
    "registrable_domain",
    "url_hash",
]

MAX_URL_LENGTH = 2048

#: Query parameters that only track who shared a link; removed everywhere, with any ``utm_*``.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "ref_src",
    }
)  # fmt: skip
#: Tracking parameters that mean something else on other sites, removed only on these.
SITE_TRACKING_PARAMETERS: dict[str, frozenset[str]] = {
    "youtube.com": frozenset({"si"}),
    "youtu.be": frozenset({"si"}),
}

DEFAULT_PORTS = {"http": 80, "https": 443}

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", re.DOTALL)
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
#: Characters left as they are in a path or query; everything else is percent-encoded.
_SAFE = "!$%&'()*+,/:;=?@[]~-._"


#: Schemes that a bare "name:digits" must never be read as a host and port.
NEVER_HOSTS = frozenset({"javascript", "data", "vbscript", "file", "mailto", "about", "blob"})


class InvalidUrl(InvalidInput, ValueError):
    """A value that is not a link tada can take down; ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_url(raw: str) -> str:
    """The one canonical spelling of a web link, or InvalidUrl saying what is wrong with it."""
    if not isinstance(raw, str):
        raise InvalidUrl("not text")
    text = raw.strip()
    if not text:
        raise InvalidUrl("empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidUrl(f"longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidUrl("contains spaces or control characters")
    try:
        parts = urlsplit(_with_scheme(text))
        port = parts.port
    except ValueError:
        raise InvalidUrl("not a valid web address") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidUrl("only http and https links can be taken down")
    if "@" in parts.netloc:
        raise InvalidUrl("contains a user name or password")
    host = _normalise_host(parts.hostname or "")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    url = f"{scheme}://{netloc}{_tidy(parts.path) or '/'}"
    query = _strip_tracking(parts.query, host)
    if query:
        url += f"?{query}"
    if parts.fragment.startswith("!"):  # "#!/path" is an address, not a position on the page
        url += f"#{_tidy(parts.fragment)}"
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"longer than {MAX_URL_LENGTH} characters")
    return url


def url_hash(normalised_url: str) -> str:
    """A short, stable fingerprint of a normalised URL (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(normalised_url.encode("utf-8")).hexdigest()[:16]


def link_id_for(case_id: str, normalised_url: str) -> str:
    """The link's id and Temporal workflow id; carries a hash, never the URL."""
    return f"{case_id}-{url_hash(normalised_url)}"


def host_of(url: str) -> str:
    """The (normalised) host of a URL: punycode for IDN, no brackets around an IPv6 address."""
    return urlsplit(normalise_url(url)).hostname or ""


def _with_scheme(text: str) -> str:
    """Add https:// to a bare ``host/path`` (or ``host:port/path``, or ``//host/path``)."""
    if text.startswith("//"):
        return f"https:{text}"
    match = _SCHEME.match(text)
    if match and match.group(1).lower() in NEVER_HOSTS:
        return text  # "javascript:1" is a script, not host "javascript" on port 1
    if match:
        scheme, rest = match.groups()
        if rest.startswith("//") or not re.match(r"\d*(?:[/?#]|$)", rest):
            return text  # has a scheme, perhaps a bad one, which the caller rejects
    return f"https://{text}"


def _normalise_host(host: str) -> str:
    host = host.rstrip(".")
    if not host:
        raise InvalidUrl("has no host")
    ip = ip_literal(host)
    if ip is not None:
        return str(ip)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise InvalidUrl("has an invalid international domain name") from None
    host = host.lower()
    labels = host.split(".")
    if len(labels) < 2:
        raise InvalidUrl("host must be a domain name like example.com or an IP address")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidUrl("has an invalid host name")
    if labels[-1].isdigit():
        raise InvalidUrl("has an invalid IP address")
    return host


def _strip_tracking(query: str, host: str) -> str:
    site = SITE_TRACKING_PARAMETERS.get(registrable_domain(host), frozenset())
    kept = []
    for pair in query.split("&"):
        name = unquote(pair.split("=", 1)[0]).lower()
        if pair and not name.startswith("utm_") and name not in TRACKING_PARAMETERS | site:
            kept.append(_tidy(pair))
    return "&".join(kept)


def _tidy(part: str) -> str:
    """Percent-encode what must be encoded (non-ASCII, quotes...) and upper-case every escape."""
    encoded = quote(part, safe=_SAFE)
    return _ESCAPE.sub(lambda m: m.group(0).upper(), encoded)
