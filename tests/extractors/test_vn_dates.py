"""Vietnamese date phrases → ISO: every form seen in the reports, OCR noise, and non-dates."""

from __future__ import annotations

import pytest

from extractors.vn_dates import find_dates, match_date, ocr_digits, parse_date_text, to_iso


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("25/01/2023", "2023-01-25"),
        ("8/4/2022", "2022-04-08"),
        ("ngày 08/4/2022", "2022-04-08"),
        ("27.5.2024", "2024-05-27"),
        ("ngày 27.5.2024", "2024-05-27"),
        ("01-02-2023", "2023-02-01"),
        ("ngày 14 tháng 5 năm 2016", "2016-05-14"),
        ("14 tháng 5 năm 2016", "2016-05-14"),
        ("ngày 14 tháng 5, năm 2016", "2016-05-14"),
        ("ngay 14 thang 5 nam 2016", "2016-05-14"),  # typed without accents
        ("ngày 21 tháng 6 năm 2022", "2022-06-21"),  # report header, sample 001
        ("08 / 4 / 2022", "2022-04-08"),  # stray OCR spaces
        ("O8/4/2O22", "2022-04-08"),  # O read for 0
        ("ll/6/2024", "2024-06-11"),  # l read for 1
        (" ngày 25/01/2023, ", "2023-01-25"),
        ("31/02/2023", None),  # not a calendar date
        ("25/13/2023", None),
        ("ngày /02/2023", None),  # blank day (sample 000)
        ("tháng 02/2023", None),
        ("2022 - 2025", None),
        ("25/01/2023 và 26/01/2023", None),  # two dates are not one date
        ("", None),
    ],
)
def test_parse_date_text(text: str, iso: str | None) -> None:
    assert parse_date_text(text) == iso


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("từ ngày 16/01/2023 đến 15/02/2023", [("16/01/2023", "2023-01-16"), ("15/02/2023", "2023-02-15")]),
        ("Quảng trường 3/2, 25/25 dịch vụ, 220/380V", []),
        ("phiên bản 1.0 và 1.657.621 hồ sơ", []),
        ("27.5.2024;31/02/2023", [("27.5.2024", "2024-05-27"), ("31/02/2023", None)]),
        ("ngày 14 tháng 5 năm 2016 và 1/1/2020", [("14 tháng 5 năm 2016", "2016-05-14"), ("1/1/2020", "2020-01-01")]),
        ("12/3/2023/QĐ", [("12/3/2023", "2023-03-12")]),
        ("Ol/lO/OOOO", []),  # no genuine digit in the year: not a date
    ],
)
def test_find_dates(text: str, expected: list[tuple[str, str | None]]) -> None:
    found = find_dates(text)
    assert [(d.text, d.iso) for d in found] == expected
    for d in found:
        assert text[d.start : d.end] == d.text


def test_match_date_is_anchored() -> None:
    text = "Kế hoạch số 10/KH-UBND ngày 25/01/2023 về"
    pos = text.index("ngày")
    m = match_date(text, pos)
    assert m is not None and m.iso == "2023-01-25" and text[m.start : m.end] == "ngày 25/01/2023"
    assert match_date(text, 0) is None


@pytest.mark.parametrize(
    ("d", "m", "y", "iso"),
    [(29, 2, 2024, "2024-02-29"), (29, 2, 2023, None), (1, 1, 1899, None), (31, 12, 2100, "2100-12-31")],
)
def test_to_iso(d: int, m: int, y: int, iso: str | None) -> None:
    assert to_iso(d, m, y) == iso


def test_ocr_digits() -> None:
    assert ocr_digits("2O2l") == "2021"
    assert ocr_digits("I0|") == "101"
