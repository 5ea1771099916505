"""Reading the links a victim reported: an import file, or URLs given on the command line.

Every good row survives; every bad one is named by its line with a reason the
ops person can act on. A file is either a CSV with a ``url`` column (other
columns ignored) or plain text with one URL a line.
"""

from __future__ import annotations

import csv
import io
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
_BOM = b"\xef\xbb\xbf"


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
    count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if count > MAX_IMPORT_LINES:
        raise ImportTooLarge(
            f"the file has {count} lines; one import takes at most {MAX_IMPORT_LINES}: split it into smaller files"
        )
    # Undecodable bytes become lone surrogates, so one bad line cannot spoil the others.
    text = data.removeprefix(_BOM).decode("utf-8", "surrogateescape")
    lines = io.StringIO(text, newline="").readlines()
    column = _url_column(lines)
    entries = _text_entries(lines) if column is None else _csv_entries(lines, column)
    return _collect(entries, "line")


def parse_url_args(values: list[str]) -> ParsedImport:
    """The URLs of ``tada links add CASE URL...``; ``line`` is the argument's position (1-based)."""
    entries = [_Entry(number, value) for number, value in enumerate(values, 1)]
    return _collect(entries, "argument", report_trailing_blanks=True)


def _url_column(lines: list[str]) -> int | None:
    """The index of the ``url`` column if the first non-blank line is a CSV header naming one."""
    first = next((line for line in lines if line.strip()), "")
    cells = [cell.strip().casefold() for cell in next(csv.reader([first]), [])]
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
