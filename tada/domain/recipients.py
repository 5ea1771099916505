"""Whether an email address can ever receive a notice: one check for every source of
addresses (the registry, a caseworker's ``--to``, RDAP, and the sender before it sends).

Pure, no I/O (no DNS: whether a mailbox exists is for the relay to say). An address is
one RFC 5321 mailbox and nothing else: ``local@domain``, the local part a dot-atom of
ASCII characters (at most 64), the domain a host name (letters, digits, hyphens; an
international name is turned into its ``xn--`` form), the whole at most 254 characters.
Refused, because each would fail in the sender for ever or reach someone else:

- lists and extras: ``a@b,c@d``, ``a@b;c@d``, a name with the address (``Abuse <a@b>``),
  a ``mailto:`` link (``mailto:a@b?bcc=c@d``), quoted local parts, spaces;
- control, invisible and direction characters anywhere (NUL, ESC, CR/LF, U+202E...);
- domain literals (``abuse@[127.0.0.1]``) and IP addresses as the domain: refused like
  private web targets, tada writes only to named domains;
- names that never receive mail: a domain without a dot, ``.invalid``, ``.localhost``;
- an international local part (it needs SMTPUTF8, which a relay may not offer);
- a local part that starts with ``=``, ``+`` or ``-``, or holds ``|`` or ``!``: RFC 5321
  allows them, no abuse desk uses them, and each is a weapon somewhere an address goes: a
  spreadsheet runs ``=cmd|'/c calc'!A0@x.example`` as a formula (a report's CSV), a mail
  server may hand ``|`` to a program and route ``host!user`` to another host, and a
  program's command line takes ``-x@...`` for an option.

A refusal's message names the recipient's domain when the address has exactly one and it
is a valid host name, otherwise "the address": never the address itself, so nothing of it
reaches a log or a workflow history.
"""

from __future__ import annotations

import re
import string
import unicodedata

import idna

#: RFC 5321 4.5.3.1: the longest local part, domain and whole address (a path is 256 with
#: its angle brackets).
MAX_LOCAL = 64
MAX_DOMAIN = 253
MAX_ADDRESS = 254
#: Top-level names that never receive mail (RFC 2606, RFC 6761).
NO_MAIL_TLDS = frozenset({"invalid", "localhost"})

_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
#: Refused in a local part although RFC 5321 allows them (see above): first characters that
#: make a formula or an option, and characters that make a program or a route.
_NEVER_FIRST = frozenset("=+-")
_NEVER_IN_LOCAL = frozenset("|!")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
#: Unicode categories of characters no address may hold: controls (NUL, ESC, CR, LF...),
#: formats (bidi overrides such as U+202E, zero-width joiners, BOM), line and paragraph
#: separators, surrogates, private use and unassigned code points.
_NEVER = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


class BadRecipient(ValueError):
    """An address that can never receive a notice. ``where`` is its domain when that can be
    named, else "the address"; ``reason`` says what is wrong. Neither holds the address."""

    def __init__(self, reason: str, domain: str | None = None) -> None:
        self.reason = reason
        self.domain = domain
        subject = f"the address at {domain}" if domain else "the address"
        super().__init__(f"{subject} {reason}")

    @property
    def where(self) -> str:
        return self.domain or "the address"


def check_recipient(value: object) -> str:
    """The address, ready for SMTP (an international domain in its ``xn--`` form), or
    BadRecipient. Spaces and line ends around it are dropped; nothing else is changed."""
    if not isinstance(value, str):
        raise BadRecipient("is not text")
    address = value.strip(" \t\r\n")
    if not address:
        raise BadRecipient("is empty")
    if any(unicodedata.category(ch) in _NEVER for ch in address):
        raise BadRecipient("contains a control, invisible or text-direction character")
    if address[:7].lower() == "mailto:":
        raise BadRecipient("is a mailto: link; give the address alone")
    if "<" in address or ">" in address or '"' in address:
        raise BadRecipient("has a name, quotes or angle brackets; give the address alone, like abuse@example.com")
    if "," in address or ";" in address:
        raise BadRecipient("lists more than one recipient (',' or ';'); give one address")
    if any(ch.isspace() for ch in address):
        raise BadRecipient("contains a space; give one address alone")
    if address.count("@") != 1:
        raise BadRecipient("has no @" if "@" not in address else "has more than one @; give one address")
    local, _, domain = address.partition("@")
    ascii_domain = _check_domain(domain)
    _check_local(local, ascii_domain)
    checked = f"{local}@{ascii_domain}"
    if len(checked) > MAX_ADDRESS:
        raise BadRecipient(f"is longer than {MAX_ADDRESS} characters", ascii_domain)
    return checked


def recipient_domain(address: str) -> str:
    """The domain of an address check_recipient accepted (what messages name)."""
    return address.rpartition("@")[2]


def _check_domain(domain: str) -> str:
    if not domain:
        raise BadRecipient("has nothing after the @")
    if domain.startswith("["):
        raise BadRecipient("has an IP address in brackets as its domain; tada writes only to named domains")
    ascii_domain = domain
    if not domain.isascii():
        try:
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise BadRecipient("has a domain that is not a valid international name") from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > MAX_DOMAIN or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadRecipient("has a domain that is not a host name (letters, digits, hyphens and dots)")
    if len(labels) < 2:
        raise BadRecipient("has a domain without a dot, which no public mail server answers for")
    if labels[-1].isdigit():
        raise BadRecipient("has an IP address as its domain; tada writes only to named domains")
    if labels[-1].lower() in NO_MAIL_TLDS:
        raise BadRecipient(f"is under .{labels[-1].lower()}, which never receives mail", ascii_domain)
    return ascii_domain


def _check_local(local: str, domain: str) -> None:
    if not local:
        raise BadRecipient("has nothing before the @", domain)
    if len(local) > MAX_LOCAL:
        raise BadRecipient(f"has a part before the @ longer than {MAX_LOCAL} characters", domain)
    if not local.isascii():
        raise BadRecipient("has letters outside ASCII before the @, which a relay may refuse", domain)
    if not all(ch in _ATEXT or ch == "." for ch in local):
        raise BadRecipient("has a character before the @ that an address cannot hold", domain)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise BadRecipient("has a misplaced dot before the @", domain)
    if local[0] in _NEVER_FIRST:
        raise BadRecipient(
            f"starts with {local[0]!r}, which no mailbox needs and a spreadsheet runs as a formula", domain
        )
    if bad := sorted(_NEVER_IN_LOCAL.intersection(local)):
        raise BadRecipient(
            f"has {' and '.join(map(repr, bad))} before the @, which no mailbox needs: a mail server may hand "
            "the address to a program or route it to another host",
            domain,
        )
