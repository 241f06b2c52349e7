"""The local Prefect server de06 runs share: started on first use, found again by later runs,
stopped after an idle period.

With no API configured, Prefect starts a temporary server in every process that runs a flow: about
8 s of every run on a warm machine, 15 s on a fresh one (shared/notes/prefect.md §1a). Instead the
first run that needs Prefect starts `python -m pipeline.prefect_server serve` in a session of its own,
so it outlives that run: Prefect's API and UI on 127.0.0.1 and a free port, its SQLite database in
`$PREFECT_HOME` as usual. Its address is written to `$PREFECT_HOME/de06-server/state.json`; later
runs read it there and start in about a second. Each run holds a lease (a file named by its pid)
while it uses the server; the server stops itself once no live process has held a lease for
`DE06_SERVER_IDLE` seconds (default 900), and at once with `de06 server stop`.

A `PREFECT_API_URL` that the user set (in the environment or the active Prefect profile) wins:
then none of this runs. `DE06_SHARED_SERVER=0` keeps Prefect's temporary server per run.

This module imports neither Prefect nor anything large unless it is the server process itself.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

IDLE_SECONDS = 900.0
START_TIMEOUT = 120.0
"""A fresh `PREFECT_HOME` runs ~115 database migrations first: 15-22 s measured, more on a busy machine."""

# Settings of the server process, unless the user set them: quiet, offline, and no services for
# deployments or work pools (de06 runs flows in-process; they would only wake up and poll).
SERVER_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}
# What a run's environment must not hand on to a process meant to outlive it.
NOT_INHERITED = ("DE06_RUN_TOKEN", "PREFECT_API_URL")


class ServerError(RuntimeError):
    """The shared server could not be started or reached."""


@dataclass(frozen=True, slots=True)
class ServerState:
    pid: int
    port: int
    started: float
    prefect_home: str

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()


def state_dir() -> Path:
    return prefect_home() / "de06-server"


def enabled() -> bool:
    return os.environ.get("DE06_SHARED_SERVER", "1").strip().lower() not in ("0", "false", "no", "off")


def idle_seconds() -> float:
    try:
        return max(5.0, float(os.environ.get("DE06_SERVER_IDLE", IDLE_SECONDS)))
    except ValueError:
        return IDLE_SECONDS


# --------------------------------------------------------------------------------------------
# state on disk


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Starting, finding and stopping the server happen one process at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process under a recycled pid
        return False
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    return True


def read_state(folder: Path | None = None) -> ServerState | None:
    path = (folder or state_dir()) / "state.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerState(int(data["pid"]), int(data["port"]), float(data["started"]), str(data["prefect_home"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(folder: Path, state: ServerState) -> None:
    tmp = folder / "state.json.tmp"
    tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
    tmp.replace(folder / "state.json")


def _remove_state(folder: Path, pid: int) -> None:
    state = read_state(folder)
    if state is not None and state.pid == pid:
        with contextlib.suppress(OSError):
            (folder / "state.json").unlink()


def live_leases(folder: Path | None = None) -> list[int]:
    """Pids of the runs using the server now; leases of processes that died (kill -9) are removed."""
    leases = (folder or state_dir()) / "leases"
    pids = []
    with contextlib.suppress(OSError):
        for entry in leases.iterdir():
            if entry.name.isdigit() and _alive(int(entry.name)):
                pids.append(int(entry.name))
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()
    return pids


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# the client side: what a run does


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(folder: Path) -> ServerState:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    for key, value in SERVER_DEFAULTS.items():
        env.setdefault(key, value)
    env["PREFECT_SERVER_API_HOST"] = "127.0.0.1"
    env["PREFECT_SERVER_API_PORT"] = str(port)
    env["PREFECT_HOME"] = str(prefect_home())
    with (folder / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.prefect_server", "serve", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            cwd=str(folder),
            start_new_session=True,  # not in the run's process group: Ctrl-C and the run's end spare it
            close_fds=True,
        )
    state = ServerState(process.pid, port, time.time(), str(prefect_home()))
    _write_state(folder, state)
    return state


@dataclass(slots=True)
class Lease:
    """A run's hold on the shared server; `api_url` answers once `wait()` returned."""

    state: ServerState
    started_now: bool
    folder: Path

    @property
    def api_url(self) -> str:
        return self.state.api_url

    def wait(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while not healthy(self.api_url, timeout=1.0):
            if not _alive(self.state.pid):
                raise ServerError(f"the local Prefect server stopped while starting; see {self.folder / 'server.log'}")
            if time.monotonic() > deadline:
                raise ServerError(f"the local Prefect server did not answer within {timeout:.0f} s; see {self.folder / 'server.log'}")
            time.sleep(delay)
            delay = min(0.25, delay * 1.5)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            (self.folder / "leases" / str(os.getpid())).unlink()
        with contextlib.suppress(OSError):
            (self.folder / "last-used").touch()


def acquire() -> Lease:
    """Hold the running server, or start one (without waiting for it: call `Lease.wait()`)."""
    folder = state_dir()
    with _locked(folder):
        state = read_state(folder)
        started_now = False
        if state is None or not _alive(state.pid):
            state = _spawn(folder)
            started_now = True
        leases = folder / "leases"
        leases.mkdir(exist_ok=True)
        (leases / str(os.getpid())).touch()
    return Lease(state, started_now, folder)


def _profile_may_set_api_url() -> bool:
    """Whether a Prefect profile may name an API (decided for sure once Prefect is imported)."""
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home() / "profiles.toml").expanduser()
    try:
        return b"PREFECT_API_URL" in path.read_bytes()
    except OSError:
        return False


def acquire_early() -> Lease | None:
    """`acquire()` as soon as a run knows it has work, so that the server starts while the run
    imports Prefect and copies its inputs; None when the run will use another API."""
    if not enabled() or os.environ.get("PREFECT_API_URL") or _profile_may_set_api_url():
        return None
    return acquire()


def stop(timeout: float = 15.0) -> ServerState | None:
    """Stop the shared server (runs using it fail their remaining documents); None if none ran."""
    folder = state_dir()
    with _locked(folder):
        state = read_state(folder)
        if state is None:
            return None
        with contextlib.suppress(OSError):
            (folder / "state.json").unlink()
    if _alive(state.pid):
        with contextlib.suppress(OSError):
            os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(state.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(state.pid):
            with contextlib.suppress(OSError):
                os.killpg(state.pid, signal.SIGKILL)
    return state


def status() -> dict[str, object]:
    """What `de06 server status` shows."""
    folder = state_dir()
    state = read_state(folder)
    if state is None or not _alive(state.pid):
        return {"running": False, "state_dir": str(folder), "idle_stop_seconds": idle_seconds()}
    last_used = folder / "last-used"
    return {
        "running": True,
        "healthy": healthy(state.api_url),
        "pid": state.pid,
        "api_url": state.api_url,
        "ui_url": state.ui_url,
        "prefect_home": state.prefect_home,
        "started": state.started,
        "runs_using_it": live_leases(folder),
        "last_used": last_used.stat().st_mtime if last_used.exists() else None,
        "idle_stop_seconds": idle_seconds(),
        "log": str(folder / "server.log"),
    }


# --------------------------------------------------------------------------------------------
# the server process


def _watch_idle(server: object, folder: Path, idle: float) -> None:
    """Stop the server once no live run has held a lease for `idle` seconds."""
    last_busy = time.monotonic()
    while not getattr(server, "should_exit", False):
        time.sleep(min(5.0, idle / 4))
        if live_leases(folder):
            last_busy = time.monotonic()
            continue
        if time.monotonic() - last_busy < idle:
            continue
        with _locked(folder):  # a run taking a lease right now either sees the state or a stopped server
            if live_leases(folder):
                last_busy = time.monotonic()
                continue
            _remove_state(folder, os.getpid())
        server.should_exit = True  # type: ignore[attr-defined]
        return


def serve(port: int) -> None:
    """Prefect's API and UI on 127.0.0.1:`port` until idle or told to stop (SIGTERM/SIGINT)."""
    import uvicorn
    from prefect.server.api.server import create_app

    folder = Path.cwd()
    # Die with nothing: this process belongs to no run. Ignore the terminal's hang-up.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    config = uvicorn.Config(
        create_app(final=True),
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="on",
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    threading.Thread(target=_watch_idle, args=(server, folder, idle_seconds()), daemon=True).start()
    try:
        server.run()
    finally:
        with _locked(folder):
            _remove_state(folder, os.getpid())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.prefect_server")
    sub = parser.add_subparsers(dest="command", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--port", type=int, required=True)
    sub.add_parser("stop")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port)
    else:
        stop()


if __name__ == "__main__":
    main()
