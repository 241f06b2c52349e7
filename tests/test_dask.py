"""Scale-out: the same flow on a real dask.distributed cluster gives byte-identical tables."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from resources.make_fixtures import png_page
from test_flow_e2e import run_de06

pytestmark = pytest.mark.slow
TABLES = ("documents", "references", "figures", "services", "tables", "findings")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-threaded workers, all on loopback, started as real processes."""
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-logs")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL,
            stderr=(logs / "scheduler.log").open("wb"),
        )
    ]
    for i in range(2):
        procs.append(
            subprocess.Popen(
                [dask, "worker", address, "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
                 "--nthreads", "1", "--name", f"w{i}"],
                stdout=subprocess.DEVNULL,
                stderr=(logs / f"worker{i}.log").open("wb"),
            )
        )
    try:
        from distributed import Client

        deadline = time.time() + 60
        with Client(address, timeout=30) as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.time() < deadline, (logs / "worker0.log").read_text()[-2000:]
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_cluster_output_equals_local_run(cluster: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus" / "samples", corpus)
    png_page(tmp_path / "scan.png")
    shutil.move(tmp_path / "scan.png", corpus / "scan.png")
    local = run_de06("run", str(corpus), "--out", str(tmp_path / "local"), "--quiet")
    remote = run_de06(
        "run", str(corpus), "--out", str(tmp_path / "dask"), "--quiet", "--runner", "dask", "--address", cluster
    )
    assert local.returncode == 0, local.stderr[-2000:]
    assert remote.returncode == 0, remote.stderr[-2000:]
    for table in TABLES:
        for suffix in (".csv", ".json"):
            a = (tmp_path / "local" / f"{table}{suffix}").read_bytes()
            b = (tmp_path / "dask" / f"{table}{suffix}").read_bytes()
            assert a == b, f"{table}{suffix} differs between the local and the Dask run"
