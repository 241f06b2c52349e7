"""The local Prefect server runs share: found again, never a surprise, stopped when unused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import prefect_server

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = sorted((ROOT / "corpus" / "samples").glob("*.txt"))[0]


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "prefect-home"
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("DE06_SHARED_SERVER", raising=False)
    return home


def test_a_user_api_or_the_switch_means_no_shared_server(own_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert prefect_server.acquire_early() is None
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setenv("DE06_SHARED_SERVER", "0")
    assert prefect_server.acquire_early() is None
    monkeypatch.delenv("DE06_SHARED_SERVER")
    own_home.mkdir()
    (own_home / "profiles.toml").write_text(
        'active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "http://10.0.0.5:4200/api"\n', encoding="utf-8"
    )
    assert prefect_server.acquire_early() is None  # decided for sure once Prefect is imported
    assert not (own_home / "de06-server" / "state.json").exists()


def test_leases_of_dead_runs_do_not_keep_the_server(own_home: Path) -> None:
    leases = prefect_server.state_dir() / "leases"
    leases.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (leases / str(gone.pid)).touch()  # a run killed with -9 never removes its lease
    (leases / str(os.getpid())).touch()
    (leases / "junk").touch()
    assert prefect_server.live_leases() == [os.getpid()]
    assert sorted(p.name for p in leases.iterdir()) == [str(os.getpid())]


def test_status_and_stop_when_nothing_runs(own_home: Path) -> None:
    assert prefect_server.status()["running"] is False
    assert prefect_server.stop() is None
    prefect_server.state_dir().mkdir(parents=True, exist_ok=True)
    (prefect_server.state_dir() / "state.json").write_text('{"pid": 999999999, "port": 1}', encoding="utf-8")
    assert prefect_server.status()["running"] is False  # damaged or stale state is no server


def _de06(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not prefect_server._alive(pid):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_the_first_run_starts_it_later_runs_reuse_it_and_it_stops_when_unused(tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "DE06_SHARED_SERVER")}
    env.update(PREFECT_HOME=str(home), DE06_SERVER_IDLE="6")
    state_file = home / "de06-server" / "state.json"
    try:
        first = _de06("run", str(SAMPLE), "--out", str(tmp_path / "a"), "--quiet", env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        assert "starting the local Prefect server (UI http://127.0.0.1:" in first.stderr  # never a surprise
        pid = json.loads(state_file.read_text())["pid"]

        status = json.loads(_de06("server", "status", "--json", env=env).stdout)
        assert status["running"] and status["healthy"] and status["pid"] == pid
        assert status["api_url"].startswith("http://127.0.0.1:") and status["runs_using_it"] == []

        second = _de06("run", str(SAMPLE), "--out", str(tmp_path / "b"), "--quiet", env=env)
        assert second.returncode == 0, second.stderr[-2000:]
        assert "starting the local Prefect server" not in second.stderr
        assert json.loads(state_file.read_text())["pid"] == pid

        assert _gone(pid, 60), "the server did not stop after 6 s unused"
        assert not state_file.exists()

        third = _de06("run", str(SAMPLE), "--out", str(tmp_path / "c"), "--quiet", "--force", env=env)
        assert third.returncode == 0 and "starting the local Prefect server" in third.stderr
        pid = json.loads(state_file.read_text())["pid"]
        stopped = _de06("server", "stop", env=env)
        assert f"stopped the local Prefect server (pid {pid})" in stopped.stdout
        assert _gone(pid, 20) and not state_file.exists()
        assert "no local Prefect server running" in _de06("server", "status", env=env).stdout
    finally:
        _de06("server", "stop", env=env)
