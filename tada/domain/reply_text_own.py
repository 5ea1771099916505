"""A reply's own words: the text it quotes taken away, and a short excerpt for a caseworker.

A platform's reply usually carries tada's notice below it, and the notice says "please remove"
and "disable access": the rules must read only what the platform wrote. Three cuts, in order:

1. **Reply headers** (mail-parser-reply, English and Simplified Chinese among its languages):
   the reply ends at the first "On … wrote:", an Outlook ``From:``/``Sent:`` block, or
   "-----Original Message-----". tada adds the ones it lacks: Traditional Chinese "寫道：",
   Outlook's ``寄件者:``/``傳送時間:`` block, "-----原始郵件-----" / "-----原始邮件-----", and the
   line before the copy of the message an Exim or qmail bounce returns; a phone's "Sent from
   my iPhone" (從我的 iPhone 傳送, 发自我的iPhone) ends the reply too, as the original follows it.
   A reply written *below* the quote (the quote first) keeps what follows the quote.
2. **Quoted lines**: every line starting with ``>`` (mail clients' quoting, and the HTML
   reader's marking of ``<blockquote>``).
3. **tada's own notice**, when the caller gives its text (the plain text it sent): a line
   whose letters (whitespace and case ignored, so re-wrapping does not hide it) occur in the
   notice, if it has at least ``NOTICE_LINE_MIN`` of them; a shorter one that is a whole
   line of the notice (a heading), or that reads on in the notice from a cut line next to
   it (the tail of a re-wrapped line); then, within the lines left, each sentence of at
   least ``NOTICE_LINE_MIN`` letters that the notice holds. "Removed" written right above
   a pasted notice that says "removed" stays: it does not read on into the notice.

``excerpt`` collapses whitespace, drops every character that is not printable (controls,
format characters such as bidi overrides and zero-width ones, unassigned and private-use
code points), shows every email address as ``[address]`` and every link as ``[link]``
(an excerpt may cross into Temporal with the classification, and no URL travels there:
``tada.domain.models``; a bounce's text names the failed address), and keeps at most
``EXCERPT_MAX`` characters. Pure, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from mailparser_reply import EmailReplyParser

from tada.domain.terminal_text import without_sequences

#: Letters (whitespace ignored) a line needs before it is cut for occurring in tada's notice on its own.
NOTICE_LINE_MIN = 15
#: Characters of a body read at most (a reply's own words come first; the rest is quoted or attached).
TEXT_MAX = 100_000
#: Characters of one line handed to mail-parser-reply at most (longer lines are broken, not cut).
LINE_MAX = 400
#: The longest excerpt, in characters, the ellipsis included.
EXCERPT_MAX = 300

_PARSER = EmailReplyParser(languages=["en", "zh"])
_WROTE = re.compile(r"^[ \t>]*[^\n]{0,200}(?:寫道|写道)\s*[:：][ \t]*$", re.MULTILINE)
_MORE_HEADERS = re.compile(
    r"^[ \t>]*(?:"
    r"[^\n]{0,200}(?:寫道|写道)\s*[:：][ \t]*$"  # Gmail in Traditional (and Simplified) Chinese
    r"|-{3,}\s*(?:原始郵件|原始邮件|原始訊息|Original Message)\s*-{3,}"
    r"|-{2,}\s*(?:This is a copy of the message|Below this line is a copy of the message)"  # Exim, qmail
    r"|(?:Sent from my|Get Outlook for) [^\n]{1,40}$"  # a phone's line, the original below it
    r"|(?:從我的|发自我的|寄自我的) ?[^\n]{1,30}$"
    r"|\**(?:寄件者|寄件人|發件人)\s*[:：].*\n[ \t>]*\**(?:傳送時間|寄件日期|日期|收件者|收件人|主旨)\s*[:：]"
    r")",
    re.MULTILINE | re.IGNORECASE,
)
_QUOTE_MARKS = re.compile(r"[ \t]*(?:>[ \t]?)*")
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
_KEY_DROP = re.compile(r"\s+")
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")
_LINK = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.IGNORECASE)


def _key(text: str) -> str:
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def _without_reply_headers(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _MORE_HEADERS.search(text)
    if match:
        before, after = text[: match.start()], text[match.end() :]
        # "… 寫道：" first, the reply below the quote: keep what follows (its quoted lines go next).
        text = after if not before.strip() and _WROTE.match(match.group()) else before
    try:
        parsed = _PARSER.read(text)
    except (re.error, ValueError, IndexError):
        return text
    replies = [reply for reply in parsed.replies if reply.full_body.strip()]
    return replies[0].full_body if replies else ""


@lru_cache(maxsize=16)
def _notice_keys(notice: str) -> tuple[str, frozenset[str]]:
    """The notice's letters, and its lines' (the same notice text comes with many replies)."""
    return _key(notice), frozenset({_key(line) for line in notice.splitlines()} - {""})


def _without_notice(lines: list[str], notice: str) -> list[str]:
    whole, notice_lines = _notice_keys(notice)
    keys = [_key(line) for line in lines]
    cut = [(len(key) >= NOTICE_LINE_MIN and key in whole) or key in notice_lines for key in keys]
    # A short piece of a re-wrapped notice line, next to a line already cut, the two reading on
    # in the notice: one sweep down (joined to the line above), one up (to the line below).
    for index in range(1, len(keys)):
        if not cut[index] and keys[index] and cut[index - 1] and keys[index - 1] + keys[index] in whole:
            cut[index] = True
    for index in range(len(keys) - 2, -1, -1):
        if not cut[index] and keys[index] and cut[index + 1] and keys[index] + keys[index + 1] in whole:
            cut[index] = True
    kept = []
    for line, dropped in zip(lines, cut):
        if dropped:
            continue
        sentences = _SENTENCE.findall(line)
        own = [s for s in sentences if not (len(_key(s)) >= NOTICE_LINE_MIN and _key(s) in whole)]
        kept.append("".join(own) if len(own) != len(sentences) else line)
    return kept


def _bounded_lines(text: str) -> str:
    """``text`` with every line longer than ``LINE_MAX`` broken (at a space if there is one), each
    piece keeping the line's quote marks; mail-parser-reply's header patterns take time
    quadratic in a line's length."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        marks = _QUOTE_MARKS.match(line)
        prefix = marks.group()[:16] if marks and marks.group().strip() else ""
        while len(line) > LINE_MAX:
            cut = line.rfind(" ", LINE_MAX // 2, LINE_MAX)
            cut = cut if cut > 0 else LINE_MAX
            lines.append(line[:cut])
            line = prefix + line[cut:].lstrip(" ")
        lines.append(line)
    return "\n".join(lines)


def own_words(text: str, notice_text: str | None = None) -> str:
    """``text`` without reply headers and what follows them, quoted lines, and tada's notice."""
    bounded = _bounded_lines(text[:TEXT_MAX])
    lines = [line for line in _without_reply_headers(bounded).split("\n") if not line.lstrip().startswith(">")]
    if notice_text and notice_text.strip():
        lines = _without_notice(lines, notice_text)
    return "\n".join(lines).strip()


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    """At most ``limit`` characters of ``text``: whitespace collapsed, what is not printable dropped,
    addresses and links masked."""
    spaced = "".join(" " if ch.isspace() else ch for ch in without_sequences(text))
    visible = "".join(ch for ch in spaced if ch.isprintable())
    collapsed = " ".join(visible.split())[: limit * 2]  # masking what is shown, not the whole text
    collapsed = _LINK.sub("[link]", _ADDRESS.sub("[address]", collapsed))
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1].rstrip() + "…"
