"""Stage functions that misbehave on purpose, for the worker-process tests. They live in a module
(not a test file) because the worker forkserver imports them by name."""

from __future__ import annotations

import ctypes
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def crash_on_page_three(report: Callable[[int, int | None], None]) -> None:
    for page in (1, 2, 3):
        report(page, 5)
    ctypes.string_at(0)  # a native crash: SIGSEGV


def allocate(megabytes: int, report: Callable[[int, int | None], None]) -> int:
    hoard = [bytearray(2**20) for _ in range(megabytes)]
    return len(hoard)


def sleep_with_child(pid_file: str, report: Callable[[int, int | None], None]) -> None:
    child = subprocess.Popen(["sleep", "600"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(600)


def answer(value: int, report: Callable[[int, int | None], None]) -> int:
    report(1, 1)
    return value * 2


def raise_error(report: Callable[[int, int | None], None]) -> None:
    raise RuntimeError("a bug in a stage")


def process_group(report: Callable[[int, int | None], None]) -> int:
    import os

    return os.getpgrp()
