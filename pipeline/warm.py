"""Imported once by the worker forkserver (`pipeline.isolation`): every stage module is loaded
and the rules are compiled before the first fork, so each child starts warm (~1 s saved a child)."""

from __future__ import annotations

import pipeline.docx_text
import pipeline.ocr
import pipeline.page_images
import pipeline.pdf_text
import pipeline.plain_text  # noqa: F401 - the readers, imported before the first fork
from pipeline.config import RunOptions
from pipeline.document import ReadPlan, finish_document
from pipeline.stages import STAGES  # noqa: F401 - the functions children run
from pipeline.types import InputFile, PageText, build_lines

_WARM_TEXT = (
    "BÁO CÁO\nKết quả thực hiện Đề án 06 tháng 1 năm 2024\n"
    "Thực hiện Kế hoạch số 10/KH-UBND ngày 25/01/2023, đã tiếp nhận 1.657.621 hồ sơ, đạt 85,29%.\n"
    "TT\tTên dịch vụ công\tTổng số hồ sơ\tTrực tuyến\n1\tĐăng ký khai sinh\t587\t399\n"
)


def _warm() -> None:
    page = PageText(page=1, text=_WARM_TEXT, method="text", lines=build_lines(_WARM_TEXT))
    warm_input = InputFile(path="/dev/null", source="warm.txt", sha256="0" * 64, size=len(_WARM_TEXT), kind="text")
    finish_document(ReadPlan(warm_input, "text", 1, pages=(page,)), [], RunOptions())
    try:  # asked once here, not by every OCR child (each ask runs `tesseract --version`)
        pipeline.ocr.tesseract_version()
    except Exception:  # noqa: BLE001 - no tesseract: the OCR stage reports it, with its fix
        pass


_warm()
