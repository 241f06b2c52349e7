"""Prefect flow over the inputs: thin tasks around the stages of `stages.py`.

Per document: `read` (triage + text layer; a document with nothing to OCR is finished right there)
→ one `ocr_page` task per page that needs OCR → `finish` (normalize, extract, cross-check). Each task runs its stage in a worker process with limits
(`pipeline.isolation`), so a runaway or crashing file fails alone. Tasks are coarse on purpose:
Prefect costs ~50 ms of CPU per task (shared/notes/prefect.md §1b), an OCR page costs ~3 s. A
finish task is submitted only once its OCR pages are done, so no worker thread ever sits waiting on
another task.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline import prefect_server, stages
from pipeline.cache import DocumentEntry
from pipeline.config import RunOptions
from pipeline.display import visible
from pipeline.document import ReadPlan
from pipeline.types import InputFile


class _Opaque:
    """A holder Prefect does not look into. Bare task arguments and flow results make Prefect walk
    every page, record and char box looking for futures (13 s of a 55 s PDF run, measured);
    `quote()` does not survive Dask's serialization, a plain object does."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


@task(name="read", cache_policy=NO_CACHE)
def read_task(input_file: InputFile, options: RunOptions) -> _Opaque:
    return _Opaque(stages.read(input_file, options))


@task(name="ocr-page", cache_policy=NO_CACHE)
def ocr_page_task(input_file: InputFile, page_number: int, options: RunOptions) -> _Opaque:
    return _Opaque(stages.ocr(input_file, page_number, options))


@task(name="finish", cache_policy=NO_CACHE)
def finish_task(read: _Opaque, options: RunOptions) -> _Opaque:
    plan, pages = read.value
    return _Opaque(stages.finish(plan, pages, options))


def _take(future: PrefectFuture[Any]) -> Any:
    """A finished task's value, emptied out of its holder: Prefect keeps every task's result state
    for the length of the flow (to find upstream tasks by result identity), so a holder left full
    would keep every document's pages and rows alive until the run ends."""
    holder = future.result()
    value, holder.value = holder.value, None
    return value


def _done(future: PrefectFuture[Any]) -> bool:
    # The wrapped (concurrent or dask) future answers locally; `future.state` may ask the API.
    wrapped = getattr(future, "wrapped_future", None)
    return bool(wrapped.done()) if wrapped is not None else future.state.is_final()


def task_runner_for(options: RunOptions) -> Any:
    """The configured task runner.

    `local`: `--workers` threads (Prefect's default is unbounded), each waiting on the worker
    process that runs its stage, so the work itself runs in `--workers` processes. `dask`: prefect-dask's runner on an existing
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
    # Threads that each wait on one worker process: `--workers` processes do the work.
    return ThreadPoolTaskRunner(max_workers=options.workers)


def _run_settings(api_url: str | None) -> dict[Any, Any]:
    """Settings for this run's flow, where the user set nothing else.

    Flow-run heartbeats are off: they serve crash detection for flows that workers start from
    deployments; de06 runs its flow in its own process, and joining the heartbeat thread costs up
    to a second at the end of every flow (its loop sleeps in 1 s steps).
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    settings: dict[Any, Any] = {}
    if "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" not in os.environ:
        settings[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
    if api_url is not None:
        settings[PREFECT_API_URL] = api_url
    return settings


@contextmanager
def prefect_api(options: RunOptions, lease: prefect_server.Lease | None) -> Iterator[None]:
    """The Prefect API this run reports to, and that Dask workers share.

    A `PREFECT_API_URL` the user set (environment or Prefect profile) is used as it is. Otherwise
    the local server de06 runs share (`pipeline.prefect_server`): `lease`, held by the caller when
    the run already found or started it while it triaged, else one taken here for the flow's
    length; with `DE06_SHARED_SERVER=0`, Prefect's temporary server for this run alone. Its
    address reaches Dask workers in the task context and in the environment of LocalCluster workers.
    """
    from prefect.settings import get_current_settings, temporary_settings

    own: prefect_server.Lease | None = None  # a lease taken here is released here
    temporary: Any = None
    api_url: str | None = None  # None: the user's API, or Prefect's temporary server in this process
    if not get_current_settings().api.url:
        if lease is None and prefect_server.enabled():
            lease = own = prefect_server.acquire()
        if lease is not None:
            try:
                lease.wait()
                api_url = lease.api_url
            except prefect_server.ServerError as e:
                print(visible(f"de06: {e}; using a temporary Prefect server for this run"), file=sys.stderr)
        if api_url is None and options.runner == "dask":
            from prefect.server.api.server import SubprocessASGIServer

            temporary = SubprocessASGIServer()
            temporary.start(timeout=90)
            api_url = temporary.api_url
    if api_url is not None:
        os.environ["PREFECT_API_URL"] = api_url
    try:
        with temporary_settings(_run_settings(api_url)):
            yield
    finally:
        if api_url is not None:
            os.environ.pop("PREFECT_API_URL", None)
        if temporary is not None:
            temporary.stop()
        if own is not None:
            own.release()


class RunSink(Protocol):
    """Where finished work goes, as it finishes (in the flow's thread, one call at a time)."""

    def document_done(self, input_file: InputFile, entry: DocumentEntry) -> None: ...

    def pages_done(self, count: int) -> None: ...


def _drive(inputs: Sequence[InputFile], options: RunOptions, sink: RunSink) -> None:
    """Plan, OCR and finish every input, at most `2 × workers` documents in flight at once so that
    memory does not grow with the corpus; each finished document goes to the sink at once."""
    window = 2 * options.workers
    waiting = list(range(len(inputs)))[::-1]
    planning: dict[int, PrefectFuture[Any]] = {}
    ocr_waiting: dict[int, tuple[ReadPlan, list[PrefectFuture[Any]]]] = {}
    finishing: dict[int, PrefectFuture[Any]] = {}
    pages_reported: dict[int, int] = {}
    while waiting or planning or ocr_waiting or finishing:
        progressed = False
        while waiting and len(planning) + len(ocr_waiting) + len(finishing) < window:
            index = waiting.pop()
            planning[index] = read_task.submit(inputs[index], options)
            progressed = True
        for index, future in list(planning.items()):
            if _done(future):
                del planning[index]
                read = _take(future)
                if isinstance(read, ReadPlan):
                    ocr_futures = [ocr_page_task.submit(read.input, n, options) for n in read.ocr_pages]
                    ocr_waiting[index] = (read, ocr_futures)
                else:
                    sink.document_done(inputs[index], read)
                progressed = True
        for index, (plan, ocr_futures) in list(ocr_waiting.items()):
            done_pages = sum(1 for f in ocr_futures if _done(f))
            if done_pages > pages_reported.get(index, 0):
                sink.pages_done(done_pages - pages_reported.get(index, 0))
                pages_reported[index] = done_pages
            if done_pages == len(ocr_futures):
                del ocr_waiting[index]
                pages = [_take(f) for f in ocr_futures]
                finishing[index] = finish_task.submit(_Opaque((plan, pages)), options)
                progressed = True
        for index, future in list(finishing.items()):
            if _done(future):
                del finishing[index]
                sink.document_done(inputs[index], _take(future))
                progressed = True
        if not progressed:
            time.sleep(0.02)


def run_documents(
    inputs: Sequence[InputFile], options: RunOptions, sink: RunSink, lease: prefect_server.Lease | None = None
) -> None:
    """Run the de06 flow over `inputs` (none of them cached); results reach `sink` as they finish.

    The flow is made per run around the sink: a sink is no flow parameter (Prefect records
    parameters as JSON), and no module global carries it.
    """
    if not inputs:
        return

    @flow(name="de06-run", log_prints=False, validate_parameters=False)
    def de06_run(documents: int) -> None:
        _drive(inputs, options, sink)

    with prefect_api(options, lease):
        de06_run.with_options(task_runner=task_runner_for(options))(len(inputs))
