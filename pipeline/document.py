"""The stage chain for one document, in plain functions (no Prefect): tests call these directly.

`process_document` = `plan_document` (triage + text layer, deciding which pages need OCR) →
`ocr_page` for each of those pages → `finish_document` (normalize, extract, cross-check, ids).
The flow in `flows.py` runs the same three steps as tasks so OCR pages spread across workers.
Exceptions stop at this boundary: a bad file becomes a `failed` result, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from extractors import EXTRACTORS
from extractors.document_info import extract_document_info
from pipeline.config import RunOptions
from pipeline.crosscheck import find_inconsistencies
from pipeline.errors import De06Error
from pipeline.ingest import check_acceptable, check_page_count, triage
from pipeline.normalize import build_views
from pipeline.types import (
    DocText,
    DocumentInfo,
    DocumentResult,
    Finding,
    Format,
    InputFile,
    PageText,
    StageError,
    mean_confidence,
)
from rules import get_rules

PageCallback = Callable[[int, int | None], None]
"""Told (page, of_pages) as a reader starts each page: worker processes report it to de06."""

ID_LETTERS = {"references": "R", "figures": "F", "services": "S", "tables": "T", "findings": "X"}


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What reading found before OCR: text pages, pages still to OCR, or why the file failed."""

    input: InputFile
    format: Format | None
    page_count: int
    pages: tuple[PageText, ...] = ()
    ocr_pages: tuple[int, ...] = ()
    ocr_reasons: tuple[tuple[int, str], ...] = ()
    """(page, why it is OCR'd) for each of `ocr_pages`."""
    errors: tuple[StageError, ...] = ()
    failure: StageError | None = None
    seconds: float = 0.0


def _stage_error(stage: str, page: int | None, error: BaseException) -> StageError:
    if isinstance(error, De06Error):
        return StageError(stage, page, error.category, error.message)
    if isinstance(error, MemoryError):
        return StageError(stage, page, "memory", "ran out of memory: over the limit per worker; raise it with --max-memory")
    # An unexpected library error: keep its type so a developer can find it, in one line.
    return StageError(stage, page, "internal", f"unexpected {type(error).__name__}: {error}")


def plan_document(input_file: InputFile, options: RunOptions, on_page: PageCallback | None = None) -> ReadPlan:
    """Check the file and read whatever does not need OCR; `on_page(n, of)` hears which page is read."""
    started = time.perf_counter()
    try:
        check_acceptable(input_file, options.max_bytes)
        plan = _read(input_file, options, on_page)
    except Exception as e:  # noqa: BLE001 - the document boundary: every failure becomes a result
        plan = ReadPlan(input_file, None, 0, failure=_stage_error("ingest", None, e))
    return replace(plan, seconds=time.perf_counter() - started)


def _read(input_file: InputFile, options: RunOptions, on_page: PageCallback | None) -> ReadPlan:
    if input_file.kind == "text":
        from pipeline.plain_text import read_text

        doc = read_text(input_file)
        return ReadPlan(input_file, "text", 1, pages=doc.pages)
    if input_file.kind == "docx":
        from pipeline.docx_text import read_docx

        doc = read_docx(input_file)
        return ReadPlan(input_file, "docx", len(doc.pages), pages=doc.pages, errors=doc.errors)
    if input_file.kind == "pdf":
        from pipeline.pdf_text import plan_pdf

        pdf = plan_pdf(input_file, options, on_page)
        fmt: Format = "pdf-ocr" if pdf.ocr_pages and len(pdf.ocr_pages) == pdf.page_count else "pdf"
        wanted = set(pdf.ocr_pages)
        return ReadPlan(
            input_file,
            fmt,
            pdf.page_count,
            pages=pdf.text_pages,
            ocr_pages=pdf.ocr_pages,
            ocr_reasons=tuple((n, why) for n, why in pdf.reasons if n in wanted),
            errors=pdf.errors,
        )
    if input_file.kind == "image":
        from pipeline.ocr import image_page_count

        count = image_page_count(input_file)
        check_page_count(count, options.max_pages, "picture file")
        pages = tuple(range(1, count + 1))
        return ReadPlan(input_file, "image", count, ocr_pages=pages, ocr_reasons=tuple((n, "picture file") for n in pages))
    raise AssertionError(f"triage let through kind {input_file.kind!r}")


def ocr_page(input_file: InputFile, page_number: int, options: RunOptions) -> PageText | StageError:
    """OCR one page (of a PDF or an image); a failure is returned, not raised."""
    try:
        if input_file.kind == "pdf":
            from pipeline.pdf_text import ocr_pdf_page

            return ocr_pdf_page(input_file, page_number, options)
        from pipeline.ocr import ocr_image_file_page

        return ocr_image_file_page(input_file, page_number, options)
    except Exception as e:  # noqa: BLE001 - one page's failure makes the document partial
        return _stage_error("ocr", page_number, e)


def finish_document(
    plan: ReadPlan, ocr_results: Sequence[PageText | StageError], options: RunOptions
) -> DocumentResult:
    """Assemble pages, then normalize, extract, cross-check and number the records."""
    input_file = plan.input
    base = DocumentInfo(
        doc_id=input_file.doc_id,
        source=input_file.source,
        sha256=input_file.sha256,
        format=plan.format,
        pages=plan.page_count or None,
    )
    timings = {"read": round(plan.seconds, 4)}
    if plan.failure is not None:
        info = replace(base, status="failed", error=plan.failure.message)
        return DocumentResult(info=info, errors=(plan.failure,), timings=timings)
    errors = list(plan.errors)
    pages = list(plan.pages)
    reasons = dict(plan.ocr_reasons)
    for result in ocr_results:
        if isinstance(result, StageError):
            errors.append(result)
        elif result.read is not None and result.page in reasons:
            pages.append(replace(result, read=replace(result.read, reason=reasons[result.page])))
        else:
            pages.append(result)
    pages.sort(key=lambda p: p.page)
    if not pages:
        message = "; ".join(e.message for e in errors) or "no page could be read"
        info = replace(base, status="failed", error=message)
        return DocumentResult(info=info, errors=tuple(errors), timings=timings)
    doc = DocText(input=input_file, format=plan.format or "text", pages=tuple(pages), page_count=plan.page_count)
    started = time.perf_counter()
    try:
        result = _extract(doc, base, errors, timings, options)
    except Exception as e:  # noqa: BLE001 - extraction bugs must not stop the corpus
        error = _stage_error("extract", None, e)
        info = replace(base, status="failed", error=error.message)
        return DocumentResult(info=info, errors=(*errors, error), timings=timings)
    timings["extract"] = round(time.perf_counter() - started, 4)
    return result


def _record_limit_finding(found: list[Any], table: str, limit: int) -> Finding:
    """The finding for a document that yields an absurd number of records (a runaway file)."""
    message = (
        f"stopped at {limit} {table} ({len(found)} found): more than one record per 6 characters "
        "of text is no report but a runaway file; the rest of this table was dropped"
    )
    return Finding(prov=found[limit].prov, kind="record_limit", message=message)


def _extract(
    doc: DocText, base: DocumentInfo, errors: list[StageError], timings: dict[str, float], options: RunOptions
) -> DocumentResult:
    rules = get_rules()
    views = build_views(doc)
    fields = extract_document_info(views, rules)
    status = "partial" if errors else "ok"
    info = replace(
        base,
        doc_type=fields.doc_type,
        own_number=fields.own_number,
        locality=fields.locality,
        issue_date=fields.issue_date,
        period_start=fields.period_start,
        period_end=fields.period_end,
        signer=fields.signer,
        title=fields.title,
        status=status,
        error="; ".join(f"page {e.page}: {e.message}" if e.page else e.message for e in errors) or None,
        ocr_confidence=mean_confidence(doc.pages),
    )
    tables: dict[str, list[Any]] = {name: [] for name in ID_LETTERS}
    limit_hits: list[Finding] = []
    # Absurd is a density: the densest real list ("5 hồ sơ; 7 hồ sơ") has one every ~8 characters.
    record_limit = max(options.min_record_limit, sum(len(p.text) for p in doc.pages) // 6)
    for extractor in EXTRACTORS.values():
        found = list(extractor.function(views, rules))
        if len(found) > record_limit:
            limit_hits.append(_record_limit_finding(found, extractor.table, record_limit))
            found = found[:record_limit]
        tables[extractor.table].extend(found)
    if limit_hits:
        message = "; ".join(f.message for f in limit_hits)
        info = replace(info, status="partial", error="; ".join(filter(None, (info.error, message))))
    # A service row's period is its table caption's or section's; failing those, the report's own.
    tables["services"] = [
        r if r.period_start or r.period_end else replace(r, period_start=info.period_start, period_end=info.period_end)
        for r in tables["services"]
    ]
    numbered = {name: _number(doc.input.doc_id, ID_LETTERS[name], recs) for name, recs in tables.items()}
    numbered, findings = find_inconsistencies(numbered)
    numbered["findings"] = _number(doc.input.doc_id, "X", [*numbered["findings"], *findings, *limit_hits])
    return DocumentResult(
        info=info,
        references=tuple(numbered["references"]),
        figures=tuple(numbered["figures"]),
        services=tuple(numbered["services"]),
        tables=tuple(numbered["tables"]),
        findings=tuple(numbered["findings"]),
        errors=tuple(errors),
        timings=timings,
        # What the report needs (text and size); char boxes are already in every record's bbox.
        pages=tuple(PageText(p.page, p.text, p.method, (), width=p.width, height=p.height, read=p.read) for p in doc.pages),
    )


def _number(doc_id: str, letter: str, records: list[Any]) -> list[Any]:
    """Stable ids `<doc_id>-<letter><seq>` in reading order (same bytes → same ids)."""
    ordered = sorted(records, key=lambda r: (r.prov.page, r.prov.char_start, r.prov.char_end))
    return [replace(r, id=f"{doc_id}-{letter}{i:04d}") for i, r in enumerate(ordered, start=1)]


def process_document(
    path: str | Path | InputFile,
    options: RunOptions | None = None,
    ocr: Callable[[InputFile, int, RunOptions], PageText | StageError] = ocr_page,
) -> DocumentResult:
    """Read, OCR, extract and check one input, sequentially: the whole stage chain without Prefect."""
    options = options or RunOptions()
    input_file = path if isinstance(path, InputFile) else triage(path)
    plan = plan_document(input_file, options)
    ocr_results = [ocr(input_file, n, options) for n in plan.ocr_pages]
    return finish_document(plan, ocr_results, options)
