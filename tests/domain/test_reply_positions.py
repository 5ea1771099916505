"""Which links of a batched notice a reply names (tada/domain/reply_positions.py)."""

from __future__ import annotations

import pytest

from tada.domain.reply_positions import links_named

URLS = [f"https://tube.example/v/{n}" for n in range(1, 6)]


@pytest.mark.parametrize(
    ("words", "named"),
    [
        ("The first two have been removed.", [1, 2]),
        ("We removed the first 3 links.", [1, 2, 3]),
        ("Links 1 and 3 are gone; the others do not violate our rules.", [1, 3]),
        ("Items #2-#4 were disabled.", [2, 3, 4]),
        ("Link no. 3 is gone.", [3]),
        ("URL 5 has been taken down", [5]),
        ("the last two are removed", [4, 5]),
        ("The second and fourth links were removed.", [2, 4]),
        ("第1、3條已移除。", [1, 3]),
        ("前兩個已刪除", [1, 2]),
        ("第二至四条已删除", [2, 3, 4]),
        ("We removed tube.example/v/4 today.", [4]),
    ],
)
def test_a_reply_names_some_of_the_links(words, named):
    assert links_named(words, 5, URLS) == named


@pytest.mark.parametrize(
    "words",
    [
        "The content has been removed.",  # about all of them
        "Your ticket #12345 has been closed.",  # not a position: beyond the list
        "We will review within 24 hours.",
        "2 links have been removed.",  # a count, not which
        "Case no. 99817 is under review.",
        "We have opened ticket #2; our team will review it.",  # a small ticket number is no position
        "Your case no. 3 is under review.",
        "Ticket number 4: received.",
    ],
)
def test_a_reply_that_names_none_is_about_all(words):
    assert links_named(words, 5, URLS) is None


def test_one_link_listed_needs_no_positions():
    assert links_named("The first one is removed.", 1, URLS[:1]) is None
