"""The hostile inputs of tests/security/test_hostile_inputs.py, as data.

REJECTED: the input gets a clear error naming it. INERT: it is accepted, but only as
data (a normalised, percent-encoded URL; a sealed note), never as markup, a header or
SQL. EITHER: either outcome is fine, as long as it is one of the two.
"""

from __future__ import annotations

REJECTED, INERT, EITHER = "rejected", "inert", "either"

GOOD_URLS = ["https://good.example.com/a", "https://good.example.com/b", "https://good.example.com/c"]

#: One URL a line in a plain import file: (label, raw line, expected).
LINES: list[tuple[str, bytes, str]] = [
    ("javascript scheme", b"javascript:alert(1)", REJECTED),
    ("data URL", b"data:text/html,<script>alert(1)</script>", REJECTED),
    ("vbscript scheme", b"vbscript:msgbox(1)", REJECTED),
    ("file scheme", b"file:///etc/passwd", REJECTED),
    ("ftp scheme", b"ftp://example.com/x", REJECTED),
    ("credentials", b"https://user:pass@example.com/", REJECTED),
    ("at-sign host confusion", b"https://paypal.com@evil.example/", REJECTED),
    ("backslash host confusion", b"https://evil.example\\@paypal.com/", EITHER),
    ("decimal IP", b"http://2130706433/", REJECTED),
    ("octal IP", b"http://0177.0.0.1/", REJECTED),
    ("hex IP", b"http://0x7f.1/", REJECTED),
    ("NUL byte", b"https://example.com/a\x00b", REJECTED),
    ("terminal escape", b"https://example.com/\x1b[31mred", REJECTED),
    ("bell and backspace", b"https://example.com/\x07\x08", REJECTED),
    ("non-UTF-8 bytes", b"https://example.com/\xff\xfe\xfd", REJECTED),
    ("latin-1 text", "https://example.com/caf\xe9".encode("latin-1"), REJECTED),
    ("10 MB line", b"https://example.com/" + b"a" * 10_000_000, REJECTED),
    ("overlong URL", b"https://example.com/" + b"a" * 3000, REJECTED),
    ("embedded space", b"https://exa mple.com/", REJECTED),
    ("tab", b"https://example.com/\tx", REJECTED),
    ("unicode line separator", "https://example.com/a\u2028b".encode(), REJECTED),
    ("template in path", b"https://example.com/{{7*7}}", INERT),
    ("jinja block in path", b"https://example.com/{%if%}x{%endif%}", INERT),
    ("jinja block with spaces", b"https://example.com/{% if 1 %}x", REJECTED),
    ("SQL in path", b"https://example.com/';DROP%20TABLE%20cases;--", INERT),
    ("SQL in query", b"https://example.com/?q=1'%20OR%20'1'='1", INERT),
    ("HTML in path", b"https://example.com/<script>alert(1)</script>", INERT),
    ("encoded CRLF header", b"https://example.com/%0d%0aBcc:%20x@y.test", INERT),
    ("RTL override", "https://example.com/\u202egnp.exe".encode(), INERT),
    ("emoji", "https://example.com/\U0001f642".encode(), INERT),
    ("encoded NUL", b"https://example.com/%00", INERT),
    ("IDN homograph (Cyrillic a)", "https://p\u0430ypal.com/login".encode(), INERT),
    ("zero-width space in host", "https://exam\u200bple.com/zw".encode(), EITHER),
    ("fullwidth letters", "https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/fw".encode(), INERT),
    ("label over 63 characters", b"https://" + b"a" * 64 + b".com/", REJECTED),
    ("port out of range", b"https://example.com:99999/", REJECTED),
    ("no host", b"https:///path", REJECTED),
    ("scheme only", b"https://", REJECTED),
    ("spreadsheet formula", b'=HYPERLINK("http://evil.example","x")', REJECTED),
    ("bare script tag", b"<script>alert(1)</script>", REJECTED),
]

#: Rows of a CSV with a url column (line 1 is the header): (label, raw row, expected).
CSV_ROWS: list[tuple[str, bytes, str]] = [
    ("quoted CRLF header injection", b'"https://example.com/x\r\nBcc: evil@x.test",n', REJECTED),
    ("quote never closed", b'"https://example.com/unclosed,n', REJECTED),
    ("formula in the url cell", b"=cmd|' /C calc'!A0,n", REJECTED),
    ("NUL inside a CSV row", b"https://example.com/\x00,n", REJECTED),
    ("a 200 kB cell", b'"' + b"a" * 200_000 + b'",n', REJECTED),
    ("empty url cell", b",only a note", REJECTED),
    ("ten thousand columns", b"https://good.example.com/wide," + b"x," * 10_000, INERT),
]

#: Free text from a caseworker (notes, reasons): each is stored sealed and read back as given.
NOTES: list[tuple[str, str]] = [
    ("CRLF header injection", "ok\r\nBcc: evil@x.test\r\n\r\nbody"),
    ("template expression", "{{7*7}} {{ config.items() }}"),
    ("template statement", "{% for x in range(9999999) %}x{% endfor %}"),
    ("SQL", "'; DROP TABLE cases; --"),
    ("NUL byte", "before\x00after"),
    ("lone surrogate", "half a pair \ud800 here"),
    ("RTL override", "\u202eevil.exe"),
    ("100 kB note", "n" * 100_000),
    ("JSON-looking", '{"note": "x", "outcome": "removed"}'),
]

#: `tada ...` arguments and the exit code each must get (0 ok, 2 usage, 3 refused, 4 not found).
CLI_ARGS: list[tuple[str, list[str], int]] = [
    ("CRLF in reference", ["case", "open", "--age", "30", "--reference", "A\r\nBcc: x@y.test"], 2),
    ("LF in reference", ["case", "open", "--age", "30", "--reference", "A\nB"], 2),
    ("escape in reference", ["case", "open", "--age", "30", "--reference", "\x1b[2J"], 2),
    ("overlong reference", ["case", "open", "--age", "30", "--reference", "r" * 101], 2),
    ("negative age", ["case", "open", "--age", "-1"], 2),
    ("age not a number", ["case", "open", "--age", "thirty"], 2),
    ("under age", ["case", "open", "--age", "15"], 3),
    ("CRLF in language", ["case", "open", "--age", "30", "--language", "en\r\nX"], 2),
    ("CRLF in jurisdiction", ["case", "open", "--age", "30", "--jurisdiction", "HK\r\nBcc: x@y.test"], 2),
    ("template as jurisdiction", ["case", "open", "--age", "30", "--jurisdiction", "{{7*7}}"], 2),
    ("SQL as case id", ["status", "TD-'; DROP TABLE cases; --"], 4),
    ("10 kB case id", ["status", "T" * 10_000], 4),
    ("path as link id", ["link", "show", "../../etc/passwd"], 4),
    ("escape in note", ["link", "respond", "L", "--outcome", "removed", "--note", "\x1b]0;x\x07"], 2),
    ("overlong note", ["link", "respond", "L", "--outcome", "removed", "--note", "n" * 2001], 2),
    ("unknown outcome", ["link", "respond", "L", "--outcome", "{{7*7}}"], 2),
    ("CRLF in escalation address", ["link", "escalate", "L", "--to", "a@b.test\r\nBcc: c@d.test", "--kind", "host"], 2),
    ("escape in withdraw reason", ["case", "withdraw", "C", "--reason", "\x1b[31m"], 2),
]
