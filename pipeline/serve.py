"""`de06 serve`: watch an incoming folder and keep the outputs current.

Prefect's `flow.serve()` schedules need a real Prefect server (shared/notes/prefect.md §4), so the
service runs the same flow on an interval in-process instead: each cycle lists the folder, waits
until a file's size and modification time have stayed the same for one whole interval (a file
still being copied is left for the next cycle), and re-runs the corpus when the set of settled files
changed. The result cache makes unchanged files nearly free, so outputs always cover every file.
SIGINT/SIGTERM stop the service after the cycle in progress.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from pipeline.config import RunOptions
from pipeline.ingest import expand_inputs

PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".tmp", ".download")

Snapshot = dict[str, tuple[int, int]]


def snapshot(folder: Path) -> Snapshot:
    """Size and mtime of every candidate file below `folder` (partial downloads skipped)."""
    files, _, _ = expand_inputs([str(folder)])
    out: Snapshot = {}
    for f in files:
        if f.name.endswith(PARTIAL_SUFFIXES):
            continue
        try:
            st = f.stat()
        except OSError:
            continue  # vanished between listing and stat
        out[str(f)] = (st.st_size, st.st_mtime_ns)
    return out


def settled(previous: Snapshot, current: Snapshot) -> Snapshot:
    """Files unchanged since the previous look: safe to read."""
    return {p: sig for p, sig in current.items() if previous.get(p) == sig}


def serve(
    watch_dir: Path,
    options: RunOptions,
    interval: float,
    run: Callable[[list[str]], Any],
    stop: threading.Event | None = None,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> int:
    """Poll `watch_dir` every `interval` seconds and call `run(paths)` when settled files change."""
    stop = stop or threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log(f"de06 serve: {signal.Signals(signum).name} received, stopping after this cycle")
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
    log(f"de06 serve: watching {watch_dir} every {interval:g} s, outputs in {options.out_dir}")
    previous: Snapshot = {}
    processed: Snapshot | None = None
    while not stop.is_set():
        current = snapshot(watch_dir) if watch_dir.is_dir() else {}
        ready = settled(previous, current)
        if ready and ready != processed:
            log(f"de06 serve: {len(ready)} settled file(s), refreshing outputs")
            try:
                run(sorted(ready))
                processed = ready
            except Exception as e:  # noqa: BLE001 - the service outlives one bad cycle
                log(f"de06 serve: cycle failed ({type(e).__name__}: {e}); retrying next cycle")
        previous = current
        stop.wait(interval)
    log("de06 serve: stopped")
    return 0
