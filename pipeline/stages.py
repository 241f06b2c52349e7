"""The three stages of a document as the flow runs them: in a worker process with limits
(`pipeline.isolation`), or in-process where children are not allowed (Dask workers).

`plan` (triage + text layer) → `ocr` (one page) → `finish` (normalize, extract, check, and the
report's page images, so no untrusted file is ever rendered in the main process).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pipeline.config import RunOptions
from pipeline.display import visible
from pipeline.document import ReadPlan, finish_document, ocr_page, plan_document
from pipeline.isolation import PageReporter, StageLimits, can_isolate, no_report, run_isolated
from pipeline.types import DocumentResult, InputFile, PageText, StageError


def _plan(input_file: InputFile, options: RunOptions, report: PageReporter) -> ReadPlan:
    return plan_document(input_file, options, on_page=report)


def _ocr(input_file: InputFile, page_number: int, options: RunOptions, report: PageReporter) -> PageText | StageError:
    return ocr_page(input_file, page_number, options)


def _finish(
    plan: ReadPlan, pages: list[PageText | StageError], options: RunOptions, report: PageReporter
) -> tuple[DocumentResult, dict[int, str]]:
    result = finish_document(plan, pages, options)
    images: dict[int, str] = {}
    if result.pages and result.info.format in ("pdf", "pdf-ocr", "image"):
        from pipeline.page_images import render_page_images

        try:
            images = render_page_images(result, plan.input.path, Path(options.out_dir))
        except Exception as e:  # noqa: BLE001 - a missing picture must not lose the document
            print(visible(f"de06: no page images for {result.info.source}: {e}"), file=sys.stderr)
    return result, images


STAGES = {"plan": _plan, "ocr": _ocr, "finish": _finish}


def limits_for(options: RunOptions) -> StageLimits:
    return StageLimits(memory=options.max_memory, seconds_per_page=options.timeout)


def run_stage(stage: str, args: tuple[Any, ...], options: RunOptions, page: int | None = None) -> Any:
    """Run one stage with the run's limits; failures come back as values, never as exceptions."""
    function = STAGES[stage]
    if options.isolate and can_isolate():
        return run_isolated(stage, function, args, limits_for(options), first_page=page)
    return function(*args, no_report)


def plan(input_file: InputFile, options: RunOptions) -> ReadPlan:
    outcome = run_stage("plan", (input_file, options), options)
    if isinstance(outcome, StageError):
        return ReadPlan(input_file, None, 0, failure=outcome)
    return outcome


def ocr(input_file: InputFile, page_number: int, options: RunOptions) -> PageText | StageError:
    outcome = run_stage("ocr", (input_file, page_number, options), options, page=page_number)
    return outcome


def finish(
    read_plan: ReadPlan, pages: list[PageText | StageError], options: RunOptions
) -> tuple[DocumentResult, dict[int, str]]:
    outcome = run_stage("finish", (read_plan, pages, options), options)
    if isinstance(outcome, StageError):
        # The extraction child failed as a whole: the document fails with that reason.
        failed = ReadPlan(read_plan.input, read_plan.format, read_plan.page_count, failure=outcome)
        return finish_document(failed, [], options), {}
    return outcome
