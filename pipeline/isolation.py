"""Worker processes: each stage of each document runs in a child process with limits.

Why not Prefect's `ProcessPoolTaskRunner` (shared/notes/prefect.md §2): it spawns fresh
interpreters that import Prefect again, in ephemeral mode every worker starts its own temporary
API server, and a `ProcessPoolExecutor` that loses a worker fails every pending future, so the
document that killed it cannot be named. Instead Prefect runs its tasks in a bounded thread pool
(`--workers` threads) and each task runs its stage here, in a child forked from the standard
library's *forkserver*: a clean process started once, before any thread, with the rules compiled
(`pipeline.warm`), so a child costs a fork, not an import.

Each child:
- gets an address-space limit (`--max-memory` on top of what it starts with), no core dumps, its
  own process group (so a timeout kills its tesseract too, and Ctrl-C reaches only de06 itself)
  and a parent-death signal (it dies with the forkserver, which dies with de06);
- reports the page it is reading, so a crash is told as "while reading page 3" and the deadline
  grows with the pages it announces (`--timeout` seconds a page);
- sends back its result, or its error as a value; a child that dies instead (a native crash, the
  kernel's OOM killer) or runs past its deadline becomes a `StageError` naming the cause and the
  option that raises the limit. Nothing in a child can take the run down.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pipeline.types import StageError

_PR_SET_PDEATHSIG = 1
_live: set[multiprocessing.process.BaseProcess] = set()
_live_lock = threading.Lock()
_stopping = threading.Event()


@dataclass(frozen=True, slots=True)
class StageLimits:
    """What one stage of one document may use."""

    memory: int
    """Bytes of address space a child may add to what it starts with (0: no limit)."""
    seconds_per_page: float
    """Wall seconds a page may take; a stage gets at least `minimum_seconds`."""
    minimum_seconds: float = 60.0

    def deadline(self, started: float, pages: int) -> float:
        return started + max(self.minimum_seconds, self.seconds_per_page * max(1, pages))


class PageReporter:
    """Handed to a stage function: `reporter(page, of_pages)` says what the child is reading."""

    def __init__(self, conn: Connection | None) -> None:
        self._conn = conn

    def __call__(self, page: int, of_pages: int | None = None) -> None:
        if self._conn is not None:
            self._conn.send(("page", (page, of_pages)))


def no_report(page: int, of_pages: int | None = None) -> None:
    """The reporter used when a stage runs in-process (tests, Dask workers)."""


_context: Any = None
_context_lock = threading.Lock()


def _forkserver() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["pipeline.warm"])
            _context = ctx
        return _context


def start_forkserver() -> None:
    """Start the forkserver now (it imports and compiles the rules once): call it early, beside
    other start-up work, so the first document does not wait for it."""
    from multiprocessing import forkserver

    _forkserver()
    forkserver.ensure_running()


def can_isolate() -> bool:
    """Daemonic processes (a Dask worker) may not have children: there stages run in-process."""
    return not multiprocessing.current_process().daemon


def _limit_self(memory: int) -> None:
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory > 0:
        current = _address_space()
        soft = current + memory
        with contextlib.suppress(OSError, ValueError):
            hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)


def _address_space() -> int:
    try:
        with Path("/proc/self/status").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _child_main(conn: Connection, function: Callable[..., Any], args: tuple[Any, ...], memory: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a child stops
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _limit_self(memory)
    try:
        result = function(*args, PageReporter(conn))
        message: tuple[str, Any] = ("done", result)
    except MemoryError:
        message = ("memory", None)
    except BaseException as e:  # noqa: BLE001 - the stage functions return errors; this is a bug
        message = ("error", f"{type(e).__name__}: {e}")
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("memory", None))
    conn.close()


def _signal_name(code: int) -> str:
    try:
        return f"signal {code} ({signal.Signals(code).name})"
    except ValueError:
        return f"signal {code}"


def _memory_text(limits: StageLimits) -> str:
    return f"{limits.memory / 2**30:.1f} GiB" if limits.memory else "the machine's memory"


def run_isolated(
    stage: str,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    limits: StageLimits,
    first_page: int | None = None,
) -> Any:
    """`function(*args, reporter)` in a child process; its result, or a `StageError` if the child
    failed, died or ran out of time. `first_page` names the page the stage is about (OCR tasks)."""
    if _stopping.is_set():
        return StageError(stage, first_page, "interrupted", "the run was interrupted before this stage ran")
    ctx = _forkserver()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_main, args=(sender, function, args, limits.memory), daemon=True)
    started = time.monotonic()
    with _live_lock:
        process.start()
        _live.add(process)
    sender.close()
    page, pages = first_page, 1
    deadline = limits.deadline(started, pages)
    outcome: tuple[str, Any] | None = None
    try:
        while outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill(process)
                return StageError(
                    stage,
                    page,
                    "timeout",
                    f"stopped after {time.monotonic() - started:.0f} s"
                    + (f" while reading page {page}" if page else "")
                    + f": over the time limit ({limits.seconds_per_page:g} s a page, at least "
                    f"{limits.minimum_seconds:g} s); raise it with --timeout",
                )
            try:
                ready = receiver.poll(min(remaining, 0.5))
                message = receiver.recv() if ready else None
            except (EOFError, OSError):
                break
            if message is None:
                if not process.is_alive() and not receiver.poll(0):
                    break
                continue
            kind, payload = message
            if kind == "page":
                page, of_pages = payload
                if of_pages and of_pages > pages:
                    pages = of_pages
                    deadline = limits.deadline(started, pages)
            else:
                outcome = (kind, payload)
    finally:
        receiver.close()
        process.join(timeout=5)
        if process.is_alive():
            _kill(process)
        with _live_lock:
            _live.discard(process)
    where = f" while reading page {page}" if page else ""
    if outcome is None:
        if _stopping.is_set():
            return StageError(stage, page, "interrupted", "the run was interrupted")
        code = -(process.exitcode or 0)
        if code == signal.SIGKILL:
            reason = (
                f"the worker process was killed{where} ({_signal_name(code)}), most likely by the kernel for "
                f"using too much memory; the limit per worker is {_memory_text(limits)} (--max-memory)"
            )
        elif code > 0:
            reason = f"the worker process died{where}: {_signal_name(code)}"
        else:
            reason = f"the worker process exited{where} with code {process.exitcode} before answering"
        return StageError(stage, page, "crashed", reason)
    kind, payload = outcome
    if kind == "done":
        return payload
    if kind == "memory":
        return StageError(
            stage,
            page,
            "memory",
            f"ran out of memory{where}: over the limit of {_memory_text(limits)} per worker; "
            "raise it with --max-memory",
        )
    return StageError(stage, page, "internal", f"unexpected {payload}")


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    """Kill a child and everything it started (its process group: tesseract, pdf tools)."""
    pid = process.pid
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    process.join(timeout=5)


def stop_all() -> None:
    """Kill every running child (Ctrl-C, SIGTERM); stages not yet started return 'interrupted'."""
    _stopping.set()
    with _live_lock:
        live = list(_live)
    for process in live:
        _kill(process)


def reset() -> None:
    """Allow new children again after `stop_all` (tests, `serve` cycles)."""
    _stopping.clear()
