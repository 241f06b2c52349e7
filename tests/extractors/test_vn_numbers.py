"""Vietnamese numeral parsing: grouping dots, decimal commas, writers' exceptions, OCR noise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.vn_numbers import clean_numeral, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the Vietnamese convention
        ("1.657.621", 1657621.0),
        ("85,29", 85.29),
        ("85,29%", 85.29),
        ("42,9 %", 42.9),
        ("1229", 1229.0),
        ("05", 5.0),
        ("0", 0.0),
        ("26.384", 26384.0),
        ("1.584.779.000", 1584779000.0),
        ("520.001.000đ", 520001000.0),
        ("1,5", 1.5),
        ("1.234,5", 1234.5),
        # what writers actually produce: "." before one or two digits is a decimal point
        ("98.9%", 98.9),
        ("1.1%", 1.1),
        ("2.5", 2.5),
        ("87.50%", 87.5),
        ("1.0", 1.0),
        # English-style grouping when unambiguous
        ("1,657,621", 1657621.0),
        ("1,234.5", 1234.5),
        # OCR noise
        ("3415]", 3415.0),
        ("!", 1.0),
        ("!00%", 100.0),
        ("1O0%", 100.0),
        ("2l", 21.0),
        ("1.657.62l", 1657621.0),
        ("1 657 621", 1657621.0),
        ("[448.073]", 448073.0),
        ("1..234", 1234.0),
        ("1.234.", 1234.0),
        ("*17.386*", 17386.0),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "abc", "%", "hồ sơ", "1 2", "..."])
def test_parse_number_rejects_non_numbers(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [("36,100", True, 36100.0), ("36,100", False, 36.1), ("36,1", True, 36.1)],
)
def test_count_hint_reads_comma_groups(text: str, count: bool, expected: float) -> None:
    assert parse_number(text, count=count) == pytest.approx(expected)


@pytest.mark.parametrize(("text", "expected"), [("12.345%", 12345.0), ("99,53 %", 99.53)])
def test_percent_detected_from_text(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


def test_clean_numeral_maps_look_alikes() -> None:
    assert clean_numeral("1O.5l2") == "10.512"


@given(st.integers(min_value=0, max_value=10**12))
def test_roundtrip_grouped_integers(n: int) -> None:
    grouped = f"{n:,}".replace(",", ".")
    assert parse_number(grouped) == float(n)


@given(st.text(max_size=40))
def test_never_crashes(text: str) -> None:
    value = parse_number(text)
    assert value is None or isinstance(value, float)
