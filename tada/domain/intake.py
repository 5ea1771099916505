"""Reading the links a victim reported: an import file, or URLs given on the command line.

Every good row survives; every bad one is named by its line with a reason the
ops person can act on. A file is either a CSV with a ``url`` column (other
columns ignored) or plain text with one URL a line.

A line ends at CR LF, CR or LF, as the csv module reads them (and nothing else: not
U+2028, not a form feed); the file's size in lines is counted that way, on its bytes,
before anything is parsed. A line longer than MAX_LINE_BYTES is a rejected line of its
own: it is never handed to the csv module (whose field limit would end the whole
import) nor decoded, past the start that is shown.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from pydantic import BaseModel, Field

from tada.domain.urls import MAX_URL_LENGTH, InvalidUrl, normalise_url
from tada.errors import InvalidInput

MAX_SHOWN = 200
#: One import file holds at most this many lines (a whole case is hundreds): a bigger file is
#: refused as a whole, before anything starts, so parsing stays bounded in time and memory.
MAX_IMPORT_LINES = 20_000
#: The longest line read: a link is at most MAX_URL_LENGTH characters, a CSV row holds other
#: columns too (a note); far below the csv module's field limit (128 KiB).
MAX_LINE_BYTES = 32 * 1024
_BOM = b"\xef\xbb\xbf"
#: A line end as the csv module and ``str`` readers with ``newline=""`` take one.
_LINE_END = re.compile(rb"\r\n?|\n")
_TOO_LONG = f"longer than {MAX_LINE_BYTES // 1024} KiB: not one link (a link is at most {MAX_URL_LENGTH} characters)"


class ImportRow(BaseModel):
    line: int
    url: str  # normalised


class Rejection(BaseModel):
    line: int
    value: str  # the raw text, made safe to show
    reason: str


class ParsedImport(BaseModel):
    rows: list[ImportRow] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)


class ImportTooLarge(InvalidInput, ValueError):
    """The file is refused as a whole; the message says how to split it."""


class _Entry(NamedTuple):
    line: int
    value: str
    problem: str | None = None  # known before the value is read as a URL


def parse_link_file(data: bytes) -> ParsedImport:
    """The URLs of an import file, by physical line number (1-based). ImportTooLarge for a file
    of more than MAX_IMPORT_LINES lines."""
    count = count_lines(data)
    if count > MAX_IMPORT_LINES:
        raise ImportTooLarge(
            f"the file has {count} lines; one import takes at most {MAX_IMPORT_LINES}: split it into smaller files"
        )
    lines, too_long = _split_lines(data)
    column = _url_column(lines)
    entries = _text_entries(lines) if column is None else _csv_entries(lines, column)
    return _collect(_with_long_lines(entries, too_long), "line")


def count_lines(data: bytes) -> int:
    """How many lines the parser will read in ``data``: each CR LF, lone CR and lone LF ends
    one, and text after the last line end is one more."""
    ends = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    text = len(data) > (len(_BOM) if data.startswith(_BOM) else 0)
    return ends + (1 if text and data[-1:] not in (b"\n", b"\r") else 0)


def _split_lines(data: bytes) -> tuple[list[str], dict[int, str]]:
    """The lines of ``data`` (a leading BOM dropped), each with its line end, and the start of
    each line longer than MAX_LINE_BYTES by its number; such a line is read as its line end
    alone. Undecodable bytes become lone surrogates, so one bad line cannot spoil the others
    (a line end is ASCII: no UTF-8 character spans two lines)."""
    lines: list[str] = []
    too_long: dict[int, str] = {}
    begin = len(_BOM) if data.startswith(_BOM) else 0
    ends = [(m.start(), m.end()) for m in _LINE_END.finditer(data, begin)]
    if begin < len(data) and (not ends or ends[-1][1] < len(data)):
        ends.append((len(data), len(data)))  # the last line, without a line end
    for number, (text_end, end) in enumerate(ends, 1):
        if end - begin <= MAX_LINE_BYTES:
            lines.append(data[begin:end].decode("utf-8", "surrogateescape"))
        else:
            too_long[number] = data[begin : begin + 4 * MAX_SHOWN].decode("utf-8", "surrogateescape")
            lines.append(data[text_end:end].decode())  # its line end alone
        begin = end
    return lines, too_long


def _with_long_lines(entries: Iterable[_Entry], too_long: dict[int, str]) -> Iterator[_Entry]:
    """``entries`` in line order, each over-long line in its place as a rejected one (also when
    a quoted cell of the record before it took its place along)."""
    pending = sorted(too_long, reverse=True)  # the next one last
    for entry in entries:
        while pending and pending[-1] < entry.line:
            number = pending.pop()
            yield _Entry(number, too_long[number], _TOO_LONG)
        if pending and pending[-1] == entry.line:
            pending.pop()
            yield _Entry(entry.line, too_long[entry.line], _TOO_LONG)
        else:
            yield entry
    for number in reversed(pending):
        yield _Entry(number, too_long[number], _TOO_LONG)


def parse_url_args(values: list[str]) -> ParsedImport:
    """The URLs of ``tada links add CASE URL...``; ``line`` is the argument's position (1-based)."""
    entries = [_Entry(number, value) for number, value in enumerate(values, 1)]
    return _collect(entries, "argument", report_trailing_blanks=True)


def _url_column(lines: list[str]) -> int | None:
    """The index of the ``url`` column if the first non-blank line is a CSV header naming one."""
    first = next((line for line in lines if line.strip()), "")
    try:
        cells = [cell.strip().casefold() for cell in next(csv.reader([first]), [])]
    except csv.Error:  # not a CSV header: a line of text
        return None
    return cells.index("url") if "url" in cells else None


def _text_entries(lines: list[str]) -> Iterator[_Entry]:
    for number, line in enumerate(lines, 1):
        yield _Entry(number, line.rstrip("\r\n"))


def _csv_entries(lines: list[str], column: int) -> Iterator[_Entry]:
    """One entry per CSV record after the header, numbered by the record's first line.
    A quoted cell may span lines (a note over two lines), but a quote left open must not
    swallow the rows after it: then each of those lines is read on its own."""
    reader = csv.reader(lines)
    header_seen = False
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            spans = reader.line_num > start
            yield _Entry(
                start, lines[start - 1], f"not a readable CSV row ({'a quote left open?' if spans else error})"
            )
            for number in range(start + 1, reader.line_num + 1):  # lines the broken record took along
                yield _line_entry(lines[number - 1], number, column)
            continue
        end = reader.line_num
        if header_seen and end > start and _quote_left_open(lines[start:end], cells, column):
            yield _Entry(start, lines[start - 1], "a quoted cell runs over the next lines (a quote left open?)")
            for number in range(start + 1, end + 1):
                yield _line_entry(lines[number - 1], number, column)
            continue
        if not header_seen and any(cell.strip() for cell in cells):
            header_seen = True
            continue
        yield _cells_entry(start, cells, column)


def _cells_entry(number: int, cells: list[str], column: int) -> _Entry:
    if not any(cell.strip() for cell in cells):
        return _Entry(number, "")
    if column >= len(cells) or not cells[column].strip():
        return _Entry(number, ",".join(cells), "no URL in the url column")
    return _Entry(number, cells[column])


def _line_entry(line: str, number: int, column: int) -> _Entry:
    """One physical line read as a CSV record of its own."""
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error as error:
        return _Entry(number, line, f"not a readable CSV row ({error})")
    return _cells_entry(number, cells, column)


def _quote_left_open(continuation: list[str], cells: list[str], column: int) -> bool:
    """A record over several lines is a quote left open when its URL cell spans lines, or when
    one of the lines it swallowed holds a link of its own in the url column."""
    if column < len(cells) and ("\n" in cells[column] or "\r" in cells[column]):
        return True
    for line in continuation:
        entry = _line_entry(line, 0, column)
        if entry.problem is None and entry.value.strip():
            try:
                normalise_url(entry.value)
            except InvalidUrl:
                continue
            return True
    return False


def _collect(entries: Iterable[_Entry], unit: str, report_trailing_blanks: bool = False) -> ParsedImport:
    result = ParsedImport()
    seen: dict[str, int] = {}
    blanks: list[Rejection] = []
    for entry in entries:
        if entry.problem is None and not entry.value.strip():
            blanks.append(Rejection(line=entry.line, value="", reason="blank"))
            continue
        result.rejected.extend(blanks)  # blank lines with content after them are reported
        blanks = []
        url, reason = _read(entry)
        if url in seen:
            reason = f"duplicate of {unit} {seen[url]}"
        elif url is not None:
            seen[url] = entry.line
            result.rows.append(ImportRow(line=entry.line, url=url))
            continue
        result.rejected.append(Rejection(line=entry.line, value=_shown(entry.value), reason=reason))
    if report_trailing_blanks:
        result.rejected.extend(blanks)
    return result


def _read(entry: _Entry) -> tuple[str | None, str]:
    """(normalised URL, "") or (None, why not)."""
    if entry.problem:
        return None, entry.problem
    if len(entry.value) > MAX_URL_LENGTH and len(entry.value.strip()) > MAX_URL_LENGTH:
        return None, f"longer than {MAX_URL_LENGTH} characters"
    if any("\udc80" <= ch <= "\udcff" for ch in entry.value):
        return None, "not valid UTF-8 text"
    try:
        return normalise_url(entry.value), ""
    except InvalidUrl as error:
        return None, error.reason


def _shown(raw: str) -> str:
    """Raw text made safe to print: control characters and undecodable bytes become U+FFFD."""
    text = raw.strip()
    safe = "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text[:MAX_SHOWN])
    return safe if len(text) <= MAX_SHOWN else safe[: MAX_SHOWN - 1] + "…"
