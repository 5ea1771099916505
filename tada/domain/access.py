"""Who may do what: roles, the permission table and the token table, shared by the CLI and the API.

``TADA_API_TOKENS`` is ``token1:role,token2:role``; roles are ``ops``,
``caseworker`` and ``monitor``. A monitor token names its monitor,
``token:monitor:NAME``: it may report only on the cases that opted into that name
(``case_monitors``, tada/app/monitors.py); several tokens may share a name (rotation).
The CLI presents its own token (``TADA_TOKEN``) and gets that token's role. Only
SHA-256 digests of the tokens are kept in memory and a presented token is compared
with every one of them in constant time. Tokens are never logged nor echoed in an error.

| role | may |
| --- | --- |
| ops | open cases, import links, withdraw (cases and links), purge, read, report reposts; |
|     | add image hashes, choose a case's monitors, run the servers, simulate; |
|     | the console's accounts (add, list, disable, reset a password, unlock, remove 2FA); a case's dossier |
| caseworker | read; respond, escalate, pause, resume, recheck, reopen, filed, withdraw, reply to a link; |
|            | assign a reply in the holding pen, correct a reply's classification; a case's dossier |
| monitor | report reposts on the cases that opted into its name, nothing else |
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import Enum

MIN_TOKEN_LENGTH = 16
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")
#: A monitor's name, in its tokens (``token:monitor:NAME``) and in the cases that opt into it.
MONITOR_NAME_MAX_LENGTH = 64
_MONITOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class Role(str, Enum):
    OPS = "ops"
    CASEWORKER = "caseworker"
    MONITOR = "monitor"


class Action(str, Enum):
    CASE_OPEN = "case.open"
    CASE_WITHDRAW = "case.withdraw"
    CASE_PURGE = "case.purge"
    LINKS_IMPORT = "links.import"  # `links import` and `links add`
    READ = "read"  # status, link show, reports
    LINK_RESPOND = "link.respond"
    LINK_ESCALATE = "link.escalate"
    LINK_PAUSE = "link.pause"
    LINK_RESUME = "link.resume"
    LINK_RECHECK = "link.recheck"
    LINK_REOPEN = "link.reopen"
    LINK_FILED = "link.filed"
    LINK_WITHDRAW = "link.withdraw"
    LINK_REPLY = "link.reply"  # an email to the platform, answering its last reply
    LINK_ANSWERED = "link.answered"  # the platform's request for information answered: its legal clock runs again
    REPOST = "repost"
    CASE_ADD_HASH = "case.add-hash"  # PDQ hashes of the victim's images
    CASE_MONITORS = "case.monitors"  # which monitors may report on a case
    SERVE = "serve"  # run the API or the codec server (each checks its own tokens)
    SIMULATE = "simulate"  # a rehearsal in a database of its own
    INBOX_ASSIGN = "inbox.assign"  # a reply in the holding pen given to its link
    INBOX_CLASSIFY = "inbox.classify"  # a reply's classification corrected
    USER_ADMIN = "user.admin"  # the console's accounts: add, disable, reset a password, unlock, remove 2FA
    CASE_DOSSIER = "case.dossier"  # every link's address and record of a case, to a file for the authorities
    CASE_AUTHORISE = "case.authorise"  # the victim's authorisation of the organisation (its date), who made the image


_CASEWORK = {
    Action.LINK_RESPOND, Action.LINK_ESCALATE, Action.LINK_PAUSE, Action.LINK_RESUME,
    Action.LINK_RECHECK, Action.LINK_REOPEN, Action.LINK_FILED, Action.LINK_WITHDRAW, Action.LINK_REPLY,
    Action.LINK_ANSWERED,
    Action.INBOX_ASSIGN, Action.INBOX_CLASSIFY,
}  # fmt: skip

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.OPS: frozenset(
        {
            Action.CASE_OPEN,
            Action.LINKS_IMPORT,
            Action.CASE_WITHDRAW,
            Action.LINK_WITHDRAW,
            Action.CASE_PURGE,
            Action.READ,
            Action.REPOST,
            Action.CASE_ADD_HASH,
            Action.CASE_MONITORS,
            Action.SERVE,
            Action.SIMULATE,
            Action.USER_ADMIN,
            Action.CASE_DOSSIER,
            Action.CASE_AUTHORISE,
        }
    ),  # fmt: skip
    Role.CASEWORKER: frozenset({Action.READ, Action.CASE_DOSSIER, Action.CASE_AUTHORISE, *_CASEWORK}),
    Role.MONITOR: frozenset({Action.REPOST}),
}


def allowed(role: Role | None, action: Action) -> bool:
    return role is not None and action in PERMISSIONS.get(role, frozenset())


def roles_allowed(action: Action) -> list[Role]:
    """The roles that may do ``action``, for refusals that say which token is needed."""
    return [role for role in Role if action in PERMISSIONS[role]]


def check_monitor_name(name: str) -> str:
    """A monitor's name, or ValueError saying what is wrong with it (never echoing it)."""
    if not name:
        raise ValueError("a monitor name is needed")
    if len(name) > MONITOR_NAME_MAX_LENGTH:
        raise ValueError(f"a monitor name has at most {MONITOR_NAME_MAX_LENGTH} characters")
    if not _MONITOR_NAME.fullmatch(name):
        raise ValueError("a monitor name has only letters, digits and . _ -, starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Principal:
    """Who presented a token: its role and, for a monitor, the monitor's name."""

    role: Role
    monitor: str | None = None


class TokenTable:
    def __init__(self, entries: list[tuple[bytes, Principal]]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def principal_of(self, token: str) -> Principal | None:
        """Who a presented token is, or None; looks at every entry whatever it finds."""
        presented = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = principal
        return found

    def role_of(self, token: str) -> Role | None:
        """The role of a presented token, or None."""
        principal = self.principal_of(token)
        return principal.role if principal else None


def role_for(table: TokenTable, token: str) -> Role | None:
    return table.role_of(token) if token else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def parse_tokens(text: str) -> TokenTable:
    """Read ``token:role,...`` (a monitor ``token:monitor:NAME``); ValueError names the entry by
    position, never the token."""
    entries: list[tuple[bytes, Principal]] = []
    seen: set[bytes] = set()
    for index, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        where = f"TADA_API_TOKENS entry {index}"
        token, sep, rest = entry.partition(":")  # a token has no ':' of its own
        if not sep or not token:
            raise ValueError(f"{where}: write it as token:role (a monitor token:monitor:NAME)")
        role_name, _, name = rest.partition(":")
        try:
            role = Role(role_name.strip())
        except ValueError:
            raise ValueError(f"{where}: unknown role (ops, caseworker or monitor)") from None
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{where}: a token needs at least {MIN_TOKEN_LENGTH} characters")
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"{where}: a token has only letters, digits and . _ ~ + / = -")
        principal = Principal(role, _monitor_of(where, role, name.strip()))
        digest = _digest(token)
        if digest in seen:
            raise ValueError(f"{where}: the same token is listed twice")
        seen.add(digest)
        entries.append((digest, principal))
    return TokenTable(entries)


def _monitor_of(where: str, role: Role, name: str) -> str | None:
    if role != Role.MONITOR:
        if name:
            raise ValueError(f"{where}: only a monitor token has a name (token:monitor:NAME)")
        return None
    if not name:
        raise ValueError(
            f"{where}: a monitor token names its monitor, token:monitor:NAME; "
            "it may report on the cases that opted into NAME (tada case monitors CASE --add NAME)"
        )
    try:
        return check_monitor_name(name)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
