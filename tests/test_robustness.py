"""Arbitrary text never breaks the stage chain: every extractor and cross-check must cope."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import RunOptions
from pipeline.document import ReadPlan, finish_document
from pipeline.types import InputFile, PageText, build_lines

FRAGMENTS = [
    "Kế hoạch số 10/KH-UBND ngày 25/01/2023", "đạt 85,29%", "399/587 hồ sơ", "\t", "\n", "\n\n",
    "<sup>1</sup>", "**", "### ", "- ", "+ Cấp lại, đổi thẻ CCCD: ", "(18.057 hồ sơ)", "#DIV/0!",
    "Tổng số", "TT\tThủ tục hành chính\tTổng số hồ sơ\tTỷ lệ", "Số: 06 /BC-TCTĐA06", "ngày 21 tháng 6 năm 2022",
    "Luật Căn cước năm 2023", "1.657.621", "quý I/2023", "220/380V", "Ð", "0", "/", "-", " ", "của Chính phủ",
    "về việc", "BÁO CÁO", "CHỦ TỊCH", "Nguyễn Văn A", "(", ")", ";", ".", "tính đến ngày 15/02/2023",
]

texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=60).map("".join)


def _finish(text: str):  # type: ignore[no-untyped-def]
    input_file = InputFile(path="/nonexistent/x.txt", source="x.txt", sha256="ab" * 32, size=len(text), kind="text")
    page = PageText(page=1, text=text, method="text", lines=build_lines(text))
    return finish_document(ReadPlan(input_file, "text", 1, pages=(page,)), [], RunOptions())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_is_processed_without_error(text: str) -> None:
    result = _finish(text)
    assert result.info.status == "ok", result.info.error
    for record in (*result.references, *result.figures, *result.services, *result.tables, *result.findings):
        p = record.prov
        assert text[p.char_start : p.char_end] == p.text
