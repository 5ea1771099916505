"""Automatic replies: the headers and subjects that say no person wrote the message.

Header signals, strongest first (the first present names the rule):

- ``Auto-Submitted`` with any value but ``no`` (RFC 3834: ``auto-replied``,
  ``auto-generated``, ``auto-notified``): rule ``auto-submitted``;
- ``X-Autoreply``, ``X-Autorespond``, ``X-Autoresponder`` (any value but no/false/0): rule
  ``x-autoreply`` / ``x-autorespond`` / ``x-autoresponder``;
- weaker, because ordinary bulk mail carries them too: ``Precedence: auto_reply | bulk |
  junk`` (rule ``precedence:<value>``) and ``X-Auto-Response-Suppress`` (Exchange's, rule
  ``x-auto-response-suppress``).

Words: an *automatic-reply subject* ("Automatic reply", "Auto reply", "Autoreply",
"自動回覆", "自动回复", "自動回复", "自動答覆", "自动答复") and *out-of-office words*, in the
subject or the reply's own words ("out of (the) office", "on vacation", "on leave", "on
holiday", "away from the office", "休假", "放假", "不在辦公室", "不在办公室", "不在公司").

A read receipt (RFC 8098: ``multipart/report; report-type=disposition-notification``, or a
``message/disposition-notification`` part) is automatic too, rule ``mdn``: its text ("was
deleted without being read") must never read as the platform's answer.

``AutoSignal.decisive`` is true for a read receipt and for out-of-office words anywhere, and
``high`` is true for a read receipt, a strong header, any automatic-reply or out-of-office
subject, or a weak header together with out-of-office words. How these meet the phrases is
``tada.domain.reply_classes``'s rule 2. Pure, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from tada.domain.reply_text import PARSE_ERRORS

_STRONG_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
_NO = frozenset({"no", "false", "0", "off"})
_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
_AUTOMATIC_SUBJECT = re.compile(
    r"\bauto(?:matic)?[ -]?(?:reply|response|respond|answer)\b|\bautoreply\b"
    r"|自動回覆|自动回复|自動回复|自動答覆|自动答复|自動回應|自动回应",
    re.IGNORECASE,
)
_OUT_OF_OFFICE = re.compile(
    r"\bout[ -]of[ -](?:the[ -])?office\b|\bon (?:vacation|leave|holiday|annual leave|parental leave)\b"
    r"|\baway from (?:the |my )?(?:office|desk)\b|休假|放假|不在辦公室|不在办公室|不在公司",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AutoSignal:
    rule: str
    high: bool
    #: Out-of-office words or a read receipt: automatic whatever the text says.
    decisive: bool


def _header(message: Message, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "") or "").split())
    except PARSE_ERRORS:
        return ""


def _header_rule(message: Message) -> tuple[str, bool] | None:
    """(rule, strong) of the first automatic-reply header, None without one."""
    submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return "auto-submitted", True
    for name in _STRONG_HEADERS:
        value = _header(message, name).strip().lower()
        if name in message and value not in _NO:
            return name.lower(), True
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _PRECEDENCE:
        return f"precedence:{precedence}", False
    if "X-Auto-Response-Suppress" in message:
        return "x-auto-response-suppress", False
    return None


def _is_read_receipt(message: Message) -> bool:
    try:
        if message.get_content_type() == "multipart/report":
            return str(message.get_param("report-type", "")).lower() == "disposition-notification"
        return any(part.get_content_type() == "message/disposition-notification" for part in message.walk())
    except PARSE_ERRORS:
        return False


def auto_signal(message: Message, own_words: str) -> AutoSignal | None:
    """What says the message is automatic, None if nothing does."""
    if _is_read_receipt(message):
        return AutoSignal("mdn", True, decisive=True)
    subject = _header(message, "Subject")
    by_header = _header_rule(message)
    subject_automatic = bool(_AUTOMATIC_SUBJECT.search(subject))
    subject_away = bool(_OUT_OF_OFFICE.search(subject))
    away = subject_away or bool(_OUT_OF_OFFICE.search(own_words))
    if by_header:
        rule, strong = by_header
        return AutoSignal(rule, strong or subject_automatic or away, decisive=away)
    if subject_away:
        return AutoSignal("subject:out-of-office", True, decisive=True)
    if subject_automatic:
        return AutoSignal("subject:automatic-reply", True, decisive=away)
    return None
