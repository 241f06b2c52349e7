"""Worker processes: whatever a stage does, it comes back as a value naming what happened."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.isolation import StageLimits, run_isolated
from pipeline.types import StageError
from tests.helpers import misbehaving

LIMITS = StageLimits(memory=512 * 2**20, seconds_per_page=30, minimum_seconds=30)


def test_a_result_comes_back() -> None:
    assert run_isolated("plan", misbehaving.answer, (21,), LIMITS) == 42


def test_a_native_crash_names_the_signal_and_the_page() -> None:
    error = run_isolated("plan", misbehaving.crash_on_page_three, (), LIMITS)
    assert isinstance(error, StageError)
    assert error.category == "crashed" and error.page == 3
    assert "while reading page 3" in error.message and "signal 11 (SIGSEGV)" in error.message


def test_memory_over_the_limit_is_a_memory_error_naming_the_option() -> None:
    error = run_isolated("finish", misbehaving.allocate, (2048,), LIMITS)
    assert isinstance(error, StageError) and error.category == "memory"
    assert "--max-memory" in error.message and "0.5 GiB" in error.message
    assert run_isolated("finish", misbehaving.allocate, (64,), LIMITS) == 64  # under it: fine


def test_a_stage_over_time_is_stopped_with_everything_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    quick = StageLimits(memory=0, seconds_per_page=1, minimum_seconds=2)
    started = time.monotonic()
    error = run_isolated("ocr", misbehaving.sleep_with_child, (str(pid_file),), quick, first_page=4)
    assert time.monotonic() - started < 15
    assert isinstance(error, StageError) and error.category == "timeout" and error.page == 4
    assert "--timeout" in error.message and "page 4" in error.message
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # the whole process group went: no orphaned tool keeps running
        if not Path(f"/proc/{grandchild}").exists() or "Z" in _state(grandchild):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the stage's child process {grandchild} outlived the timeout")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "gone"


def test_an_exception_escaping_a_stage_is_reported_not_raised() -> None:
    error = run_isolated("plan", misbehaving.raise_error, (), LIMITS)
    assert isinstance(error, StageError) and "a bug in a stage" in error.message


def test_children_do_not_inherit_the_parents_process_group() -> None:
    # Ctrl-C at a terminal goes to de06's process group only; de06 then stops its workers itself.
    assert run_isolated("plan", misbehaving.process_group, (), LIMITS) != os.getpgrp()
