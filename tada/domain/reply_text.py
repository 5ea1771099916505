"""The text of a reply: which part is read, how its bytes become text, and HTML as plain text.

A reply is read, never shown: nothing here renders HTML, runs a script or fetches anything.

- **Which part.** The body's leaves are walked in order; attachments and every ``message/*``
  part (a forwarded message, the notice a bounce sends back, a DSN's status blocks) are
  skipped, so a quoted original never speaks for the reply. The first non-empty
  ``text/plain`` wins; without one, the first ``text/html`` is converted to text.
- **Bytes to text.** The transfer encoding (quoted-printable, base64) is undone by the
  stdlib, and the first ``MAX_TEXT_BYTES`` of a part are read. The bytes are then tried
  strictly as UTF-8 (bytes that are valid UTF-8 are almost never anything else, and a sender
  that declares ISO-8859-1 for UTF-8 is common), then as the declared charset (GB2312 and GBK
  read as their superset GB18030, Big5 as Big5-HKSCS, then CP950), then as Big5-HKSCS and
  GB18030 (both tried, the one that reads more of the commonest Chinese characters kept, if
  it reads any), and last as Windows-1252 or Latin-1 (which read any byte). A declared
  UTF-16 or UTF-32 is tried first (ASCII in UTF-16 is valid UTF-8, NULs and all). An unknown
  or wrong charset never raises.
- **HTML.** ``html.parser`` with character references resolved; ``script``, ``style``,
  ``head``, ``template`` and ``noscript`` are dropped with their content; block elements
  and ``<br>`` end a line; a ``<blockquote>``'s lines are marked ``> `` like quoted text.

Pure, no I/O.
"""

from __future__ import annotations

import codecs
from email.errors import MessageError
from email.message import EmailMessage, Message
from html.parser import HTMLParser

#: What a damaged message can raise while it is walked or decoded (the email package is
#: lenient, but a broken header parameter or payload can still raise one of these).
PARSE_ERRORS: tuple[type[Exception], ...] = (
    MessageError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    IndexError,
)

#: Parts of a message walked at most, its containers included.
MAX_PARTS = 200
#: Decoded bytes of one part read at most: a reply's own words come first.
MAX_TEXT_BYTES = 1024 * 1024
#: Codecs a declared charset may name that are no charset of mail text.
_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})
_SUPERSETS = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "gb18030": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "cp950": ("cp950", "big5hkscs"),
    "big5hkscs": ("big5hkscs", "cp950"),
}
#: Characters frequent in both Traditional and Simplified Chinese prose; a wrong CJK codec
#: reads other bytes as rare characters, so the codec that reads more of these is kept.
_COMMON_HAN = frozenset(
    "的一是不了在人有我他這这中大來来上個个們们到說说和你您地出也時时要就會会可以下已經经請请於于為为與与之"
)


def _codec(label: str | None) -> str | None:
    """The Python codec a declared charset names, or None if it names none (or one that is no charset)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip('"').lower()).name
    except LookupError:
        return None
    return None if name in _NOT_CHARSETS else name


def _strict(data: bytes, codec: str, truncated: bool = False) -> str | None:
    """``data`` decoded strictly, or None; a cut text may lose up to 3 bytes of its last character."""
    for cut in range(4 if truncated else 1):
        try:
            return data[: len(data) - cut].decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _han_score(text: str) -> int:
    return sum(ch in _COMMON_HAN for ch in text)


def decode_bytes(data: bytes, declared: str | None, *, truncated: bool = False) -> str:
    """``data`` as text: UTF-8, else the declared charset, else the likelier Chinese codec, else
    Windows-1252 or Latin-1. Never raises. ``truncated``: ``data`` is a prefix, cut anywhere."""
    codec = _codec(declared)
    candidates = [codec] if codec and codec.startswith(("utf-16", "utf-32")) else []  # ASCII in UTF-16 is UTF-8
    candidates += ["utf-8", *(_SUPERSETS.get(codec, (codec,)) if codec else ())]
    for candidate in candidates:
        text = _strict(data, candidate, truncated)
        if text is not None:
            return text
    readings = [r for r in (_strict(data, "big5hkscs", truncated), _strict(data, "gb18030", truncated)) if r]
    best = max(readings, key=_han_score, default="")
    if best and _han_score(best):
        return best
    return _strict(data, "cp1252", truncated) or data.decode("latin-1")


def part_text(part: Message) -> str:
    """One leaf part's text (its first ``MAX_TEXT_BYTES``), transfer encoding undone and charset
    decoded; "" if it cannot be read."""
    try:
        payload = part.get_payload(decode=True)
        declared = part.get_content_charset()
    except PARSE_ERRORS:
        return ""
    if isinstance(payload, str):  # a payload the email package could not decode to bytes
        payload = payload.encode("utf-8", errors="replace")
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload[:MAX_TEXT_BYTES], declared, truncated=len(payload) > MAX_TEXT_BYTES)


def _is_attachment(part: Message) -> bool:
    try:
        return (part.get_content_disposition() or "") == "attachment"
    except PARSE_ERRORS:
        return False


def leaves(message: Message) -> list[Message]:
    """The body's leaf parts in order, without attachments and without any ``message/*`` part
    (``MAX_PARTS`` parts walked at most)."""
    found: list[Message] = []
    stack: list[Message] = [message]
    walked = 0
    while stack and walked < MAX_PARTS:
        part = stack.pop(0)
        walked += 1
        maintype = part.get_content_maintype()
        if maintype == "message":
            continue
        if part.is_multipart():
            payload = part.get_payload()
            children = [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []
            stack[:0] = children
        elif not _is_attachment(part):
            found.append(part)
    return found


class _TextOfHtml(HTMLParser):
    _DROPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
    _BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"}
        | {"section", "article", "header", "footer", "blockquote", "dd", "dt", "dl", "address", "center"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self._dropped = 0
        self._quoted = 0

    def _end_line(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._DROPPED:
            self._dropped += 1
        elif tag in self._BLOCKS:
            self._end_line()
            self._quoted += tag == "blockquote"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self._end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._DROPPED:
            self._dropped = max(0, self._dropped - 1)
        elif tag in self._BLOCKS:
            self._end_line()
            if tag == "blockquote":
                self._quoted = max(0, self._quoted - 1)

    def handle_data(self, data: str) -> None:
        if self._dropped:
            return
        for index, piece in enumerate(data.split("\n")):
            if index:
                self.lines[-1] += " "
            if piece.strip() and not self.lines[-1].strip() and self._quoted:
                self.lines[-1] = "> " * self._quoted
            self.lines[-1] += piece


def html_to_text(html: str) -> str:
    """The text an HTML body holds, one line per block; quoted blocks' lines start with ``> ``."""
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        if parser.rawdata.lstrip().startswith("<"):  # a tag or comment left open at the end: never text
            parser.rawdata = ""
        parser.close()
    except PARSE_ERRORS:  # html.parser is lenient; keep what was read
        pass
    return "\n".join(" ".join(line.split()) for line in parser.lines).strip()


def body_text(message: EmailMessage | Message) -> str:
    """The reply's body as plain text: the first non-empty text/plain leaf, else the first HTML one."""
    try:
        parts = leaves(message)
    except PARSE_ERRORS:
        return ""
    html = None
    for part in parts:
        subtype = part.get_content_type()
        if subtype == "text/plain":
            text = part_text(part)
            if text.strip():
                return text
        elif subtype == "text/html" and html is None:
            html = part
    return html_to_text(part_text(html)) if html is not None else ""
