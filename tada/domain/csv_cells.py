"""CSV cells a spreadsheet reads as text, never as a formula (CSV or formula injection).

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (``=HYPERLINK(...)`` sends the reader to a site, ``=cmd|'/c calc'!A0``
runs a program through DDE); a leading tab or CR does not stop them (OWASP). So a text
cell gets a leading single quote, OWASP's advice, when its first character is one of
these. To be safe rather than sorry, so does a cell where one of them comes first after
leading whitespace, or starts with the full-width ``＝＋－＠`` that a spreadsheet set up for
East Asian input may take for the ASCII ones: no real name starts so, and the quote only
shows. The sheet shows the text as it was, with the quote, and runs nothing. Every CSV
tada writes goes through ``csv_cell``; the names in it come from RDAP, the registry and
caseworkers.

Only text is touched: a number (a count, a rate, ``-3`` seconds) is data the writer
formats itself and stays a number. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

#: What makes a spreadsheet read a cell as a formula: the OWASP list and the full-width forms.
FORMULA_STARTS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20")


def csv_cell(value: object) -> object:
    """The value, with a leading ``'`` if it is text a spreadsheet would read as a formula."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_row(values: Iterable[object]) -> list[object]:
    """A row for ``csv.writer``, each cell through ``csv_cell``."""
    return [csv_cell(value) for value in values]
