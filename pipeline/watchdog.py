"""Nothing outlives de06: a watchdog process that ends whatever a run started once the run is gone.

`arm()` tags the run's environment with a random token, which every process it starts inherits
(Prefect's temporary API server, the worker forkserver and its workers, tesseract), and starts this
file as a small separate process holding the read end of a pipe. When de06 ends in any way (a
normal exit, Ctrl-C, SIGTERM, `kill -9`, the kernel's OOM killer) the pipe closes; the watchdog
then finds every process whose environment carries the token, sends SIGTERM, and SIGKILL to what
is still there two seconds later. Linux only (it reads /proc); elsewhere it is not started.

Run as a script with only the standard library, so it starts in milliseconds.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

TOKEN_VARIABLE = "DE06_RUN_TOKEN"


def tagged_processes(token: str) -> list[int]:
    """Pids (other than this one) whose environment holds `DE06_RUN_TOKEN=<token>`."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def end_tagged(token: str, grace: float = 2.0) -> list[int]:
    """SIGTERM every tagged process, then SIGKILL those still alive after `grace` seconds."""
    pids = tagged_processes(token)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and tagged_processes(token):
        time.sleep(0.1)
    for pid in tagged_processes(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


_watchdog: subprocess.Popen[bytes] | None = None


def arm() -> str | None:
    """Tag this process's environment and start the watchdog; returns the token (None off Linux)."""
    global _watchdog
    if _watchdog is not None:
        return os.environ.get(TOKEN_VARIABLE)
    if not Path("/proc/self/environ").exists():
        return None
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE}
    _watchdog = subprocess.Popen(
        [sys.executable, "-I", "-S", str(Path(__file__).resolve()), token],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # Ctrl-C at the terminal must not reach it before de06 is gone
        close_fds=True,
    )
    # Set only after the watchdog started: it must not carry the token itself.
    os.environ[TOKEN_VARIABLE] = token
    return token


def _watch(token: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    end_tagged(token)


if __name__ == "__main__":
    _watch(sys.argv[1])
