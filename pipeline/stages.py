"""The three stages of a document as the flow runs them: in a worker process with limits
(`pipeline.isolation`), or in-process where children are not allowed (Dask workers).

`read` (triage + text layer; finished at once when no page needs OCR) → `ocr` (one page) →
`finish` (normalize, extract, check, the report's page images, so no untrusted file is ever
rendered in the main process, and the records flattened into output rows).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pipeline.cache import DocumentEntry, entry_from_result
from pipeline.config import RunOptions
from pipeline.display import visible
from pipeline.document import ReadPlan, finish_document, ocr_page, plan_document
from pipeline.errors import De06Error
from pipeline.isolation import PageReporter, StageLimits, can_isolate, no_report, run_isolated
from pipeline.types import InputFile, PageText, StageError


def _read(input_file: InputFile, options: RunOptions, report: PageReporter) -> ReadPlan | DocumentEntry:
    """Read what needs no OCR; a document with nothing to OCR is finished in the same child (one
    task and one fork a document instead of two: Prefect's cost a task is ~50 ms of CPU)."""
    plan = plan_document(input_file, options, on_page=report)
    if plan.ocr_pages and plan.failure is None:
        return plan
    return _finish(plan, [], options, report)


def _ocr(input_file: InputFile, page_number: int, options: RunOptions, report: PageReporter) -> PageText | StageError:
    return ocr_page(input_file, page_number, options)


def _finish(
    plan: ReadPlan, pages: list[PageText | StageError], options: RunOptions, report: PageReporter
) -> DocumentEntry:
    """Normalize, extract and check; render the report's page images; and flatten the records into
    the plain rows the outputs are made of, here in the worker rather than in de06's own process."""
    result = finish_document(plan, pages, options)
    images: dict[int, str] = {}
    if result.pages and result.info.format in ("pdf", "pdf-ocr", "image"):
        from pipeline.page_images import render_page_images

        try:
            images = render_page_images(result, plan.input.path, Path(options.out_dir))
        except Exception as e:  # noqa: BLE001 - a missing picture must not lose the document
            print(visible(f"de06: no page images for {result.info.source}: {e}"), file=sys.stderr)
    return entry_from_result(result, images)


STAGES = {"read": _read, "ocr": _ocr, "finish": _finish}


def limits_for(options: RunOptions) -> StageLimits:
    return StageLimits(memory=options.max_memory, seconds_per_page=options.timeout)


def run_stage(stage: str, args: tuple[Any, ...], options: RunOptions, page: int | None = None) -> Any:
    """Run one stage with the run's limits; failures come back as values, never as exceptions."""
    function = STAGES[stage]
    if options.isolate and can_isolate():
        return run_isolated(stage, function, args, limits_for(options), first_page=page)
    return function(*args, no_report)


def _failed(input_file: InputFile, error: StageError, options: RunOptions) -> DocumentEntry:
    """The entry of a document whose worker failed as a whole (nothing of the file is read here)."""
    return entry_from_result(finish_document(ReadPlan(input_file, None, 0, failure=error), [], options))


def refused(input_file: InputFile, error: De06Error, options: RunOptions) -> DocumentEntry:
    """The entry of a file refused on its size and first bytes alone (`ingest.check_acceptable`:
    empty, too large, of a kind de06 does not read), made in de06's own process: no worker, no Prefect."""
    return _failed(input_file, StageError("ingest", None, error.category, error.message), options)


def read(input_file: InputFile, options: RunOptions) -> ReadPlan | DocumentEntry:
    """The plan of a document with pages to OCR, else its finished entry."""
    outcome = run_stage("read", (input_file, options), options)
    return _failed(input_file, outcome, options) if isinstance(outcome, StageError) else outcome


def ocr(input_file: InputFile, page_number: int, options: RunOptions) -> PageText | StageError:
    return run_stage("ocr", (input_file, page_number, options), options, page=page_number)


def finish(read_plan: ReadPlan, pages: list[PageText | StageError], options: RunOptions) -> DocumentEntry:
    outcome = run_stage("finish", (read_plan, pages, options), options)
    if isinstance(outcome, StageError):
        # The extraction child failed as a whole: the document fails with that reason.
        return _failed(read_plan.input, outcome, options)
    return outcome


def process(input_file: InputFile, options: RunOptions) -> DocumentEntry:
    """One document through the stages as the flow runs them, in sequence (tests, tools)."""
    outcome = read(input_file, options)
    if isinstance(outcome, ReadPlan):
        outcome = finish(outcome, [ocr(input_file, n, options) for n in outcome.ocr_pages], options)
    return outcome
