"""Prefect flow over the inputs: thin tasks around the plain stage functions of `document.py`.

Per document: `plan` (triage + text layer) → one `ocr_page` task per page that needs OCR → `finish`
(normalize, extract, cross-check). Tasks are coarse on purpose: Prefect costs ~50 ms of CPU per
task (shared/notes/prefect.md §1b), an OCR page costs ~3 s. A finish task is submitted only once its
OCR pages are done, so no worker thread ever sits waiting on another task.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline.cache import CACHE_DIRNAME, ResultCache
from pipeline.config import RunOptions
from pipeline.document import ReadPlan, finish_document, ocr_page, plan_document
from pipeline.ingest import triage
from pipeline.types import DocumentResult, InputFile, PageText, StageError

ProgressCallback = Callable[[str, int], None]
"""Called with ("document" | "page", how many) as work completes; set by the CLI for its bar."""
_progress: ProgressCallback | None = None


class _Opaque:
    """A holder Prefect does not look into. Bare task arguments and flow results make Prefect walk
    every page, record and char box looking for futures (13 s of a 55 s PDF run, measured);
    `quote()` does not survive Dask's serialization, a plain object does."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@task(name="plan", cache_policy=NO_CACHE)
def plan_task(input_file: InputFile, options: RunOptions) -> ReadPlan:
    return plan_document(input_file, options)


@task(name="ocr-page", cache_policy=NO_CACHE)
def ocr_page_task(input_file: InputFile, page_number: int, options: RunOptions) -> PageText | StageError:
    return ocr_page(input_file, page_number, options)


@task(name="finish", cache_policy=NO_CACHE)
def finish_task(read: _Opaque, options: RunOptions) -> DocumentResult:
    plan, pages = read.value
    return finish_document(plan, pages, options)


def _done(future: PrefectFuture[Any]) -> bool:
    # The wrapped (concurrent or dask) future answers locally; `future.state` may ask the API.
    wrapped = getattr(future, "wrapped_future", None)
    return bool(wrapped.done()) if wrapped is not None else future.state.is_final()


def task_runner_for(options: RunOptions) -> Any:
    """The configured task runner.

    `local`: threads with an explicit bound (Prefect's default is unbounded); tesseract runs as a
    subprocess, so threads give real parallelism. `dask`: prefect-dask's runner on an existing
    scheduler (`--address`) or on a temporary LocalCluster bound to loopback, one single-threaded
    worker process per `--workers`.
    """
    if options.runner == "dask":
        from prefect_dask import DaskTaskRunner

        if options.address:
            return DaskTaskRunner(address=options.address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": options.workers,
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": "127.0.0.1:0",  # the default ":8787" binds every interface
            }
        )
    return ThreadPoolTaskRunner(max_workers=options.workers)


@contextmanager
def shared_prefect_api(options: RunOptions) -> Iterator[None]:
    """Give Dask workers one Prefect API to report to.

    Without one, every worker process starts its own temporary server and database
    (shared/notes/prefect.md §3). A configured `PREFECT_API_URL` is used as it is; otherwise
    Prefect's own local server runs on 127.0.0.1 for the length of the run, and its address travels
    to the workers in the task context (and in the environment of LocalCluster workers).
    """
    if options.runner != "dask" or os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    server.start(timeout=90)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


@flow(name="de06-run", log_prints=False, validate_parameters=False)
def run_flow(inputs: list[InputFile], options: RunOptions) -> _Opaque:
    """Process every input; failures come back as results with status=failed, never as a crash.

    Each finished document goes into the result cache at once, so a killed run resumes from there.
    """
    progress = _progress
    cache = _cache(options)
    results: dict[int, DocumentResult] = {}
    planning = {index: plan_task.submit(f, options) for index, f in enumerate(inputs)}
    ocr_waiting: dict[int, tuple[ReadPlan, list[PrefectFuture[Any]]]] = {}
    finishing: dict[int, PrefectFuture[Any]] = {}
    pages_reported: dict[int, int] = {}
    while planning or ocr_waiting or finishing:
        progressed = False
        for index, future in list(planning.items()):
            if _done(future):
                del planning[index]
                plan: ReadPlan = future.result()
                ocr_futures = [ocr_page_task.submit(plan.input, n, options) for n in plan.ocr_pages]
                ocr_waiting[index] = (plan, ocr_futures)
                progressed = True
        for index, (plan, ocr_futures) in list(ocr_waiting.items()):
            done_pages = sum(1 for f in ocr_futures if _done(f))
            if progress and done_pages > pages_reported.get(index, 0):
                progress("page", done_pages - pages_reported.get(index, 0))
                pages_reported[index] = done_pages
            if done_pages == len(ocr_futures):
                del ocr_waiting[index]
                pages = [f.result() for f in ocr_futures]
                finishing[index] = finish_task.submit(_Opaque((plan, pages)), options)
                progressed = True
        for index, future in list(finishing.items()):
            if _done(future):
                del finishing[index]
                results[index] = future.result()
                if cache:
                    cache.put(results[index], inputs[index], options)
                if progress:
                    progress("document", 1)
                progressed = True
        if not progressed:
            time.sleep(0.02)
    return _Opaque([results[i] for i in range(len(inputs))])


def _cache(options: RunOptions) -> ResultCache | None:
    return ResultCache(Path(options.out_dir) / CACHE_DIRNAME) if options.use_cache else None


def run_documents(
    inputs: Sequence[InputFile], options: RunOptions, progress: ProgressCallback | None = None
) -> list[tuple[DocumentResult, bool]]:
    """Each input's result and whether it came from the cache.

    Cached documents are taken before any orchestration starts; the flow (and Prefect's API
    server, ~7 s) runs only when some input is new or changed.
    """
    cache = _cache(options)
    done: dict[int, DocumentResult] = {}
    if cache and not options.force:
        for index, input_file in enumerate(inputs):
            hit = cache.get(input_file, options)
            if hit is not None:
                done[index] = hit
                if progress:
                    progress("document", 1)
    todo = [i for i in range(len(inputs)) if i not in done]
    if todo:
        global _progress
        _progress = progress  # a callback is no flow parameter: Prefect records parameters as JSON
        try:
            with shared_prefect_api(options):
                runner_flow = run_flow.with_options(task_runner=task_runner_for(options))
                for index, result in zip(todo, runner_flow([inputs[i] for i in todo], options).value, strict=True):
                    done[index] = result
        finally:
            _progress = None
    return [(done[i], i not in todo) for i in range(len(inputs))]


def triage_all(paths: Sequence[str]) -> list[InputFile | tuple[str, str]]:
    """Hash every path; unreadable ones come back as (path, message) so they can be reported."""
    out: list[InputFile | tuple[str, str]] = []
    for p in paths:
        try:
            out.append(triage(p))
        except OSError as e:
            out.append((p, f"cannot read the file: {e.strerror or e}"))
    return out
