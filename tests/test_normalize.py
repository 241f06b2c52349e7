"""The normalized view: joins wrapped prose, drops markup, and maps every span back exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.ingest import triage
from pipeline.normalize import PageView, build_views, fold
from pipeline.plain_text import read_text


@pytest.mark.parametrize(
    ("a", "b"),
    [("hoà", "hòa"), ("thuý", "thúy"), ("Hoà Bình", "hòa bình"), ("khoẻ", "khỏe")],
)
def test_fold_uses_one_tone_mark_convention(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_fold_composes_decomposed_text() -> None:
    assert fold("Co\u0302\u0323ng") == fold("Cộng")


def test_wrapped_lines_join_into_one_sentence(make_view: Callable[[str], PageView]) -> None:
    text = "Thực hiện Kế hoạch số \n\n45/KH-UBND ngày 23/01/2024 của \n\nUBND tỉnh. Câu sau. \n"
    view = make_view(text)
    assert "Kế hoạch số 45/KH-UBND ngày 23/01/2024 của UBND tỉnh." in view.text
    start = view.text.index("45/KH-UBND")
    prov = view.provenance_norm(start, start + len("45/KH-UBND"))
    assert prov.text == "45/KH-UBND"
    assert prov.line == 3
    assert " ".join(prov.sentence.split()) == "Thực hiện Kế hoạch số 45/KH-UBND ngày 23/01/2024 của UBND tỉnh."
    assert prov.sentence == text[prov.sentence_start : prov.sentence_end].replace("\n", " ")


def test_markup_is_ignored_for_matching(make_view: Callable[[str], PageView]) -> None:
    view = make_view("### **Kết quả** đạt <b>85,29%</b> và 21<sup>1</sup> văn bản\n")
    assert view.text == "Kết quả đạt 85,29% và 21 văn bản"
    s = view.text.index("85,29%")
    assert view.provenance_norm(s, s + 6).text == "85,29%"


def test_footnotes_are_their_own_blocks_and_body_resumes(make_view: Callable[[str], PageView]) -> None:
    text = (
        "- Phối hợp ký Thỏa thuận hợp tác về việc tiếp nhận hồ sơ thuộc\n\n---\n\n"
        "<sup>1</sup> Kế hoạch số 884/KH-CAT ngày 15/3/2022.\n\n"
        "thẩm quyền giải quyết của Công an tỉnh.\n"
    )
    view = make_view(text)
    kinds = [b.kind for b in view.blocks]
    assert kinds == ["list_item", "footnote"]
    body = view.blocks[0]
    assert len(body.pieces) == 2
    s = text.index("thẩm quyền")
    assert view.provenance(s, s + 10).line == 7


def test_tab_rows_stay_rows(make_view: Callable[[str], PageView]) -> None:
    view = make_view("Bảng\n1\tCấp lại thẻ\t349\t15,81%\n2\tĐăng ký\t7.754\t94,87%\n")
    assert [b.kind for b in view.blocks] == ["paragraph", "table_row", "table_row"]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Tại TP. Bắc Giang có 1.657.621 hồ sơ. Đạt 85,29%.", 2),
        ("Số: 06 /BC-TCTĐA06 ngày 21/6/2022. Kết quả tốt.", 2),
        ("Làm báo cáo, v.v. Cuối cùng.", 1),
    ],
)
def test_sentence_segmentation_knows_abbreviations_and_numbers(
    make_view: Callable[[str], PageView], text: str, sentences: int
) -> None:
    assert len(make_view(text).sentence_ranges) == sentences


def test_every_normalized_character_maps_into_the_page(samples: list[Path]) -> None:
    for path in samples:
        for view in build_views(read_text(triage(path))):
            assert len(view.origin) == len(view.text) + 1
            assert all(0 <= o <= len(view.page.text) for o in view.origin)
            for i, ch in enumerate(view.text):
                if ch.isdigit() or ch in "/%":  # letters may move under the tone-mark swap
                    assert view.page.text[view.origin[i]] == ch
