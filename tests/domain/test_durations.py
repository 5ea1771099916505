from datetime import timedelta

import pytest

from tada.domain.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("48h", timedelta(hours=48)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        (" 3D ", timedelta(days=3)),
        ("0s", timedelta(0)),
    ],
)
def test_parses(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["3x", "", "d", "3", "1.5h", "-3d", "12h1d", "3d3d", "3 d", "three days"])
def test_rejects_with_the_value_and_the_accepted_form(text):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f'"{text}" is not a duration like 90s, 48h or 3d'


def test_rejects_non_text():
    with pytest.raises(ValueError, match="^3 is not a duration like 90s, 48h or 3d$"):
        parse_duration(3)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(hours=36), "1d12h"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=14), "2w"),
        (timedelta(days=10, seconds=5), "1w3d5s"),
        (timedelta(0), "0s"),
    ],
)
def test_formats_compactly(value, text):
    assert format_duration(value) == text


@pytest.mark.parametrize("text", ["90s", "48h", "3d", "1d12h", "2w", "1w2d3h4m5s"])
def test_format_is_the_inverse_of_parse(text):
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_negative_durations_cannot_be_formatted():
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))
