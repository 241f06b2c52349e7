"""The application: one run over a corpus, as `de06 run`, `serve` and `eval` use it.

`run_corpus` expands and triages the inputs, takes what the cache holds and what is a copy of
another input, runs the rest through the Prefect flow (each stage in a worker process with limits),
stores each finished document as it finishes, then streams the tables, the report and the manifest
from the stored entries one document at a time. It never prints: progress goes to the `Progress`
object it is given, and failures of the whole run are `De06Error`s for the CLI to map to exit codes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from pipeline.cache import CACHE_DIRNAME, DocumentEntry, ResultCache, cache_key
from pipeline.config import RunOptions
from pipeline.errors import De06Error, Interrupted, OutputError, UsageError
from pipeline.export import (
    RECORD_TABLES,
    TABLE_COLUMNS,
    TableWriter,
    flatten,
    new_generation,
    page_rows,
    publish,
    warm_arrow,
    write_manifest,
)
from pipeline.types import DocumentInfo, InputFile

LOCK_NAME = ".de06-lock"
WORK_DIRNAME = ".de06-work"
"""Private copies of the inputs being processed (removed at the end of every run)."""


class Progress(Protocol):
    """What a run tells whoever watches it (a terminal bar, a log, nothing)."""

    def found(self, total: int) -> None: ...

    def document(self, source: str, status: str) -> None: ...

    def pages(self, count: int) -> None: ...

    def note(self, message: str) -> None: ...


class NoProgress:
    def found(self, total: int) -> None:
        pass

    def document(self, source: str, status: str) -> None:
        pass

    def pages(self, count: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """One input's outcome as the caller sees it: its `documents` row and its record counts."""

    info: dict[str, Any]
    counts: dict[str, int]
    cached: bool

    @property
    def status(self) -> str:
        return str(self.info.get("status"))


@dataclass(slots=True)
class RunOutcome:
    documents: list[DocumentSummary]
    manifest: dict[str, Any]
    interrupted: bool = False


@dataclass(slots=True)
class _Slot:
    """One input of the run, in input order: where its entry is, once there is one."""

    source: str
    input: InputFile | None = None
    key: str | None = None
    entry: DocumentEntry | None = None  # held only for small entries never stored (failures at triage)
    duplicate_of: str | None = None
    cached: bool = False
    done: bool = False


# --------------------------------------------------------------------------------------------
# the output folder


OUTPUT_MARKS = ("manifest.json", CACHE_DIRNAME, LOCK_NAME)
"""Any of these makes a folder a de06 output folder."""


def prepare_output(out_dir: Path, force: bool = False) -> None:
    """Fail before any work when outputs could not be written: a clear message, no traceback.
    A folder holding other things than de06 outputs is refused unless `force`, so a mistyped
    `--out ~/Documents` never mixes tables into someone's files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir} is a file, not a folder; choose a folder for the outputs")
    if out_dir.is_dir() and not force:
        try:
            names = {p.name for p in out_dir.iterdir()}
        except OSError as e:
            raise OutputError(f"cannot read the output folder {out_dir}: {e.strerror or e}") from e
        visible_names = {n for n in names if not n.startswith(".")}
        if visible_names and not names & set(OUTPUT_MARKS):
            raise UsageError(
                f"--out {out_dir} holds other files ({', '.join(sorted(visible_names)[:3])}…) and is no de06 output "
                "folder; choose an empty or new folder, or add --force to write there anyway"
            )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir) as probe:
            probe.write(b"de06")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as e:
        reason = "the disk is full" if e.errno == errno.ENOSPC else e.strerror or str(e)
        raise OutputError(f"cannot write to the output folder {out_dir}: {reason}") from e


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """One run at a time per output folder; a second one is refused with the first one's pid."""
    path = out_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise OutputError(f"cannot create the lock file {path}: {e.strerror or e}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise OutputError(
                f"another de06 run (pid {holder}) is writing to {out_dir}; wait for it to finish or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# interruption


class _Signals:
    """Ctrl-C and SIGTERM: kill the worker processes at once, then unwind the run."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        from pipeline.isolation import stop_all

        stop_all()
        raise Interrupted(signum)

    def __enter__(self) -> _Signals:
        if self.enabled:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


# --------------------------------------------------------------------------------------------
# the run


def _failed_entry(source: str, message: str) -> DocumentEntry:
    """A document that never reached a worker (skipped, unreadable, interrupted): its id comes
    from its path, since its bytes were not read."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()
    info = DocumentInfo(
        doc_id=digest[:12], source=source, sha256="", format=None, pages=None, status="failed", error=message
    )
    return DocumentEntry(flatten(info), reusable=False)


class _Store:
    """The sink of the flow: each finished document's entry is written as it arrives."""

    def __init__(self, cache: ResultCache, slots: dict[str, _Slot], progress: Progress):
        self.cache = cache
        self.slots = slots
        self.progress = progress

    def document_done(self, input_file: InputFile, entry: DocumentEntry) -> None:
        slot = self.slots[input_file.source]
        assert slot.key is not None
        self.cache.put(slot.key, entry)
        slot.done = True
        self.progress.document(input_file.source, entry.status)

    def pages_done(self, count: int) -> None:
        self.progress.pages(count)


def run_corpus(
    inputs: Sequence[str],
    out_dir: Path,
    options: RunOptions,
    progress: Progress | None = None,
    handle_signals: bool = True,
) -> RunOutcome:
    """Process `inputs` into `out_dir`: tables, report and manifest. Interrupted runs still write
    what finished (the rest listed as failed) and then raise `Interrupted`."""
    from pipeline.ingest import display_path, expand_inputs, triage
    from pipeline.watchdog import arm

    progress = progress or NoProgress()
    started = time.time()
    prepare_output(out_dir, force=options.force)
    paths, missing, skipped = expand_inputs(list(inputs), follow_links=options.follow_links, exclude=out_dir)
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if not paths and not skipped:
        raise UsageError(f"no files found in {', '.join(inputs)}")
    progress.found(len(paths) + len(skipped))
    arm()  # from here on, whatever the run starts ends with it
    with output_lock(out_dir):
        cache = ResultCache(out_dir / CACHE_DIRNAME)
        order: list[_Slot] = []
        by_source: dict[str, _Slot] = {}  # the inputs to process (expand_inputs lists a path once)
        first_by_sha: dict[str, _Slot] = {}
        todo: list[InputFile] = []
        cached = 0
        for path, reason in skipped:
            source = display_path(Path(path))
            order.append(_Slot(source, entry=_failed_entry(source, reason), done=True))
            progress.document(source, "failed")
        for path in paths:
            try:
                input_file = triage(str(path))
            except OSError as e:
                source = display_path(path)
                slot = _Slot(source, entry=_failed_entry(source, f"cannot read the file: {e.strerror or e}"), done=True)
                order.append(slot)
                progress.document(slot.source, "failed")
                continue
            slot = _Slot(input_file.source, input=input_file, key=cache_key(input_file, options))
            order.append(slot)
            first = first_by_sha.get(input_file.sha256)
            if first is not None:  # byte-identical to an earlier input: listed, not processed again
                slot.duplicate_of = first.source
                continue
            first_by_sha[input_file.sha256] = slot
            by_source[input_file.source] = slot
            hit = None if options.force or not options.use_cache else cache.get(input_file, options)
            if hit is not None:
                slot.cached = slot.done = True
                cached += 1
                progress.document(slot.source, hit.status)
            elif (refusal := _refusal(input_file, options)) is not None:
                slot.entry = refusal
                slot.done = True
                progress.document(slot.source, refusal.status)
            else:
                if not todo:
                    _in_background(importlib.import_module, "pipeline.flows")  # Prefect's 1.5 s import, beside triage
                todo.append(input_file)
        work = out_dir / WORK_DIRNAME
        shutil.rmtree(work, ignore_errors=True)  # copies left by a run that was killed
        todo = _snapshots(todo, work, by_source, options, progress)
        interrupted: Interrupted | None = None
        flow_started = time.time()
        _in_background(warm_arrow)  # beside the flow, whose work waits on the worker processes
        if todo:
            try:
                with _Signals(handle_signals):
                    _run_flow(todo, options, _Store(cache, by_source, progress), progress)
            except Interrupted as e:
                interrupted = e
            except KeyboardInterrupt:
                interrupted = Interrupted(signal.SIGINT)
        flow_seconds = time.time() - flow_started
        shutil.rmtree(work, ignore_errors=True)
        with _Signals(False):
            documents, manifest = _write_outputs(out_dir, order, cache, options, started, flow_seconds, cached)
    if interrupted is not None:
        interrupted.outcome = RunOutcome(documents, manifest, interrupted=True)
        raise interrupted
    return RunOutcome(documents, manifest)


def _refusal(input_file: InputFile, options: RunOptions) -> DocumentEntry | None:
    """The entry of a file refused on its size and first bytes alone, at once and in this process."""
    from pipeline.ingest import check_acceptable

    try:
        check_acceptable(input_file, options.max_bytes)
    except De06Error as e:
        from pipeline.stages import refused

        return refused(input_file, e, options)
    return None


def _in_background(target: Callable[..., object], *args: object) -> None:
    """Run an import in a thread, so that it overlaps work that waits (hashing, the worker
    processes); whoever imports the same module later waits for this import, not a second one."""
    threading.Thread(target=target, args=args, daemon=True).start()


def _run_flow(todo: list[InputFile], options: RunOptions, store: _Store, progress: Progress) -> None:
    """The Prefect flow over the documents to process. The shared Prefect server is found or
    started first, so that it comes up while Prefect is imported here and the worker forkserver starts."""
    from pipeline import prefect_server

    lease = prefect_server.acquire_early()
    try:
        if lease is not None and lease.started_now:
            progress.note(
                f"starting the local Prefect server (UI {lease.state.ui_url}); later runs reuse it, "
                f"it stops after {prefect_server.idle_seconds() / 60:.0f} min unused or with `de06 server stop`"
            )
        from pipeline.isolation import reset, start_forkserver

        reset()
        if options.isolate:
            start_forkserver()  # it warms up (imports, rules) while Prefect is imported here
        from pipeline.flows import run_documents

        run_documents(todo, options, store, lease)
    finally:
        if lease is not None:
            lease.release()


def _snapshots(
    todo: list[InputFile], work: Path, slots: dict[str, _Slot], options: RunOptions, progress: Progress
) -> list[InputFile]:
    """Private copies of the inputs to process (see `ingest.snapshot`); a file that vanished or
    changed kind since it was hashed fails here, and one whose bytes changed is keyed by the copy."""
    from pipeline.ingest import snapshot

    copies = []
    for input_file in todo:
        slot = slots[input_file.source]
        try:
            copy = snapshot(input_file, work)
        except OSError as e:
            slot.entry = _failed_entry(slot.source, f"cannot read the file: {e.strerror or e}")
            slot.done = True
            progress.document(slot.source, "failed")
            continue
        slot.input = copy
        slot.key = cache_key(copy, options)
        copies.append(copy)
    return copies


def _entry_of(slot: _Slot, cache: ResultCache) -> DocumentEntry:
    if slot.entry is not None:
        return slot.entry
    assert slot.input is not None and slot.key is not None
    if not slot.done:
        return _failed_entry(slot.source, "the run was interrupted before this document finished")
    entry = cache.load(slot.key, slot.input.sha256)
    if entry is None:  # the entry vanished or was damaged between writing and reading
        return _failed_entry(slot.source, "the stored result of this document could not be read back")
    return entry.at_source(slot.source)


def _write_outputs(
    out_dir: Path,
    order: list[_Slot],
    cache: ResultCache,
    options: RunOptions,
    started: float,
    flow_seconds: float,
    cached: int,
) -> tuple[list[DocumentSummary], dict[str, Any]]:
    """Stream every document's entry into the tables and the report, then write the manifest."""
    generation = new_generation(out_dir)
    try:
        summaries, listed, counts = _write_generation(generation, order, cache)
        manifest = write_manifest(generation, listed, counts, started, flow_seconds, options, cached)
        publish(out_dir, generation)
    except OSError as e:
        shutil.rmtree(generation, ignore_errors=True)
        reason = "the disk is full" if e.errno == errno.ENOSPC else e.strerror or str(e)
        raise OutputError(
            f"writing the outputs to {out_dir} failed ({reason}); the previous outputs there are unchanged, "
            "and the documents processed are cached for the next run"
        ) from e
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    return summaries, manifest


def _write_generation(
    generation: Path, order: list[_Slot], cache: ResultCache
) -> tuple[list[DocumentSummary], list[tuple[dict[str, Any], dict[str, float]]], dict[str, int]]:
    """Every document's entry streamed into the tables and the report of one generation folder."""
    from pipeline.report import ReportWriter

    tables = TableWriter(generation)
    report = ReportWriter(generation)
    summaries: list[DocumentSummary] = []
    listed: list[tuple[dict[str, Any], dict[str, float]]] = []
    firsts: dict[str, DocumentEntry] = {}
    try:
        for slot in order:
            if slot.duplicate_of is not None:  # the first copy always comes earlier in `order`
                entry = firsts[slot.duplicate_of].at_source(slot.source, duplicate_of=slot.duplicate_of)
            else:
                entry = _entry_of(slot, cache)
                firsts[slot.source] = DocumentEntry(entry.info, reusable=entry.reusable)  # its row, not its records
            info = {c: entry.info.get(c) for c in TABLE_COLUMNS["documents"]}
            tables.add("documents", [info])
            for table in RECORD_TABLES:
                tables.add(table, entry.rows.get(table, []))
            tables.add("pages", page_rows(str(info["doc_id"]), str(info["source"]), entry.pages))
            report.add_document(info, entry.rows, entry.pages)
            counts = {t: entry.count(t) for t in RECORD_TABLES}
            summaries.append(DocumentSummary(info, counts, slot.cached))
            listed.append((info, entry.timings))
        tables.commit()
        report.commit()
    except BaseException:
        tables.discard()
        report.discard()
        raise
    return summaries, listed, tables.counts()

