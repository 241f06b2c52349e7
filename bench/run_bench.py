"""de06 benchmark (issue 3): de06 end to end vs the bare engines, scaling, workers, Prefect overhead.

    .venv/bin/python bench/run_bench.py            # full mode (~10-25 min on 2 cores)
    .venv/bin/python bench/run_bench.py --quick    # a small subset (a few minutes)

Inputs are generated deterministically into bench/out/ (git-ignored) from corpus/samples with the
test fixture generators. Every de06 run is a subprocess (`de06 run … --quiet --force`), timed on the
wall clock, with the peak RSS of its whole process tree (Prefect's temporary API server included)
polled with psutil. Results are printed and written to bench/RESULTS.md. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
sys.path.insert(0, str(ROOT))  # the fixture generators live in tests/resources (no package install)

# Targets from issues 3, 11 and 13.
TARGET_STARTUP_S = 3.0
TARGET_STARTUP_RATIO = 4.0  # a small run ÷ the bare `import pandas, pyarrow` in the same run
TARGET_FEEDBACK_S = 1.0
LISTEN_WINDOW_S = 30.0
TARGET_SCAN_OVERHEAD = 0.10
TARGET_WORKER_SPEEDUP = 1.8
TARGET_PDF_PAGES_PER_CORE_S = 30.0
TARGET_TEXT_MB_PER_CORE_S = 1.0
MB = 1_000_000
WHERE = "Where the time goes (per page, one core)"
RECORDS = "Records extracted (sanity check of the runs above)"
TESS_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # measured 2.5-3.5x faster on 2 cores


@dataclass
class Mode:
    """What one bench run covers; --quick shrinks every dimension."""

    name: str
    scan_pages_per_doc: int
    scan_docs: int
    text_copies: tuple[int, ...]
    pdf_copies: tuple[int, ...]
    tiny_docs: int
    startup_repeats: int


FULL = Mode(
    "full",
    scan_pages_per_doc=2,
    scan_docs=3,
    text_copies=(1, 10, 100),
    pdf_copies=(1, 10),
    tiny_docs=50,
    startup_repeats=3,
)
QUICK = Mode(
    "quick",
    scan_pages_per_doc=2,
    scan_docs=1,
    text_copies=(1, 10),
    pdf_copies=(1,),
    tiny_docs=10,
    startup_repeats=1,
)


# ---------------------------------------------------------------------------------------------
# Measuring a subprocess tree


@dataclass
class Run:
    """One measured subprocess: wall time, peak RSS of its tree and of its root, CPU of the tree."""

    label: str
    wall: float
    peak_tree_mb: float | None
    peak_root_mb: float | None
    cpu: float
    rc: int
    log: Path
    manifest: dict[str, Any] | None = None
    t_listen: float | None = None
    """Seconds from start until a descendant (Prefect's temporary API server) listened on a port."""
    t_manifest: float | None = None
    """Seconds from start until de06 wrote manifest.json (its last output)."""

    def work(self) -> float | None:
        """Server ready → outputs written: the flow, its end-of-run flush and the tables."""
        if self.t_listen is None or self.t_manifest is None:
            return None
        return self.t_manifest - self.t_listen

    def counts(self) -> dict[str, Any]:
        return (self.manifest or {}).get("counts", {})

    def status_note(self) -> str:
        c = self.counts()
        if not c:
            return f"rc={self.rc}, no manifest"
        bad = {k: c.get(k, 0) for k in ("partial", "failed") if c.get(k, 0)}
        return f"{c.get('ok', 0)} ok" + "".join(f", {v} {k}" for k, v in bad.items())


def _tree_rss(root: Any) -> tuple[int, int]:
    import psutil

    total = root_rss = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.Error:  # a tesseract that just exited
            continue
        total += rss
        if p.pid == root.pid:
            root_rss = rss
    return total, root_rss


def _listening(root: Any) -> bool:
    import psutil

    for child in root.children(recursive=True):
        try:
            if any(c.status == psutil.CONN_LISTEN for c in child.net_connections(kind="inet")):
                return True
        except psutil.Error:
            continue
    return False


def measure(label: str, cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = 3600) -> Run:
    """Run `cmd`, polling the RSS of its whole process tree every 50 ms; output goes to a log file.

    Also notes when a descendant first listens on a port: for `de06 run` that is Prefect's temporary
    API server being ready, which splits the run's wall time into start-up and work without
    depending on how long the start-up took this time (it varies by seconds on a busy machine)."""
    log = OUT / "logs" / f"{label}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_tree = peak_root = 0
    have_psutil = True
    with log.open("w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        started, started_epoch = time.perf_counter(), time.time()
        t_listen = None
        last_look = -1.0
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        try:
            import psutil

            root = psutil.Process(proc.pid)
        except Exception:  # noqa: BLE001 - no psutil (or the process already gone): getrusage's max RSS
            have_psutil = False
        while proc.poll() is None:
            if have_psutil:
                tree, own = _tree_rss(root)
                peak_tree, peak_root = max(peak_tree, tree), max(peak_root, own)
                # Looking for a listening socket walks every child's connections: costly on a busy
                # machine, so only in the first seconds, once a second (the shared Prefect server is
                # usually up already, and then nothing of the run listens at all).
                elapsed = time.perf_counter() - started
                if t_listen is None and elapsed < LISTEN_WINDOW_S and elapsed - last_look >= 1.0:
                    last_look = elapsed
                    if _listening(root):
                        t_listen = elapsed
            if time.perf_counter() - started > timeout:
                proc.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not have_psutil:  # ru_maxrss (KiB) is the largest single descendant so far, not the tree sum
        peak_root = after.ru_maxrss * 1024
    return Run(
        label,
        wall,
        peak_tree / MB if have_psutil else None,
        peak_root / MB or None,
        cpu,
        proc.returncode,
        log,
        t_listen=t_listen,
        t_manifest=started_epoch,  # made relative by de06_run from the manifest's mtime
    )


def de06_command() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "de06"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "pipeline.cli"]


def de06_run(label: str, inputs: Sequence[Path], workers: int) -> Run:
    """`de06 run INPUTS --out bench/out/runs/LABEL --quiet --force --workers N`, measured."""
    out = OUT / "runs" / label
    if out.exists():
        shutil.rmtree(out)
    cmd = [
        *de06_command(),
        "run",
        *map(str, inputs),
        "--out",
        str(out),
        "--quiet",
        "--force",
        "--workers",
        str(workers),
    ]
    run = measure(label, cmd)
    manifest = out / "manifest.json"
    if manifest.exists():
        run.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        run.t_manifest = manifest.stat().st_mtime - (run.t_manifest or 0.0)
    else:
        run.t_manifest = None
    if run.rc not in (0, 1) or run.manifest is None:
        tail = run.log.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"de06 run exited {run.rc}: {' | '.join(tail)[:300]} (log: {rel(run.log)})")
    return run


def loop_run(label: str, inputs: Sequence[Path]) -> dict[str, Any]:
    """`process_document` over `inputs` in a plain loop (no Prefect) in a fresh interpreter."""
    result_file = OUT / "logs" / f"{label}.json"
    cmd = [sys.executable, str(Path(__file__)), "--_loop", str(result_file), *map(str, inputs)]
    run = measure(label, cmd, env=TESS_ENV)
    if run.rc != 0 or not result_file.exists():
        tail = run.log.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"process_document loop exited {run.rc}: {' | '.join(tail)[:300]}")
    data: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    data["peak_tree_mb"] = run.peak_tree_mb
    data["process_wall"] = run.wall
    return data


def _loop_main(result_file: str, inputs: list[str]) -> int:
    """The `--_loop` child: import once, then time process_document per input."""
    t0 = time.perf_counter()
    from pipeline.config import RunOptions
    from pipeline.document import process_document

    options = RunOptions(workers=1, force=True, use_cache=False)
    imported = time.perf_counter() - t0
    per_doc = []
    statuses: dict[str, int] = {}
    cpu = cpu_now()
    for path in inputs:
        started = time.perf_counter()
        result = process_document(path, options)
        per_doc.append(time.perf_counter() - started)
        statuses[result.info.status] = statuses.get(result.info.status, 0) + 1
    Path(result_file).write_text(
        json.dumps(
            {
                "import_s": imported,
                "total_s": sum(per_doc),
                "cpu_s": cpu_now() - cpu,
                "per_doc_s": per_doc,
                "statuses": statuses,
            }
        ),
        encoding="utf-8",
    )
    return 0


# ---------------------------------------------------------------------------------------------
# Inputs (deterministic; generated once into bench/out/inputs and reused)


@dataclass
class Corpus:
    files: list[Path]
    pages: int
    bytes: int  # bytes of text (for text inputs: the files; for PDFs: the source text)


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def samples() -> list[Path]:
    from tests.resources.make_fixtures import SAMPLES_DIR

    return sorted(SAMPLES_DIR.glob("*.txt"))


def changed(text: str, copy: int) -> str:
    """Copy `copy` of a report: one extra closing line, so every copy has different bytes (and sha256)."""
    # The copy number is spelled in letters (00 → "aa", 12 → "bc"): a digit could become a figure.
    tag = "".join(chr(ord("a") + int(d)) for d in f"{copy:02d}")
    return text if copy == 0 else text.rstrip("\n") + f"\nBản sao {tag} để đo hiệu năng.\n"


def pdf_pages(path: Path) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return len(doc)
    finally:
        doc.close()


def text_corpus(copies: int) -> Corpus:
    folder = OUT / "inputs" / f"text-x{copies}"
    files = []
    for copy in range(copies):
        for src in samples():
            dst = folder / f"{src.stem}-c{copy:02d}.txt"
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_text(changed(src.read_text(encoding="utf-8"), copy), encoding="utf-8")
            files.append(dst)
    return Corpus(files, len(files), sum(f.stat().st_size for f in files))


def pdf_corpus(copies: int) -> Corpus:
    """Text-layer A4 PDFs of the samples (fpdf2 + a Vietnamese TTF, via the test fixtures)."""
    from tests.resources.make_fixtures import text_pdf

    folder = OUT / "inputs" / f"pdf-x{copies}"
    files, pages, size = [], 0, 0
    for copy in range(copies):
        for src in samples():
            text = changed(src.read_text(encoding="utf-8"), copy)
            dst = folder / f"{src.stem}-c{copy:02d}.pdf"
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                text_pdf(dst, text)
            files.append(dst)
            pages += pdf_pages(dst)
            size += len(text.encode("utf-8"))
    return Corpus(files, pages, size)


def image_pdf(pngs: Sequence[Path], path: Path, dpi: int = 300) -> Path:
    """An image-only PDF, one page per PNG (the multi-page form of make_fixtures.scanned_pdf)."""
    from fpdf import FPDF
    from PIL import Image

    from tests.resources import make_fixtures

    pdf = FPDF(unit="pt")
    pdf.set_creation_date(make_fixtures._FIXED_DATE)  # same bytes on every run
    for png in pngs:
        with Image.open(png) as image:
            w, h = image.width * 72 / dpi, image.height * 72 / dpi
        pdf.add_page(format=(w, h))
        pdf.image(str(png), x=0, y=0, w=w, h=h)
    pdf.output(str(path))
    return path


def scan_corpus(mode: Mode, source: Corpus) -> tuple[Corpus, list[Path]]:
    """300-dpi scans of the first pages of the first samples' text PDFs: image-only PDFs + the PNGs."""
    from tests.resources.make_fixtures import render_png

    folder = OUT / "inputs" / "scans"
    folder.mkdir(parents=True, exist_ok=True)
    docs, pngs = [], []
    for pdf in source.files[: mode.scan_docs]:
        doc_pngs = []
        for page in range(1, mode.scan_pages_per_doc + 1):
            png = folder / f"{pdf.stem}-p{page}.png"
            if not png.exists():
                render_png(pdf, png, page, dpi=300)
            doc_pngs.append(png)
        dst = folder / f"{pdf.stem}-scan-{len(doc_pngs)}p.pdf"
        if not dst.exists():
            image_pdf(doc_pngs, dst)
        docs.append(dst)
        pngs.extend(doc_pngs)
    return Corpus(docs, len(pngs), 0), pngs


def first_line_seconds(cmd: Sequence[str], needle: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds until `needle` shows on stderr, and until the process ended."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    seen = None
    assert proc.stderr is not None
    for line in proc.stderr:
        if seen is None and needle in line:
            seen = time.perf_counter() - started
    proc.wait()
    return (seen if seen is not None else float("nan")), time.perf_counter() - started


def timed_command(cmd: Sequence[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, check=False)
    return time.perf_counter() - started


def tiny_corpus(count: int) -> Corpus:
    from tests.resources.make_fixtures import SHORT_PAGE

    folder = OUT / "inputs" / f"tiny-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        dst = folder / f"tiny-{i:03d}.txt"
        if not dst.exists():
            dst.write_text(changed(SHORT_PAGE, i + 1), encoding="utf-8")
        files.append(dst)
    return Corpus(files, count, sum(f.stat().st_size for f in files))


# ---------------------------------------------------------------------------------------------
# Floors: the bare engines on the same inputs


def floor_pdftotext(corpus: Corpus) -> float:
    """`pdftotext -layout DOC -` once per document (process start-up included, as de06 pays its own)."""
    started = time.perf_counter()
    for f in corpus.files:
        subprocess.run(["pdftotext", "-layout", str(f), "-"], check=True, capture_output=True)
    return time.perf_counter() - started


def floor_pdfplumber(corpus: Corpus) -> float:
    import pdfplumber

    started = time.perf_counter()
    for f in corpus.files:
        with pdfplumber.open(f) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.close()  # frees the page's cached objects
    return time.perf_counter() - started


def floor_pdfium(corpus: Corpus) -> float:
    """pypdfium2 page text only: the text engine de06 itself reads PDFs with."""
    import pypdfium2 as pdfium

    started = time.perf_counter()
    for f in corpus.files:
        doc = pdfium.PdfDocument(str(f))
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        doc.close()
    return time.perf_counter() - started


def cpu_now() -> float:
    """CPU seconds (user+sys) of this process plus every child it has reaped."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[..., object], *args: Any) -> tuple[float, float]:
    """(wall s, CPU s) of fn(*args); CPU is less disturbed than wall time on a shared machine."""
    wall, cpu = time.perf_counter(), cpu_now()
    fn(*args)
    return time.perf_counter() - wall, cpu_now() - cpu


def tesseract_page(png: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["tesseract", str(png), "stdout", "-l", "vie", "--psm", "3"],
        check=True,
        capture_output=True,
        env=TESS_ENV,
        timeout=600,
    )
    return time.perf_counter() - started


def floor_tesseract(pngs: Sequence[Path], workers: int) -> float:
    """Bare `tesseract PNG stdout -l vie --psm 3` (OMP_THREAD_LIMIT=1) over the pages, `workers` at a time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(tesseract_page, pngs))
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class Report:
    mode: Mode
    sections: dict[str, list[list[str]]] = field(default_factory=dict)
    headers: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    loads: list[tuple[str, float]] = field(default_factory=list)

    def table(self, name: str, header: list[str]) -> None:
        self.headers[name] = header
        self.sections.setdefault(name, [])

    def row(self, name: str, *cells: object) -> None:
        self.sections[name].append([fmt(c) for c in cells])
        print(f"  [{name}] " + " | ".join(self.sections[name][-1]), flush=True)

    def markdown(self) -> str:
        out = []
        for name, rows in self.sections.items():
            out.append(f"### {name}\n")
            header = self.headers[name]
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
            out.extend("| " + " | ".join(r + [""] * (len(header) - len(r))) + " |" for r in rows)
            out.append("")
        return "\n".join(out)


def fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def stage(report: Report, name: str, fn: Callable[[], None]) -> None:
    """Run one bench stage; a failure becomes an n/a note instead of losing the other stages."""
    print(f"== {name}", flush=True)
    report.loads.append((name, os.getloadavg()[0]))
    started = time.perf_counter()
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report and go on
        reason = f"{type(e).__name__}: {e}"
        report.problems.append(f"**{name}**: n/a — {reason}")
        print(f"  n/a: {reason}", flush=True)
        traceback.print_exc()
    print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)


def machine() -> dict[str, str]:
    info = {"cores": str(len(os.sched_getaffinity(0))), "cpu": "?", "memory": "?", "os": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        pretty = [
            ln for ln in Path("/etc/os-release").read_text().splitlines() if ln.startswith("PRETTY_NAME")
        ]
        if pretty:
            info["os"] = pretty[0].split("=", 1)[1].strip('"')
    except OSError:
        pass
    info["python"] = platform.python_version()
    for tool, args in (("tesseract", ["--version"]), ("pdftotext", ["-v"])):
        try:
            out = subprocess.run([tool, *args], capture_output=True, text=True, timeout=30)
            info[tool] = (out.stdout + out.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.SubprocessError):
            info[tool] = "not installed"
    try:  # read-only: which code was measured (other work may be uncommitted in the tree)
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT)
        changed = len([ln for ln in dirty.stdout.splitlines() if ln.strip()])
        info["code"] = f"git {head.stdout.strip() or '?'}" + (
            f" + {changed} uncommitted paths" if changed else ""
        )
    except OSError:
        info["code"] = "not a git checkout"
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("de06", "prefect", "pdfplumber", "pypdfium2", "psutil"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = "not installed"
    return info


# ---------------------------------------------------------------------------------------------
# The stages


class Bench:
    def __init__(self, mode: Mode, report: Report) -> None:
        self.mode = mode
        self.report = report
        self.startup_wall: float | None = None  # median wall of `de06 run` over one tiny text file
        self.startup_cpu: float = 0.0
        self.startup_mb: float | None = None
        self.fixed_work: float | None = None  # work span of a run over one tiny text file
        self.runs: dict[str, Run] = {}
        self.pdf1: Corpus | None = None
        self.scans: tuple[Corpus, list[Path]] | None = None
        self.tess_floor: dict[int, float] = {}

    def net(self, run: Run) -> float:
        """Per-document cost of a run: its work span minus that of the 1-tiny-file run.

        Falls back to wall minus the start-up wall when the server's start was not seen."""
        work = run.work()
        if work is not None and self.fixed_work is not None:
            return work - self.fixed_work
        return run.wall - (self.startup_wall or 0.0)

    def net_cpu(self, run: Run) -> float:
        return max(run.cpu - self.startup_cpu, 1e-9)

    # -- start-up
    def startup(self) -> None:
        r = self.report
        name = "Fixed start-up"
        r.table(
            name,
            [
                "run",
                "wall s",
                "until Prefect server listens s",
                "flow + tables s",
                "exit s",
                "CPU s",
                "peak RSS tree MB",
                "peak RSS de06 process MB",
                "target",
                "verdict",
            ],
        )
        one = tiny_corpus(1).files
        warm = de06_run("startup-warmup", one, 1)  # makes sure the Prefect home exists and is migrated
        runs = [de06_run(f"startup-{i}", one, 1) for i in range(self.mode.startup_repeats)]
        for run in [warm, *runs]:
            work = run.work()
            r.row(
                name,
                "warm-up (first run of this bench; not counted)"
                if run is warm
                else f"`de06 run` of 1 tiny text file ({run.label})",
                run.wall,
                run.t_listen,
                work,
                run.wall - run.t_manifest if run.t_manifest is not None else None,
                run.cpu,
                run.peak_tree_mb,
                run.peak_root_mb,
                "",
                "",
            )
        self.startup_wall = statistics.median(x.wall for x in runs)
        self.startup_cpu = statistics.median(x.cpu for x in runs)
        self.startup_mb = max((x.peak_tree_mb or 0) for x in runs) or None
        works = [w for w in (x.work() for x in runs) if w is not None]
        self.fixed_work = statistics.median(works) if works else None
        listens = [x.t_listen for x in runs if x.t_listen is not None]
        r.row(
            name,
            f"**median of {len(runs)}**",
            self.startup_wall,
            statistics.median(listens) if listens else None,
            self.fixed_work,
            None,
            self.startup_cpu,
            self.startup_mb,
            None,
            f"≤ {TARGET_STARTUP_S:.0f} s",
            verdict(self.startup_wall <= TARGET_STARTUP_S),
        )
        flow = [x.manifest["timings"]["flow_seconds"] for x in runs if x.manifest]
        total = [x.manifest["timings"]["total_seconds"] for x in runs if x.manifest]
        if flow and total:
            r.notes.append(
                f"Start-up (medians): `run_corpus` measured {statistics.median(total):.2f} s of which "
                f"{statistics.median(flow):.2f} s inside the flow call (importing Prefect, the flow run on the shared "
                "local server, 1 tiny document); the rest of the wall time is the interpreter and imports before "
                "`run_corpus`, and the exit."
            )
        if len(works) > 1:
            r.notes.append(
                f"Noise: the fixed span varied {min(works):.2f}–{max(works):.2f} s across the start-up runs, so a "
                f"*net* below about {max(works) - min(works):.1f} s (the short text runs, N tiny files) is "
                "within run-to-run noise; the PDF, scan and scaling rows are well above it."
            )
        if self.fixed_work is None:
            r.notes.append(
                "The shared local Prefect server was already running (started by the first run of this bench), "
                "so no run starts a server: *net* is a run's wall time minus the median start-up wall above."
            )

    # -- answer in seconds (issue 13)
    def answer_in_seconds(self) -> None:
        """A small run, a refused file, a cached re-run, the first feedback and `--help`, interleaved
        round by round with the bare-import reference, so the ratios share the machine's state."""
        r = self.report
        name = "Answer in seconds (one small report)"
        r.table(name, ["measurement", "median wall s", "runs", "÷ bare import", "target", "verdict"])
        report_file = samples()[0]
        empty = OUT / "inputs" / "empty" / "empty.txt"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.write_bytes(b"")
        out = OUT / "runs" / "answer"
        de06 = de06_command()
        cases: dict[str, Callable[[], float]] = {
            "bare `python -c 'import pandas, pyarrow'` (reference)": lambda: timed_command(
                [sys.executable, "-c", "import pandas, pyarrow"]
            ),
            "`de06 run` of one small report (47 KB), Prefect server running": lambda: timed_command(
                [*de06, "run", str(report_file), "--out", str(out / "small"), "--quiet", "--force"]
            ),
            "same, everything cached (no Prefect)": lambda: timed_command(
                [*de06, "run", str(report_file), "--out", str(out / "small"), "--quiet"]
            ),
            "`de06 run` of one empty file (refused at triage, no Prefect)": lambda: timed_command(
                [*de06, "run", str(empty), "--out", str(out / "empty"), "--quiet", "--force"]
            ),
            "`de06 --help`": lambda: timed_command([*de06, "--help"]),
        }
        feedback: list[float] = []
        timings: dict[str, list[float]] = {k: [] for k in cases}
        timed_command([*de06, "run", str(report_file), "--out", str(out / "small"), "--quiet", "--force"])  # server up
        for _ in range(self.mode.startup_repeats + 2):
            for label, fn in cases.items():
                timings[label].append(fn())
            seen, _ = first_line_seconds(
                [*de06, "run", str(report_file), "--out", str(out / "feedback"), "--force"], "input file(s) found"
            )
            feedback.append(seen)
        reference = statistics.median(next(iter(timings.values())))
        for label, values in timings.items():
            wall = statistics.median(values)
            is_run = label.startswith("`de06 run` of one small")
            r.row(
                name,
                label,
                wall,
                len(values),
                f"{wall / reference:.1f}×",
                f"≤ {TARGET_STARTUP_S:.0f} s and ≤ {TARGET_STARTUP_RATIO:.0f}×" if is_run else "",
                verdict(wall <= TARGET_STARTUP_S and wall / reference <= TARGET_STARTUP_RATIO) if is_run else "",
            )
        first = statistics.median(feedback)
        r.row(name, "first line on stderr (\"N input file(s) found\")", first, len(feedback), "",
              f"≤ {TARGET_FEEDBACK_S:.0f} s", verdict(first <= TARGET_FEEDBACK_S))
        # For the record: Prefect's temporary server per run (DE06_SHARED_SERVER=0), and a first run on
        # a fresh Prefect home (the shared server creates its database), in a home of its own.
        temporary = {**os.environ, "DE06_SHARED_SERVER": "0"}
        walls = [
            timed_command([*de06, "run", str(report_file), "--out", str(out / "temp"), "--quiet", "--force"], temporary)
            for _ in range(2)
        ]
        r.row(name, "same small run with Prefect's temporary server (`DE06_SHARED_SERVER=0`, before)",
              statistics.median(walls), len(walls), f"{statistics.median(walls) / reference:.1f}×", "", "")
        home = OUT / "fresh-prefect-home"
        shutil.rmtree(home, ignore_errors=True)
        fresh = {**os.environ, "PREFECT_HOME": str(home)}
        first_run = timed_command([*de06, "run", str(report_file), "--out", str(out / "fresh"), "--quiet", "--force"], fresh)
        second_run = timed_command([*de06, "run", str(report_file), "--out", str(out / "fresh"), "--quiet", "--force"], fresh)
        timed_command([*de06, "server", "stop"], fresh)
        r.row(name, "first run on a fresh Prefect home (starts the server, creates its database)", first_run, 1,
              f"{first_run / reference:.1f}×", "", "")
        r.row(name, "the run right after it (server found)", second_run, 1, f"{second_run / reference:.1f}×", "", "")

    # -- end to end vs floors
    def _e2e_header(self) -> None:
        self.report.table(
            "End to end vs floors",
            [
                "input",
                "docs",
                "pages",
                "text MB",
                "workers",
                "de06 net s",
                "s / doc",
                "s / page",
                "throughput",
                "CPU s (net)",
                "per core",
                "peak RSS tree MB",
                "status",
                "target",
                "verdict",
            ],
        )
        self.report.table(
            WHERE,
            [
                "input",
                "engine floor",
                "floor wall s/page",
                "floor CPU s/page",
                "no-Prefect loop wall s/page",
                "loop CPU s/page",
                "loop ÷ floor (wall)",
                "de06 run w1 net s/page",
                "de06 CPU s/page",
                "de06 ÷ floor (wall)",
                "our overhead (de06 − floor) s/page",
                "Prefect + CLI share of de06",
            ],
        )

    def where(
        self, name: str, pages: int, loop: dict[str, Any], floor: str, wall: float | None, cpu: float | None
    ) -> None:
        """One row of the where-the-time-goes table: floor vs process_document loop vs `de06 run` (w1)."""
        run = self.runs.get(f"{name.split()[0]}-w1")
        de06 = self.net(run) / pages if run else None
        de06_cpu = self.net_cpu(run) / pages if run else None
        loop_wall = loop["total_s"] / pages
        self.report.row(
            WHERE,
            name,
            floor,
            wall / pages if wall is not None else "n/a",
            cpu / pages if cpu is not None else None,
            loop_wall,
            loop.get("cpu_s", 0) / pages,
            f"{loop_wall / (wall / pages):.2f}×" if wall else None,
            de06,
            de06_cpu,
            f"{de06 / (wall / pages):.2f}×" if wall and de06 else None,
            de06 - wall / pages if wall is not None and de06 is not None else None,
            f"{max(0.0, 1 - loop_wall / de06):.0%}" if de06 else None,
        )

    def e2e_text(self) -> None:
        corpus = text_corpus(1)
        mb = corpus.bytes / MB
        loop = loop_run("loop-text-x1", corpus.files)
        for workers in (1, 2):
            run = de06_run(f"text-x1-w{workers}", corpus.files, workers)
            self.runs[run.label] = run
            net = self.net(run)
            per_core = mb / self.net_cpu(run)
            self.report.row(
                "End to end vs floors",
                "text (.txt samples)",
                len(corpus.files),
                corpus.pages,
                mb,
                workers,
                net,
                net / len(corpus.files),
                net / corpus.pages,
                f"{mb / net:.2f} MB/s",
                self.net_cpu(run),
                f"{per_core:.2f} MB/CPU-s",
                run.peak_tree_mb,
                run.status_note(),
                f"≥ {TARGET_TEXT_MB_PER_CORE_S:.0f} MB/s/core",
                # per core: the lower of 1-worker wall throughput and MB per CPU-second
                verdict(min(per_core, mb / net) >= TARGET_TEXT_MB_PER_CORE_S) if workers == 1 else "–",
            )
        self.where(
            "text-x1 (.txt, 1 file = 1 page)",
            corpus.pages,
            loop,
            "none (reading a .txt is ~free)",
            None,
            None,
        )

    def e2e_pdf(self) -> None:
        corpus = pdf_corpus(1)
        self.pdf1 = corpus
        loop = loop_run("loop-pdf-x1", corpus.files)
        for workers in (1, 2):
            run = de06_run(f"pdf-x1-w{workers}", corpus.files, workers)
            self.runs[run.label] = run
            net = self.net(run)
            per_core = corpus.pages / self.net_cpu(run)
            self.report.row(
                "End to end vs floors",
                "text-layer PDF",
                len(corpus.files),
                corpus.pages,
                corpus.bytes / MB,
                workers,
                net,
                net / len(corpus.files),
                net / corpus.pages,
                f"{corpus.pages / net:.1f} pages/s",
                self.net_cpu(run),
                f"{per_core:.1f} pages/CPU-s",
                run.peak_tree_mb,
                run.status_note(),
                f"≥ {TARGET_PDF_PAGES_PER_CORE_S:.0f} pages/s/core",
                verdict(min(per_core, corpus.pages / net) >= TARGET_PDF_PAGES_PER_CORE_S)
                if workers == 1
                else "–",
            )
        for name, fn in (
            ("`pdftotext -layout` (1 process per doc)", floor_pdftotext),
            ("pdfplumber `extract_text()`", floor_pdfplumber),
            ("pypdfium2 text only (de06's engine)", floor_pdfium),
        ):
            try:
                wall, cpu = timed(fn, corpus)
            except Exception as e:  # noqa: BLE001 - one missing tool must not hide the others
                self.report.problems.append(f"floor {name}: n/a — {type(e).__name__}: {e}")
                wall = cpu = None
            self.where("pdf-x1 (text-layer PDF)", corpus.pages, loop, name, wall, cpu)

    def e2e_scans(self) -> None:
        if self.pdf1 is None:
            self.pdf1 = pdf_corpus(1)
        corpus, pngs = scan_corpus(self.mode, self.pdf1)
        self.scans = (corpus, pngs)
        tess_cpu = 0.0
        for workers in (1, 2):
            wall, cpu = timed(floor_tesseract, pngs, workers)
            self.tess_floor[workers] = wall
            tess_cpu = cpu if workers == 1 else tess_cpu
        loop = loop_run("loop-scans", corpus.files)
        for workers in (1, 2):
            run = de06_run(f"scans-w{workers}", corpus.files, workers)
            self.runs[run.label] = run
            net = self.net(run)
            per_page = net / corpus.pages
            floor = self.tess_floor[workers] / corpus.pages
            overhead = per_page / floor - 1
            self.report.row(
                "End to end vs floors",
                "300-dpi scan (image-only PDF)",
                len(corpus.files),
                corpus.pages,
                None,
                workers,
                net,
                net / len(corpus.files),
                per_page,
                f"{corpus.pages / net:.2f} pages/s",
                self.net_cpu(run),
                f"{self.net_cpu(run) / corpus.pages:.2f} CPU-s/page",
                run.peak_tree_mb,
                run.status_note(),
                f"overhead ≤ {TARGET_SCAN_OVERHEAD:.0%} over tesseract",
                f"{overhead:+.0%} → {verdict(overhead <= TARGET_SCAN_OVERHEAD)}",
            )
        self.where(
            "scans (300-dpi image-only PDF)",
            corpus.pages,
            loop,
            "`tesseract PNG stdout -l vie --psm 3`, OMP_THREAD_LIMIT=1",
            self.tess_floor[1],
            tess_cpu,
        )
        self.report.notes.append(
            f"Scans: {corpus.pages} pages ({self.mode.scan_docs} image-only PDFs × {self.mode.scan_pages_per_doc} "
            "pages: the first pages of the first samples' text PDFs, rendered with pypdfium2 at 300 dpi, "
            "grayscale, clean — no skew or noise). Only these pages are OCR'd, to keep the run short; "
            "the tesseract floor reads the same PNGs that the PDFs embed."
        )

    # -- workers 1 vs 2
    def workers(self) -> None:
        r = self.report
        r.table(
            "Workers: 1 vs 2",
            [
                "input",
                "pages",
                "w1 net s",
                "w2 net s",
                "speed-up",
                "floor speed-up",
                "peak RSS w1 MB",
                "peak RSS w2 MB",
                "target",
                "verdict",
            ],
        )
        # The ×1 corpora hold a few seconds of work, within the noise of a shared machine and bound
        # by their largest document: the ×10 corpora (50 documents) give the ratio that means something.
        big = max(self.mode.pdf_copies)
        for label, make in (("text-x10", lambda: text_corpus(10)), (f"pdf-x{big}", lambda: pdf_corpus(big))):
            if big > 1:
                for w in (1, 2):
                    key = f"{label}-w{w}"
                    if key not in self.runs:
                        try:
                            self.runs[key] = de06_run(key, make().files, w)
                        except Exception as e:  # noqa: BLE001 - keep the other rows
                            r.problems.append(f"workers {key}: {type(e).__name__}: {e}")
        for name, key, pages in (
            ("text samples", "text-x1", None),
            ("text samples ×10 (50 docs)", "text-x10", None),
            ("text-layer PDFs", "pdf-x1", None),
            (f"text-layer PDFs ×{big} ({5 * big} docs)", f"pdf-x{big}", None),
            ("300-dpi scans", "scans", self.scans[0].pages if self.scans else None),
        ):
            a, b = self.runs.get(f"{key}-w1"), self.runs.get(f"{key}-w2")
            if a is None or b is None:
                r.row("Workers: 1 vs 2", name, pages, "n/a (a run above failed)")
                continue
            speedup = self.net(a) / self.net(b)
            is_scan = key == "scans"
            has_target = is_scan or (key.startswith("pdf-x") and key != "pdf-x1")
            floor = (
                f"{self.tess_floor[1] / self.tess_floor[2]:.2f}× (2 tesseracts)"
                if is_scan and self.tess_floor
                else "–"
            )
            r.row(
                "Workers: 1 vs 2",
                name,
                pages if pages else a.counts().get("documents"),
                self.net(a),
                self.net(b),
                f"{speedup:.2f}×",
                floor,
                a.peak_tree_mb,
                b.peak_tree_mb,
                f"≥ {TARGET_WORKER_SPEEDUP}×" if has_target else "–",
                verdict(speedup >= TARGET_WORKER_SPEEDUP) if has_target else "–",
            )

    # -- scaling
    def scaling(self) -> None:
        r = self.report
        r.table(
            "Scaling (corpus copied, one changed line per copy; workers 2)",
            [
                "input",
                "copies",
                "docs",
                "pages",
                "text MB",
                "wall s",
                "net s",
                "net ms / doc",
                "time growth ÷ size growth",
                "peak RSS tree MB",
                "peak RSS de06 process MB",
                "status",
            ],
        )
        for kind, make, copies in (
            ("text", text_corpus, self.mode.text_copies),
            ("text-layer PDF", pdf_corpus, self.mode.pdf_copies),
        ):
            base: tuple[float, int] | None = None
            rss: list[tuple[int, float, float]] = []
            for n in copies:
                try:
                    corpus = make(n)
                    key = f"{'text' if kind == 'text' else 'pdf'}-x{n}-w2"
                    run = self.runs.get(key) or de06_run(key, corpus.files, 2)
                    self.runs[key] = run
                except Exception as e:  # noqa: BLE001 - keep the other sizes
                    r.row(
                        "Scaling (corpus copied, one changed line per copy; workers 2)",
                        kind,
                        f"×{n}",
                        f"n/a ({type(e).__name__}: {e})"[:160],
                    )
                    r.problems.append(f"scaling {kind} ×{n}: {type(e).__name__}: {e}")
                    continue
                net = self.net(run)
                if base is None and net > 0.5:  # a tiny run's net time is noise: grow from the first real one
                    base = (net, corpus.pages)
                growth = (net / base[0]) / (corpus.pages / base[1]) if base else float("nan")
                rss.append((len(corpus.files), run.peak_root_mb, run.peak_tree_mb))
                r.row(
                    "Scaling (corpus copied, one changed line per copy; workers 2)",
                    kind,
                    f"×{n}",
                    len(corpus.files),
                    corpus.pages,
                    corpus.bytes / MB,
                    run.wall,
                    net,
                    1000 * net / len(corpus.files),
                    f"{growth:.2f}",
                    run.peak_tree_mb,
                    run.peak_root_mb,
                    run.status_note(),
                )
            if len(rss) >= 2 and rss[-2][1] and rss[-2][2]:
                (docs_a, root_a, tree_a), (docs_b, root_b, tree_b) = rss[-2], rss[-1]
                r.row(
                    "Scaling (corpus copied, one changed line per copy; workers 2)",
                    kind,
                    f"memory {docs_b} ÷ {docs_a} docs",
                    "", "", "", "", "", "", "",
                    f"tree ×{tree_b / tree_a:.2f}",
                    f"de06 ×{root_b / root_a:.2f} (target ≤ 1.3×: {'met' if root_b / root_a <= 1.3 else 'not met'})",
                    "",
                )

    # -- Prefect overhead
    def prefect_overhead(self) -> None:
        r = self.report
        n = self.mode.tiny_docs
        r.table(
            "Prefect overhead (N tiny text documents)",
            [
                "N",
                "`de06 run` wall s",
                "net s (span − 1-file span)",
                "per doc in de06 run ms",
                "CPU per doc ms",
                "process_document loop ms / doc",
                "Prefect + CLI overhead ms / doc",
                "peak RSS tree MB",
            ],
        )
        corpus = tiny_corpus(n)
        run = de06_run(f"tiny-{n}-w1", corpus.files, 1)
        loop = loop_run(f"loop-tiny-{n}", corpus.files)
        net = self.net(run)  # the 1-file run already holds one document: N−1 more here
        per_doc = net / (n - 1)
        loop_ms = 1000 * loop["total_s"] / n
        r.row(
            "Prefect overhead (N tiny text documents)",
            n,
            run.wall,
            net,
            1000 * per_doc,
            1000 * self.net_cpu(run) / (n - 1),
            loop_ms,
            1000 * per_doc - loop_ms,
            run.peak_tree_mb,
        )
        r.notes.append(
            "Prefect overhead = *net* of `de06 run` over N tiny files ÷ (N−1) (the 1-file run already had one), "
            "minus the per-file time of `process_document` in a plain loop in one interpreter (imports "
            f"excluded: {loop['import_s']:.2f} s). `de06 run` runs 2 tasks per text document (plan, finish)."
        )

    def records(self) -> None:
        """Rows per table for each run: copies must scale exactly, formats of the same text should agree."""
        tables = ("references", "figures", "services", "tables", "findings")
        self.report.table(RECORDS, ["run", "docs", "status", *tables, "expected"])
        base: dict[str, dict[str, Any]] = {}
        for label, run in self.runs.items():
            if label.startswith(("startup", "tiny")) or (label.endswith("-w2") and "-x1-" in label):
                continue
            c = run.counts()
            kind = label.split("-x")[0]
            copies = int(label.split("-x")[1].split("-")[0]) if "-x" in label else None
            expected = ""
            if copies == 1:
                base[kind] = c
            elif copies and kind in base:
                want = [copies * base[kind].get(f"rows_{t}", 0) for t in tables]
                got = [c.get(f"rows_{t}", 0) for t in tables]
                expected = "= ×1 × copies" if want == got else f"**≠** ×1 × {copies} = {want}"
            self.report.row(
                RECORDS,
                label,
                c.get("documents"),
                run.status_note(),
                *(c.get(f"rows_{t}") for t in tables),
                expected,
            )


def write_results(
    report: Report, info: dict[str, str], argv: list[str], load: tuple[tuple[float, ...], ...], seconds: float
) -> str:
    load_start, load_end = load
    busy = load_start[0] > 1.5
    lines = [
        "# de06 benchmark results",
        "",
        f"Written by `bench/run_bench.py` ({report.mode.name} mode) on "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; the whole bench took {seconds / 60:.1f} min.",
        "",
        "## Machine",
        "",
        f"- cores: {info['cores']} ({info['cpu']}); memory: {info['memory']}; {info['os']}",
        f"- Python {info['python']}; {info['tesseract']} (`vie`); {info['pdftotext']}",
        f"- de06 {info['de06']}, prefect {info['prefect']}, pdfplumber {info['pdfplumber']}, "
        f"pypdfium2 {info['pypdfium2']}, psutil {info['psutil']}; code measured: {info['code']}",
        f"- load average at start {', '.join(f'{x:.2f}' for x in load_start)}; "
        f"at end {', '.join(f'{x:.2f}' for x in load_end)}"
        + (
            " — **the machine was busy with other jobs**, so absolute times are pessimistic and the worker "
            "speed-up is understated"
            if busy
            else ""
        ),
        "",
        "- 1-minute load average when each stage started: "
        + "; ".join(f"{name} {load:.1f}" for name, load in report.loads),
        "",
        "## Command",
        "",
        "```sh",
        "make bench    # = .venv/bin/python bench/run_bench.py"
        + ("" if "--quick" not in argv else " --quick"),
        f".venv/bin/python bench/run_bench.py {' '.join(argv)}".rstrip(),
        "```",
        "",
        "Each de06 measurement is one subprocess `.venv/bin/de06 run INPUTS --out bench/out/runs/LABEL --quiet "
        "--force --workers N`, with the default Prefect home (`~/.prefect`, already created, i.e. a machine that "
        "has run de06 before) and the local Prefect server de06 runs share already up (the bench's first run "
        "starts it if needed). *wall* is that process's wall time. *net* is the per-document cost: the wall time "
        "minus that of a run over one tiny text file. *Peak RSS tree* sums the RSS of the "
        "process and all its descendants (worker processes, tesseract; not the shared server), polled every 50 ms with "
        "psutil. *CPU s* is user+sys of the tree from `getrusage(RUSAGE_CHILDREN)`, net of the start-up run's "
        "CPU; *per core* figures divide by that CPU time. Logs of every run: `bench/out/logs/`.",
        "",
        "## Results",
        "",
        report.markdown(),
    ]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    lines += ["## Problems found / measurements that failed", ""]
    lines += [f"- {p}" for p in report.problems] or ["- none"]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--_loop":  # internal: the no-Prefect loop child (see loop_run)
        return _loop_main(argv[1], argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subset: 2 scanned pages, ×1/×10, N=10")
    parser.add_argument("--clean", action="store_true", help="regenerate the inputs in bench/out/inputs")
    parser.add_argument(
        "--results",
        default=None,
        help="where to write the report (default: bench/RESULTS.md; --quick: bench/out/RESULTS-quick.md)",
    )
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.results is None:  # a quick run must not overwrite the full run's committed results
        args.results = str(OUT / "RESULTS-quick.md" if args.quick else BENCH / "RESULTS.md")
    if args.clean and (OUT / "inputs").exists():
        shutil.rmtree(OUT / "inputs")
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_start = os.getloadavg()
    info = machine()
    print(
        f"de06 bench ({mode.name}); load average {load_start}; {info['cores']} cores, {info['cpu']}",
        flush=True,
    )
    report = Report(mode)
    bench = Bench(mode, report)
    stage(report, "answer in seconds", bench.answer_in_seconds)
    stage(report, "start-up", bench.startup)
    bench._e2e_header()
    stage(report, "text inputs end to end", bench.e2e_text)
    stage(report, "text-layer PDFs end to end + floors", bench.e2e_pdf)
    stage(report, "scans end to end + tesseract floor", bench.e2e_scans)
    stage(report, "workers 1 vs 2", bench.workers)
    stage(report, "scaling", bench.scaling)
    stage(report, "Prefect overhead", bench.prefect_overhead)
    stage(report, "records extracted", bench.records)
    text = write_results(report, info, argv, (load_start, os.getloadavg()), time.perf_counter() - started)
    Path(args.results).write_text(text, encoding="utf-8")
    print("\n" + report.markdown())
    for p in report.problems:
        print("PROBLEM:", p)
    print(f"wrote {rel(Path(args.results))} in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
