"""URL normalisation, link ids and hosts.

The normalised URL is what tada stores, checks and sends to a platform, so it
must still open the same page: only changes that cannot alter the page are made.
A link is first read as a browser reads it, by the WHATWG URL standard (ada, the
parser Node.js uses): ``\\`` is ``/`` in the path, ``.``, ``..`` and their escapes
``%2e`` are resolved, the host is percent-decoded and mapped (UTS 46), the default
port goes. Then tada drops the fragment (but a ``#!`` route) and tracking
parameters, percent-encodes what a browser sends raw (``|``, ``^``, non-ASCII) and
upper-cases every escape. The same link written two ways normalises to one string,
and so to one link id and one workflow; two links a browser would request
differently never do.

A link id is keyed: an HMAC of the normalised URL under the case's own id key
(``cases.id_key``, which a purge destroys), so nobody can confirm a guessed URL
from an id, before or after the purge.

tada is stricter than a browser where DNS is: a host must be a domain name of
two labels or more, each of letters, digits, ``-`` and ``_``, with a valid
``xn--`` form, or an IP address. An IPv4 address written other than as four
decimal numbers (``0x7f.1``, ``2130706433``, ``0177.0.0.1``, ``127.1``) is refused,
with the address a browser reads in it, as tada's egress refuses such hosts
(``tada.domain.addresses``): it disguises where a link goes. Spaces, control
characters and user names are refused too. Every refusal is an InvalidUrl whose
reason names the part at fault.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from urllib.parse import quote, unquote, urlsplit

import ada_url
import idna

from tada.domain.hosts import registrable_domain
from tada.errors import InvalidInput

__all__ = [
    "MAX_URL_LENGTH",
    "TRACKING_PARAMETERS",
    "InvalidUrl",
    "host_of",
    "link_id_for",
    "normalise_url",
    "registrable_domain",
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
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        raise InvalidUrl("contains a lone surrogate, which is not text")
    text = _with_scheme(text)
    scheme = text.split(":", 1)[0].lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidUrl("only http and https links can be taken down")
    authority = _authority(text)
    if "@" in authority:
        raise InvalidUrl("contains a user name or password")
    try:
        parts = ada_url.URL(text)
    except ValueError:
        raise InvalidUrl(_why_unreadable(authority)) from None
    host = _checked_host(parts, authority)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:  # ada leaves out the scheme's default port
        netloc += f":{parts.port}"
    url = f"{scheme}://{netloc}{_tidy(parts.pathname) or '/'}"
    query = _strip_tracking(parts.search.removeprefix("?"), host)
    if query:
        url += f"?{query}"
    fragment = parts.hash.removeprefix("#")
    if fragment.startswith("!"):  # "#!/path" is an address, not a position on the page
        url += f"#{_tidy(fragment)}"
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"longer than {MAX_URL_LENGTH} characters")
    return url


#: What each use of a case's id key is for, so one keyed hash never stands for another.
LINK_ID_PURPOSE = b"tada link id\x00"
ID_KEY_BYTES = 32


def keyed_digest(key: bytes, purpose: bytes, text: str, digits: int) -> str:
    """The first ``digits`` hex digits of HMAC-SHA256(key, purpose + text)."""
    if len(key) != ID_KEY_BYTES:
        raise ValueError(f"a case's id key is {ID_KEY_BYTES} bytes")
    return hmac.new(key, purpose + text.encode("utf-8"), hashlib.sha256).hexdigest()[:digits]


def link_id_for(case_id: str, normalised_url: str, id_key: bytes) -> str:
    """The link's id and Temporal workflow id: the case id and a keyed hash of the URL. Without
    the case's id key the URL cannot be confirmed from it (and the purge deletes the key)."""
    return f"{case_id}-{keyed_digest(id_key, LINK_ID_PURPOSE, normalised_url, 16)}"


def host_of(url: str) -> str:
    """The (normalised) host of a URL: punycode for IDN, no brackets around an IPv6 address."""
    return urlsplit(normalise_url(url)).hostname or ""


def _with_scheme(text: str) -> str:
    """Add https:// to a bare ``host/path`` (or ``host:port/path``, or ``//host/path``)."""
    if text.startswith("//") and not text.startswith(("///", "//\\")):
        return f"https:{text}"
    if text.startswith(("/", "\\")):
        raise InvalidUrl("has no host")  # a path ("/x", "///x") or a file share ("\\\\server\\x")
    match = _SCHEME.match(text)
    if match and match.group(1).lower() in NEVER_HOSTS:
        return text  # "javascript:1" is a script, not host "javascript" on port 1
    if match:
        scheme, rest = match.groups()
        if rest.startswith("//") or not re.match(r"\d*(?:[/?#]|$)", rest):
            return text  # has a scheme, perhaps a bad one, which the caller rejects
    return f"https://{text}"


def _authority(url: str) -> str:
    """What a browser reads as the ``user@host:port`` of a web URL: after the scheme and any
    slashes or backslashes, up to the first ``/``, ``\\``, ``?`` or ``#``."""
    rest = url.split(":", 1)[1].lstrip("/\\")
    return re.split(r"[/\\?#]", rest, maxsplit=1)[0]


def _why_unreadable(authority: str) -> str:
    """Why a browser could not read a web URL with this authority, for people."""
    if authority.startswith("["):
        return "has an invalid IP address"
    host, _, port = authority.partition(":")
    if port and (not port.isdigit() or int(port) > 65535):
        return "not a valid web address"
    if not host:
        return "has no host"
    last = host.removesuffix(".").rsplit(".", 1)[-1].lower()
    if last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:])):
        return "has an invalid IP address"  # a host ending in a number is read as an IPv4 address
    if not host.isascii() or "xn--" in host.lower():
        return "has an invalid international domain name"
    return "has an invalid host name"


def _checked_host(parts: ada_url.URL, authority: str) -> str:
    """The host of a parsed web URL as tada stores it: an IP address without brackets, or a
    DNS name in lower-case ASCII without the root's trailing dot."""
    if parts.host_type == ada_url.HostType.IPV6:
        return parts.hostname.removeprefix("[").removesuffix("]")
    if parts.host_type == ada_url.HostType.IPV4:
        written = authority.partition(":")[0].lower().removesuffix(".")
        if written != parts.hostname:  # 0x7f.1, 2130706433, 0177.0.0.1, 127.1, %31%32%37.0.0.1
            raise InvalidUrl(
                f"has an IPv4 address written in hex, octal or short form (a browser reads {parts.hostname})"
            )
        return parts.hostname
    host = parts.hostname.removesuffix(".")  # never empty: a web URL without a host is unreadable
    labels = host.split(".")
    if len(labels) < 2:
        raise InvalidUrl("host must be a domain name like example.com or an IP address")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidUrl("has an invalid host name")
    if not all(_valid_a_label(label) for label in labels if label.startswith("xn--")):
        raise InvalidUrl("has an invalid international domain name")
    return host


def _valid_a_label(label: str) -> bool:
    """An ``xn--`` label that decodes to a valid international label (IDNA 2008), as every
    registry requires; browsers also take some that do not (``xn--pokxncvks``)."""
    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        return False
    return True


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
