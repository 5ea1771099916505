"""Text from outside (a registrar's name from RDAP, a note, a URL) made safe to print on a terminal.

A terminal obeys what it is sent: ``ESC[2J`` clears the screen, an OSC 8 sequence plants a
hyperlink, an OSC left open swallows everything printed after it, a C1 control (``\\x9b`` is CSI
on its own) does the same as its ESC form, and a bidi override (U+202E) shows text in an order
other than the one it has. So, for every string the CLI prints:

- escape sequences are removed whole: CSI (``ESC [`` or ``\\x9b``, to its final byte), the
  string sequences OSC, DCS, SOS, PM and APC (``ESC ]``, ``ESC P``, ``ESC X``, ``ESC ^``,
  ``ESC _`` or their C1 forms, to BEL or ST, or to the end of the line when left open), and
  the short ``ESC`` + byte ones (``ESC c`` resets the terminal);
- every other control character (C0, DEL, C1), the line and paragraph separators, lone
  surrogates, and the format characters (bidi embeddings, overrides, isolates and marks,
  zero-width spaces, word joiners, BOM, tags...) become U+FFFD, so a reader sees that
  something was there; a tab becomes a space and CR LF a line end. A line end is kept: the
  layout (a table cell of two lines) is rich's to make, and a line end moves no cursor.
  Kept too: ZWNJ and ZWJ (U+200C, U+200D), which join emoji and shape Persian and Indic
  script, and reorder or hide nothing.

Pure, no I/O. ``terminal_text`` is for values before layout (the width a table gives a cell
is the width of what it shows); ``without_controls`` is the last guard over text already laid
out (it only drops characters a terminal gives no width, so no column moves);
``terminal_document`` drops them from a whole CSV or HTML document, keeping its tabs and line
ends, and never touches a printable character, so the document's structure stays whole;
``json_for_terminal`` escapes the same characters in a JSON document as ``\\uXXXX``, so the
document means exactly what it meant and shows nothing a terminal obeys.
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"
#: Kept although their category is Cf (format): they join and shape, they hide nothing.
_JOINERS = frozenset("\u200c\u200d")
#: Categories of characters a terminal must never be handed from outside text.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

_ST = r"(?:\x07|\x1b\\|\x9c)"  # string terminator: BEL, ESC \, or the C1 ST
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI: parameters, intermediates, final byte
    rf"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:{_ST}|(?=\n)|\Z)"  # OSC DCS SOS PM APC
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"  # ESC + intermediates + final: ESC c, ESC 7, ESC ( B ...
)
_SEQUENCE_START = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")


def is_unsafe(ch: str) -> bool:
    """A character no outside text may bring to a terminal (the line end is the caller's to keep)."""
    return ch not in _JOINERS and unicodedata.category(ch) in _UNSAFE_CATEGORIES


def terminal_text(value: str) -> str:
    """``value`` with its escape sequences removed and every other unsafe character shown as
    U+FFFD (a tab as a space, CR LF as a line end); line ends kept."""
    if value.isprintable():  # the common case: nothing to do (isprintable is False for each unsafe character)
        return value
    value = without_sequences(value).replace("\r\n", "\n").replace("\t", " ")
    return "\n".join(_replaced(line, REPLACEMENT) for line in value.split("\n"))


def without_sequences(value: str) -> str:
    """``value`` without its escape sequences (whole: ``ESC[31m`` leaves nothing behind)."""
    return _SEQUENCE.sub("", value) if _SEQUENCE_START.search(value) else value


def without_controls(text: str) -> str:
    """``text`` without any unsafe character (line ends kept): for text already laid out."""
    if text.isprintable():
        return text
    return "\n".join(_replaced(line, "") for line in text.split("\n"))


def terminal_document(text: str) -> str:
    """A whole rendered document (CSV, HTML) without any unsafe character but its tabs and
    line ends (CR LF or LF). Only those characters go: never a printable one, so the
    document's structure (quotes, delimiters, tags) is as it was."""
    if text.isprintable():
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        end = "\r" if line.endswith("\r") and index < len(lines) - 1 else ""
        lines[index] = _replaced(line.removesuffix(end), "", keep="\t") + end
    return "\n".join(lines)


def json_for_terminal(document: str) -> str:
    """A JSON document with each unsafe character written as its ``\\uXXXX`` escape. Raw line
    ends are the document's own indentation (JSON escapes those inside strings): they stay."""
    if document.isprintable():
        return document
    return "\n".join(_replaced(line, None) for line in document.split("\n"))


def _replaced(line: str, replacement: str | None, keep: str = "") -> str:
    """``line`` with each unsafe character but those in ``keep`` replaced (None: by its JSON escape)."""
    if line.isprintable():
        return line
    out = []
    for ch in line:
        if ch.isprintable() or ch in keep or not is_unsafe(ch):
            out.append(ch)
        elif replacement is None:
            out.append(_json_escape(ch))
        else:
            out.append(replacement)
    return "".join(out)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
