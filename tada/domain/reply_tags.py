"""Reply tags: the short token that names one notice email, so its answers find it again.

A token is 15 Crockford base32 symbols: 10 for the email's id (50 random bits) and 5 of check
(25 bits of HMAC-SHA256 of the id under the reply-tag key, a sub-key of the data key). Without
the key a token can be neither forged nor enumerated: a made-up or mistyped one fails its check.
It travels twice on every notice email: as the plus-tag of the Reply-To address,
``takedown+<token>@org.example`` (``reply_address``), and as the subject tag ``[TD-<token>]``
(``tagged_subject``), which survives when a reply goes to another address.

People retype tokens, so reading one is lenient (Crockford base32 is made for it): case does
not matter, ``I``/``i``/``L``/``l`` read as ``1`` and ``O``/``o`` as ``0``, hyphens, spaces and
dots inside are ignored, and so is punctuation around it; full-width forms (an East Asian
input method's ``ＴＤ－Ｋ３…``) read as their ASCII (NFKC). A token is stored and compared in its
canonical form: 15 upper-case symbols, no hyphen (``canonical``); people see it as
``K3X9P2M7QA-8F4TZ`` (``displayed``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from email.utils import parseaddr

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_SYMBOLS = 10
CHECK_SYMBOLS = 5
TOKEN_SYMBOLS = ID_SYMBOLS + CHECK_SYMBOLS
#: The subject tag's prefix: ``[TD-<token>]``.
SUBJECT_PREFIX = "TD-"
_PURPOSE = b"tada/reply-tag/"
_CONFUSED = str.maketrans({"I": "1", "L": "1", "O": "0"})
_DASHES = r"\-\u2010-\u2015\u2212"  # hyphens of every kind: a keyboard's, an IME's, a word processor's
#: Inside a token: spaces, dots and dashes.
_IGNORED = re.compile(rf"[\s.{_DASHES}]+")
_AROUND = re.compile(r"^[\W_]+|[\W_]+$")  # punctuation and spaces around it, any script's
#: Each ``TD`` (overlapping: zero-width) then the run a token could be written in.
_SUBJECT_TAG = re.compile(rf"(?<![0-9A-Za-z])(?=TD[\s:_{_DASHES}]*([0-9A-Za-z][0-9A-Za-z\s.{_DASHES}]*))", re.I)


class ReplyTagKey:
    """The HMAC keys of reply tags: the first makes new tags, every one checks them (the data
    key can rotate). ``keys``: DataCrypto.sub_keys("reply-tags")."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(key) < 16 for key in keys):
            raise ValueError("a reply tag key needs at least one key of 16 bytes or more")
        self._keys = tuple(keys)

    def __repr__(self) -> str:
        return f"ReplyTagKey({len(self._keys)} keys)"

    def new_token(self) -> str:
        """A fresh canonical token."""
        return self.token_of("".join(secrets.choice(ALPHABET) for _ in range(ID_SYMBOLS)))

    def token_of(self, ident: str) -> str:
        """The canonical token of an id of ``ID_SYMBOLS`` symbols: the id and its check."""
        if len(ident) != ID_SYMBOLS or any(symbol not in ALPHABET for symbol in ident):
            raise ValueError(f"a token's id is {ID_SYMBOLS} Crockford base32 symbols")
        return ident + _check(self._keys[0], ident)

    def verify(self, token: str) -> bool:
        """Whether a canonical token's check is right under one of the keys."""
        if len(token) != TOKEN_SYMBOLS or any(symbol not in ALPHABET for symbol in token):
            return False
        ident, check = token[:ID_SYMBOLS], token[ID_SYMBOLS:]
        return any(hmac.compare_digest(_check(key, ident), check) for key in self._keys)

    def read(self, text: str) -> str | None:
        """The canonical token ``text`` holds (leniently read), when its check is right; else None."""
        token = canonical(text)
        return token if token is not None and self.verify(token) else None


def _check(key: bytes, ident: str) -> str:
    digest = hmac.new(key, _PURPOSE + ident.encode("ascii"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:4], "big") >> (32 - 5 * CHECK_SYMBOLS)
    return _encode(number, CHECK_SYMBOLS)


def _encode(number: int, symbols: int) -> str:
    return "".join(ALPHABET[(number >> (5 * (symbols - 1 - place))) & 31] for place in range(symbols))


def canonical(text: str) -> str | None:
    """The token ``text`` is written as, leniently read (unchecked); None if it is not one."""
    symbols = _IGNORED.sub("", _AROUND.sub("", unicodedata.normalize("NFKC", text))).upper().translate(_CONFUSED)
    if len(symbols) != TOKEN_SYMBOLS or any(symbol not in ALPHABET for symbol in symbols):
        return None
    return symbols


def displayed(token: str) -> str:
    """A canonical token as people see it: the id, a hyphen, the check (``K3X9P2M7QA-8F4TZ``)."""
    return f"{token[:ID_SYMBOLS]}-{token[ID_SYMBOLS:]}"


def reply_address(reply_to: str, token: str) -> str:
    """``takedown+<token>@org.example`` for the organisation's address ``reply_to`` (lower case:
    some mail systems fold the local part)."""
    local, domain = reply_mailbox(reply_to)
    return f"{local}+{displayed(token).lower()}@{domain}"


def tagged_subject(subject: str, token: str) -> str:
    """The subject with its tag at the end: ``... [TD-K3X9P2M7QA-8F4TZ]``."""
    return f"{subject} [{SUBJECT_PREFIX}{displayed(token)}]"


def tokens_in_addresses(addresses: Iterable[str], reply_to: str | None = None) -> list[str]:
    """The token after the ``+`` of each address (``addr-spec``s), canonical, in order, unchecked.
    With ``reply_to``, only addresses of that mailbox count (local part and domain, any case)."""
    mailbox = reply_mailbox(reply_to) if reply_to else None
    found: list[str] = []
    for address in addresses:
        local, _, domain = address.strip().strip("<>").rpartition("@")
        if mailbox is not None:
            base = mailbox[0] + "+"
            if domain.casefold() != mailbox[1].casefold() or not local.casefold().startswith(base.casefold()):
                continue
            written = local[len(base) :]
        else:
            written = local.partition("+")[2]
        token = canonical(written) if written else None
        if token is not None and token not in found:
            found.append(token)
    return found


def tokens_in_subject(subject: str) -> list[str]:
    """Every ``TD-<token>`` a subject holds (brackets or not, leniently read), canonical, unchecked."""
    found: list[str] = []
    for match in _SUBJECT_TAG.finditer(unicodedata.normalize("NFKC", subject or "")):
        symbols = _IGNORED.sub("", match[1]).upper().translate(_CONFUSED)
        token = canonical(symbols[:TOKEN_SYMBOLS])
        if token is not None and token not in found:
            found.append(token)
    return found


def reply_mailbox(reply_to: str) -> tuple[str, str]:
    """(local part, domain) of the organisation's reply address (``Org <takedown@org.example>``
    or bare); ValueError, naming nothing of it, when it has no local part or no domain."""
    address = parseaddr(reply_to)[1]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("the reply address needs a local part and a domain")
    return local, domain
