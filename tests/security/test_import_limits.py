"""The limits of an import file hold however its lines end (issue 14).

The line limit counts the lines the parser reads (CR LF, CR and LF each end one), before
anything is parsed; a line too long to be a link, even one of 50 MB with no line end at all,
is a rejected line with its number and a reason, and every other line is still imported.
Through parse_link_file, and the real ``tada links import`` on the CLI stack."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest

from tada.domain.intake import MAX_IMPORT_LINES, MAX_LINE_BYTES, ImportTooLarge, count_lines, parse_link_file
from tests.cli.test_cli import stack  # noqa: F401 - the CLI stack fixture
from tests.security.test_hostile_inputs import cli, first_json  # noqa: F401 - the in-process CLI fixture

URL = b"https://example.com/v/1234567890"


def test_a_cr_only_file_over_the_limit_is_refused_quickly_before_parsing():
    data = URL + b"\r" + b"x\r" * MAX_IMPORT_LINES  # one line more than the limit
    started = time.monotonic()
    with pytest.raises(ImportTooLarge, match=f"has {MAX_IMPORT_LINES + 1} lines; one import takes at most"):
        parse_link_file(data)
    with pytest.raises(ImportTooLarge, match="has 1000000 lines"):  # the file: 31 s and 924 MB before
        parse_link_file(URL + b"\r" + b"https://example.com/v\r" * 999_999)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("ends", [[b"\r\n"], [b"\r"], [b"\n"], [b"\r\n", b"\r", b"\n"], [b"\r", b"\n", b"\n\r"]])
def test_every_kind_of_line_end_is_counted_as_the_parser_splits_it(ends):
    data, expected, physical = b"", [], 1  # "\n\r" is two line ends: a blank line follows
    for number in range(30):
        end = ends[number % len(ends)]
        data += b"https://example.com/%d" % number + end
        expected.append(physical)
        physical += 1 if end in (b"\r\n", b"\r", b"\n") else 2
    parsed = parse_link_file(data)
    assert [row.line for row in parsed.rows] == expected
    assert [row.url.rsplit("/", 1)[1] for row in parsed.rows] == [str(number) for number in range(30)]
    assert count_lines(data) == physical - 1 == len(io.StringIO(data.decode(), newline="").readlines())


def test_the_limit_is_exact_with_mixed_line_ends_and_other_separators_are_no_line_ends():
    ends = [b"\r", b"\r\n", b"\n"]  # in this order no CR meets an LF after it: each is one line end
    data = b"".join(ends[n % 3] for n in range(MAX_IMPORT_LINES - 1)) + URL  # blank lines, then a link
    parsed = parse_link_file(data)  # exactly the limit: read
    assert [row.line for row in parsed.rows] == [MAX_IMPORT_LINES]
    with pytest.raises(ImportTooLarge, match=f"has {MAX_IMPORT_LINES + 1} lines"):
        parse_link_file(b"\n" + data)
    # A form feed, U+2028 or NEL ends no line for the csv module, so none does here: one line each.
    for separator in (b"\x0c", "\u2028".encode(), "\x85".encode(), b"\x1c", b"\x0b"):
        data = URL + separator + URL + b"\n" + URL + b"/2\n"
        assert count_lines(data) == 2
        parsed = parse_link_file(data)
        assert [row.line for row in parsed.rows] == [2] and [row.line for row in parsed.rejected] == [1]


def test_a_first_line_over_128_kib_is_a_rejected_line_and_the_next_one_is_read():
    for data in (b"x" * 200 * 1024 + b"\n" + URL + b"\n", b"url,note\r\n" + URL + b',"' + b"n" * 200 * 1024 + b'"\r\n'):
        parsed = parse_link_file(data)
        [rejected] = parsed.rejected
        assert rejected.reason.startswith(f"longer than {MAX_LINE_BYTES // 1024} KiB")
        assert len(rejected.value) == 200 and rejected.value.endswith("…")
    first = parse_link_file(b"x" * 200 * 1024 + b"\n" + URL + b"\n")
    assert first.rejected[0].line == 1 and [(row.line, row.url) for row in first.rows] == [(2, URL.decode())]
    header = parse_link_file(b"url\n" + b"y" * 200 * 1024 + b"\n" + URL + b"\n")
    assert header.rejected[0].line == 2 and [row.line for row in header.rows] == [3]


def test_one_50_mb_line_without_a_line_end_is_rejected_within_the_files_own_memory():
    data = b"https://example.com/" + b"a" * 50_000_000
    tracemalloc.start()
    try:
        started = time.monotonic()
        parsed = parse_link_file(data)
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.rows == [] and [(row.line, row.reason[:12]) for row in parsed.rejected] == [(1, "longer than ")]
    assert peak < 1_000_000, f"{peak} bytes on top of the file's own"  # no copy of the line, nor a decoded one
    assert elapsed < 5.0


async def test_tada_links_import_names_an_over_long_first_line_and_starts_the_next(cli, stack, web, tmp_path):  # noqa: F811
    case_id = await stack.open_case()
    web.live("/limits/after")
    file = tmp_path / "links.txt"
    file.write_bytes(b"h" * 200 * 1024 + b"\n" + web.url("/limits/after").encode() + b"\n")
    code, out, err = await cli("links", "import", case_id, str(file), "--json")
    assert code == 0, err[-500:]
    assert "Traceback" not in err
    result = first_json(out)
    assert result["started"] == 1
    assert [(row["line"], row["reason"][:12]) for row in result["rejected"]] == [(1, "longer than ")]
    assert await stack.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 1

    file.write_bytes(b"https://example.com/x\r" * (MAX_IMPORT_LINES + 1))
    code, out, err = await cli("links", "import", case_id, str(file))
    assert code == 2 and f"has {MAX_IMPORT_LINES + 1} lines" in " ".join(err.split())
    assert "Traceback" not in err
    assert await stack.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 1
