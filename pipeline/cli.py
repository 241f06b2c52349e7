"""`de06 run|eval`: the command line. The only place that maps errors to exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import ExitCode, UsageError

# Quiet, offline-safe Prefect (and Dask) defaults (shared/notes/prefect.md §1c–1d); a user's own settings win.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "OMP_THREAD_LIMIT": "1",
    "DASK_LOGGING__DISTRIBUTED": "warning",  # scheduler/worker INFO lines would bury the summary
}


def _prefect_environment() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="de06", description="Extract references, figures and services from Đề án 06 reports."
    )
    parser.add_argument("--version", action="version", version=f"de06 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="process files and folders into output tables")
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="files and/or folders (recursive)")
    run.add_argument("--out", default="outputs", help="output folder (default: outputs/)")
    run.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="parallel workers")
    run.add_argument("--ocr", choices=["auto", "always", "never"], default="auto", help="OCR policy per page")
    run.add_argument("--runner", choices=["local", "dask"], default="local")
    run.add_argument("--address", default=None, help="dask scheduler, tcp://HOST:PORT")
    run.add_argument("--force", action="store_true", help="ignore cached results; process every input again")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    sv = sub.add_parser("serve", help="watch a folder and keep the outputs current")
    sv.add_argument("--watch", required=True, metavar="DIR", help="incoming folder")
    sv.add_argument("--out", default="outputs", help="output folder (default: outputs/)")
    sv.add_argument("--interval", type=float, default=10.0, help="seconds between looks (default 10)")
    sv.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    sv.add_argument("--ocr", choices=["auto", "always", "never"], default="auto")
    sv.add_argument("--runner", choices=["local", "dask"], default="local")
    sv.add_argument("--address", default=None)

    from pipeline.trace import add_trace_arguments

    tr = sub.add_parser("trace", help="show where a record or a number was read")
    add_trace_arguments(tr)

    ev = sub.add_parser("eval", help="score extraction against gold files")
    ev.add_argument("gold_dir", metavar="GOLD_DIR")
    ev.add_argument("--out", default="outputs/eval", help="where to write eval.json and the run's tables")
    ev.add_argument("--inputs", default="corpus/samples", help="folder holding the files the gold names")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors and 0 for --help
        return int(e.code or 0)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "trace":
            from pipeline.trace import run_trace

            return run_trace(args)
    except UsageError as e:
        print(f"de06: {e.message}", file=sys.stderr)
        return int(ExitCode.usage)
    except BrokenPipeError:  # `de06 trace … | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.ok)
    except KeyboardInterrupt:
        print("de06: interrupted; outputs already written are complete", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return int(ExitCode.usage)


def run_corpus(
    inputs: Sequence[str], out_dir: Path, options: Any, show_progress: bool = True
) -> tuple[list[Any], dict[str, Any]]:
    """Process inputs through the flow and write all tables and the manifest to `out_dir`."""
    _prefect_environment()
    from pipeline.document import ReadPlan, finish_document
    from pipeline.errors import InputFileError
    from pipeline.export import result_rows, write_manifest, write_tables
    from pipeline.ingest import expand_inputs
    from pipeline.types import InputFile, StageError

    started = time.time()
    paths, missing = expand_inputs(list(inputs))
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if not paths:
        raise UsageError(f"no files found in {', '.join(inputs)}")
    from pipeline.flows import run_documents, triage_all

    triaged = triage_all([str(p) for p in paths])
    good = [t for t in triaged if isinstance(t, InputFile)]
    results_by_path: dict[str, Any] = {}
    cached = 0
    with _progress_bar(len(triaged), show_progress) as progress:
        flow_started = time.time()
        for result, from_cache in run_documents(good, options, progress) if good else []:
            results_by_path[result.info.source] = result
            cached += from_cache
        flow_seconds = time.time() - flow_started
    results = []
    for t in triaged:
        if isinstance(t, InputFile):
            results.append(results_by_path[t.source])
        else:  # unreadable (permissions, vanished): still reported, never skipped
            path, message = t
            fake = InputFile(path=path, source=path, sha256="0" * 64, size=0, kind="unknown")
            error = StageError("ingest", None, InputFileError.category, message)
            results.append(finish_document(ReadPlan(fake, None, 0, failure=error), [], options))
    tables = result_rows(results)
    write_tables(out_dir, tables)
    write_audit_report(out_dir, tables, results, triaged)
    manifest = write_manifest(out_dir, results, tables, started, flow_seconds, options, cached)
    return results, manifest


def write_audit_report(out_dir: Path, tables: dict[str, Any], results: list[Any], triaged: list[Any]) -> None:
    """`DIR/report.html` with every document's page texts and, for PDFs and scans, page images."""
    from pipeline.page_images import render_page_images
    from pipeline.report import pages_payload, write_report
    from pipeline.types import InputFile

    paths = {t.doc_id: t.path for t in triaged if isinstance(t, InputFile)}
    page_texts = {}
    for r in results:
        if not r.pages:
            continue
        payload = pages_payload(r.pages)
        try:
            images = render_page_images(r, paths[r.info.doc_id], out_dir)
        except Exception as e:  # noqa: BLE001 - a missing picture must not lose the report
            print(f"de06: no page images for {r.info.source}: {e}", file=sys.stderr)
            images = {}
        for page in payload:
            page["image"] = images.get(page["page"])
        page_texts[r.info.doc_id] = payload
    write_report(out_dir, tables, page_texts)


class _progress_bar:
    """A rich progress bar on a terminal (documents done / total, pages OCR'd); silent otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self.pages = 0

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]documents"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages OCR'd: {task.fields[pages]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("run", total=self.total, pages=0)

        def update(kind: str, count: int) -> None:
            if kind == "document":
                self._progress.advance(self._task, count)
            else:
                self.pages += count
                self._progress.update(self._task, pages=self.pages)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.stop()


def _options(args: argparse.Namespace) -> Any:
    from pipeline.config import RunOptions

    if args.runner == "dask" and args.address and not args.address.startswith(("tcp://", "tls://")):
        raise UsageError("--address takes a scheduler address such as tcp://127.0.0.1:8786")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    return RunOptions(
        ocr=args.ocr,
        workers=args.workers,
        runner=args.runner,
        address=args.address,
        out_dir=args.out,
        force=getattr(args, "force", False),
    )


def cmd_run(args: argparse.Namespace) -> int:
    options = _options(args)
    out_dir = Path(args.out)
    results, manifest = run_corpus(args.inputs, out_dir, options, show_progress=not args.quiet)
    failed = [r for r in results if r.info.status == "failed"]
    if not args.quiet:
        _print_summary(results, manifest, out_dir)
    return int(ExitCode.some_inputs_failed if failed else ExitCode.ok)


def _print_summary(results: list[Any], manifest: dict[str, Any], out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title=f"de06 {__version__}: {len(results)} inputs → {out_dir}/")
    for column in ("source", "status", "format", "pages", "refs", "figures", "services", "error"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(
            r.info.source,
            r.info.status,
            r.info.format or "",
            str(r.info.pages or ""),
            str(len(r.references)),
            str(len(r.figures)),
            str(len(r.services)),
            r.info.error or "",
        )
    console.print(table)
    console.print(f"total {manifest['timings']['total_seconds']:.1f} s; tables in {out_dir}/")


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.serve import serve

    if args.interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    options = _options(args)
    out_dir = Path(args.out)

    def run(paths: list[str]) -> None:
        results, manifest = run_corpus(paths, out_dir, options, show_progress=False)
        counts = manifest["counts"]
        print(
            f"de06 serve: {counts['documents']} documents ({counts['processed']} processed, "
            f"{counts['cached']} cached, {counts['failed']} failed) → {out_dir}/",
            file=sys.stderr,
            flush=True,
        )

    return serve(Path(args.watch), options, args.interval, run)


def cmd_eval(args: argparse.Namespace) -> int:
    from pipeline.config import RunOptions
    from pipeline.evaluate import format_table, load_gold, score

    gold_dir = Path(args.gold_dir)
    if not gold_dir.is_dir():
        raise UsageError(f"gold folder not found: {gold_dir}")
    gold = load_gold(gold_dir)
    names = sorted({rec["doc"] for rows in gold.values() for rec in rows})
    inputs_dir = Path(args.inputs)
    paths = [inputs_dir / n for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"the gold names inputs that are not in {inputs_dir}: {', '.join(missing)}")
    out_dir = Path(args.out)
    options = RunOptions(out_dir=str(out_dir))
    results, _ = run_corpus([str(p) for p in paths], out_dir, options, show_progress=True)
    predicted = {
        name: json.loads((out_dir / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("documents", "references", "figures", "services")
    }
    doc_names = {r.info.doc_id: Path(r.info.source).name for r in results}
    report = score(gold, predicted, doc_names)
    from pipeline.export import atomic_write, to_json

    atomic_write(out_dir / "eval.json", to_json(report.to_json()))
    print(format_table(report))
    print(f"details: {out_dir / 'eval.json'}")
    return int(ExitCode.ok)


if __name__ == "__main__":
    raise SystemExit(main())
