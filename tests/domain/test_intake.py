import pytest

from tada.domain.intake import ImportRow, ParsedImport, Rejection, parse_link_file, parse_url_args

LONG = "https://example.com/" + "a" * 2100


def by_line(parsed: ParsedImport) -> dict[int, str]:
    return {r.line: r.reason for r in parsed.rejected}


def test_plain_text_with_every_kind_of_bad_row():
    data = (
        b"https://good.example/1\n"  # 1
        b"not a link at all\n"  # 2 invalid
        b"ftp://files.example/x\n"  # 3 non-http
        b"javascript:alert(1)\n"  # 4 javascript:
        + LONG.encode()  # 5 over-long
        + b"\n"
        b"\n"  # 6 blank, with more after it
        b"HTTPS://GOOD.example:443/1#again\n"  # 7 duplicate of 1
        b"https://bad.example/\xff\xfe\n"  # 8 not UTF-8
        b"good.example/2\n"  # 9
        b"\n\n"  # trailing blank lines: ignored
    )
    parsed = parse_link_file(data)
    assert parsed.rows == [
        ImportRow(line=1, url="https://good.example/1"),
        ImportRow(line=9, url="https://good.example/2"),
    ]
    assert by_line(parsed) == {
        2: "contains spaces or control characters",
        3: "only http and https links can be taken down",
        4: "only http and https links can be taken down",
        5: "longer than 2048 characters",
        6: "blank",
        7: "duplicate of line 1",
        8: "not valid UTF-8 text",
    }
    assert [r.line for r in parsed.rejected] == [2, 3, 4, 5, 6, 7, 8]


def test_rejected_values_are_shown_safely():
    parsed = parse_link_file(LONG.encode() + b"\nhttps://bad.example/\xff\n" + b"javascript:\x07x\n")
    long, not_utf8, bell = parsed.rejected
    assert len(long.value) == 200 and long.value.startswith("https://example.com/aaa") and long.value.endswith("…")
    assert not_utf8.value == "https://bad.example/\ufffd"
    assert bell.value == "javascript:\ufffdx"
    assert bell.reason == "contains spaces or control characters"


def test_csv_with_a_url_column():
    data = (
        "\ufeffName,URL,Notes\n"  # 1: BOM, header (case-insensitive)
        "a,https://one.example/x,first\n"  # 2
        'b,"https://two.example/y?utm_source=z",second\n'  # 3
        "c,,no url here\n"  # 4
        'd,https://three.example/,"a note\nover two lines"\n'  # 5-6
        "e,javascript:void(0),bad\n"  # 7
        "f,https://one.example/x#dup\n"  # 8
    ).encode("utf-8")
    parsed = parse_link_file(data)
    assert parsed.rows == [
        ImportRow(line=2, url="https://one.example/x"),
        ImportRow(line=3, url="https://two.example/y"),
        ImportRow(line=5, url="https://three.example/"),
    ]
    assert parsed.rejected == [
        Rejection(line=4, value="c,,no url here", reason="no URL in the url column"),
        Rejection(line=7, value="javascript:void(0)", reason="only http and https links can be taken down"),
        Rejection(line=8, value="https://one.example/x#dup", reason="duplicate of line 2"),
    ]


def test_csv_with_only_a_url_column_and_windows_line_ends():
    parsed = parse_link_file(b"url\r\nhttps://a.example/\r\n\r\nhttps://b.example/\r\n")
    assert [(r.line, r.url) for r in parsed.rows] == [(2, "https://a.example/"), (4, "https://b.example/")]
    assert parsed.rejected == [Rejection(line=3, value="", reason="blank")]


def test_csv_bad_bytes_in_the_url_cell_reject_only_that_row():
    parsed = parse_link_file(b"url,note\nhttps://a.example/\xc3\x28,x\nhttps://b.example/,\xff\n")
    assert by_line(parsed) == {2: "not valid UTF-8 text"}
    assert [r.url for r in parsed.rows] == ["https://b.example/"]  # its note column is ignored


def test_an_unreadable_csv_row_is_named_and_the_next_rows_survive():
    data = b"url\n" + b"x" * 200_000 + b"\nhttps://after.example/\n"
    parsed = parse_link_file(data)
    assert parsed.rejected[0].line == 2
    assert parsed.rejected[0].reason.startswith("longer than 32 KiB")  # never read as CSV
    assert parsed.rows == [ImportRow(line=3, url="https://after.example/")]


def test_a_quoted_cell_over_the_csv_field_limit_is_named_and_the_lines_it_took_are_read_alone():
    # A quote left open: the note grows over lines of 30 kB each, past the csv module's limit.
    data = b'url,note\nhttps://a.example/,"' + b"n" * 30_000 + b"\n" + (b"n" * 30_000 + b"\n") * 5
    data += b"https://after.example/,fine\n"
    parsed = parse_link_file(data)
    assert parsed.rejected[0].line == 2
    assert parsed.rejected[0].reason.startswith("not a readable CSV row")
    assert [r.line for r in parsed.rejected[1:]] == [3, 4, 5, 6, 7]  # each line it took, read alone
    assert parsed.rows == [ImportRow(line=8, url="https://after.example/")]


def test_leading_blank_lines_are_reported_and_numbered_physically():
    parsed = parse_link_file(b"\n\nhttps://a.example/\n")
    assert [r.line for r in parsed.rejected] == [1, 2]
    assert parsed.rows == [ImportRow(line=3, url="https://a.example/")]


def test_old_mac_line_ends_count_as_lines():
    parsed = parse_link_file(b"https://a.example/\rhttps://b.example/\r")
    assert [r.line for r in parsed.rows] == [1, 2]


def test_a_plain_file_whose_first_line_is_a_url_with_a_comma_is_not_csv():
    parsed = parse_link_file(b"https://a.example/p?x=1,2\nhttps://b.example/\n")
    assert [r.url for r in parsed.rows] == ["https://a.example/p?x=1,2", "https://b.example/"]


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf", b"url\n"])
def test_empty_files_import_nothing_and_reject_nothing(data):
    assert parse_link_file(data) == ParsedImport()


def test_url_arguments():
    parsed = parse_url_args(["https://a.example/1", "a.example/1", "", "mailto:x@y.example", "b.example"])
    assert parsed.rows == [
        ImportRow(line=1, url="https://a.example/1"),
        ImportRow(line=5, url="https://b.example/"),
    ]
    assert parsed.rejected == [
        Rejection(line=2, value="a.example/1", reason="duplicate of argument 1"),
        Rejection(line=3, value="", reason="blank"),
        Rejection(line=4, value="mailto:x@y.example", reason="only http and https links can be taken down"),
    ]


def test_a_trailing_blank_argument_is_still_reported():
    assert parse_url_args(["https://a.example/", " "]).rejected == [Rejection(line=2, value="", reason="blank")]
