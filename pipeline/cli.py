"""`de06 run|eval`: the command line. The only place that maps errors to exit codes."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import De06Error, ExitCode, UsageError

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


def _add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-memory",
        type=_memory_size,
        default=None,
        metavar="SIZE",
        help="memory one worker process may use for one document, e.g. 2G or 1500M "
        "(default: the machine's memory shared by the workers, 1-4 GiB; 0: no limit)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wall seconds a page may take before its document is stopped (default 120; at least 60 a stage)",
    )
    parser.add_argument(
        "--follow-links",
        action="store_true",
        help="read files that links inside an input folder point to outside it (default: list them, unread)",
    )
    parser.add_argument(
        "--max-pages",
        type=int,
        default=None,
        metavar="N",
        help="pages a PDF or picture file may have (default 500); longer files fail at once with that reason",
    )


def _memory_size(text: str) -> int:
    units = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    value = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = value[-1:] if value[-1:] in units else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 2G or 1500M") from None
    if number < 0:
        raise argparse.ArgumentTypeError("a memory size cannot be negative")
    return int(number * units[unit])


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
    _add_limit_arguments(run)

    sv = sub.add_parser("serve", help="watch a folder and keep the outputs current")
    sv.add_argument("--watch", required=True, metavar="DIR", help="incoming folder")
    sv.add_argument("--out", default="outputs", help="output folder (default: outputs/)")
    sv.add_argument("--interval", type=float, default=10.0, help="seconds between looks (default 10)")
    sv.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    sv.add_argument("--ocr", choices=["auto", "always", "never"], default="auto")
    sv.add_argument("--runner", choices=["local", "dask"], default="local")
    sv.add_argument("--address", default=None)
    _add_limit_arguments(sv)

    from pipeline.trace import add_trace_arguments

    tr = sub.add_parser("trace", help="show where a record or a number was read")
    add_trace_arguments(tr)

    srv = sub.add_parser("server", help="the local Prefect server de06 runs share (status, stop)")
    srv.add_argument("action", choices=["status", "stop"])
    srv.add_argument("--json", action="store_true", help="status as JSON")

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
        if args.command == "server":
            return cmd_server(args)
        if args.command == "trace":
            from pipeline.trace import run_trace

            return run_trace(args)
    except UsageError as e:
        print(f"de06: {e.message}", file=sys.stderr)
        return int(ExitCode.usage)
    except BrokenPipeError:  # `de06 trace … | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.ok)
    except De06Error as e:  # a failure of the whole run (output folder, dependencies)
        print(f"de06: {e.message}", file=sys.stderr)
        return int(e.exit_code)
    except KeyboardInterrupt:
        print("de06: interrupted; outputs already written are complete", file=sys.stderr)
        return int(ExitCode.interrupted)
    parser.error(f"unknown command {args.command}")
    return int(ExitCode.usage)


class TerminalProgress:
    """The run as a person sees it: a line naming what was found, then a rich bar (documents
    done / total, failures, pages OCR'd) on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = enabled and sys.stderr.isatty()
        self.failed = 0
        self.ocr_pages = 0
        self._progress: Any = None

    def found(self, total: int) -> None:
        if not self.enabled:
            return
        print(f"de06: {total} input file(s) found", file=sys.stderr, flush=True)
        if not self.bar:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]documents"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed: {task.fields[failed]}  pages OCR'd: {task.fields[pages]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("run", total=total, pages=0, failed=0)

    def document(self, source: str, status: str) -> None:
        self.failed += status == "failed"
        if self._progress is not None:
            self._progress.update(self._task, advance=1, failed=self.failed)

    def pages(self, count: int) -> None:
        self.ocr_pages += count
        if self._progress is not None:
            self._progress.update(self._task, pages=self.ocr_pages)

    def note(self, message: str) -> None:
        """Something the user should know of even with --quiet (a server left running for later runs)."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            print(f"de06: {message}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _run(inputs: Sequence[str], out_dir: Path, options: Any, show_progress: bool, handle_signals: bool = True) -> Any:
    """`app.run_corpus` with Prefect's quiet defaults and the terminal's progress."""
    _prefect_environment()
    from pipeline.app import run_corpus

    progress = TerminalProgress(show_progress)
    try:
        return run_corpus(inputs, out_dir, options, progress, handle_signals=handle_signals)
    finally:
        progress.close()


def _options(args: argparse.Namespace) -> Any:
    from pipeline.config import MAX_PAGES, SECONDS_PER_PAGE, RunOptions, default_max_memory

    if args.runner == "dask" and args.address and not args.address.startswith(("tcp://", "tls://")):
        raise UsageError("--address takes a scheduler address such as tcp://127.0.0.1:8786")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.max_pages is not None and args.max_pages < 1:
        raise UsageError("--max-pages must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout takes a positive number of seconds a page")
    memory = default_max_memory(args.workers) if args.max_memory is None else args.max_memory
    return RunOptions(
        ocr=args.ocr,
        workers=args.workers,
        runner=args.runner,
        address=args.address,
        out_dir=args.out,
        force=getattr(args, "force", False),
        max_memory=memory,
        timeout=args.timeout or SECONDS_PER_PAGE,
        max_pages=args.max_pages or MAX_PAGES,
        follow_links=args.follow_links,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.errors import Interrupted

    options = _options(args)
    out_dir = Path(args.out)
    try:
        outcome = _run(args.inputs, out_dir, options, show_progress=not args.quiet)
    except Interrupted as e:
        outcome = e.outcome
        if outcome is not None:
            done = sum(d.status != "failed" or d.cached for d in outcome.documents)
            print(
                f"de06: interrupted; the {done} finished document(s) are written to {out_dir}/ and cached, "
                "the others are listed as interrupted",
                file=sys.stderr,
            )
        return e.exit_code
    if not args.quiet:
        _print_summary(outcome.documents, outcome.manifest, out_dir)
    failed = [d for d in outcome.documents if d.status == "failed"]
    return int(ExitCode.some_inputs_failed if failed else ExitCode.ok)


def _print_summary(documents: list[Any], manifest: dict[str, Any], out_dir: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from pipeline.display import visible

    console = Console(stderr=True)
    table = Table(title=escape(visible(f"de06 {__version__}: {len(documents)} inputs → {out_dir}/")))
    for column in ("source", "status", "format", "pages", "refs", "figures", "services", "error"):
        table.add_column(column, overflow="fold")
    for d in documents:
        info = d.info
        status = str(info.get("status"))
        if info.get("duplicate_of"):
            status += f" (copy of {info['duplicate_of']})"
        table.add_row(
            *(
                escape(visible(str(v)))
                for v in (
                    info.get("source"),
                    status,
                    info.get("format") or "",
                    info.get("pages") or "",
                    d.counts["references"],
                    d.counts["figures"],
                    d.counts["services"],
                    info.get("error") or "",
                )
            )
        )
    console.print(table)
    console.print(escape(visible(f"total {manifest['timings']['total_seconds']:.1f} s; tables in {out_dir}/")))


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.serve import serve

    if args.interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    options = _options(args)
    out_dir = Path(args.out)

    def run(paths: list[str]) -> None:
        outcome = _run(paths, out_dir, options, show_progress=False, handle_signals=False)
        counts = outcome.manifest["counts"]
        print(
            f"de06 serve: {counts['documents']} documents ({counts['processed']} processed, "
            f"{counts['cached']} cached, {counts['failed']} failed) → {out_dir}/",
            file=sys.stderr,
            flush=True,
        )

    return serve(Path(args.watch), options, args.interval, run)


def cmd_server(args: argparse.Namespace) -> int:
    from pipeline import prefect_server

    if args.action == "stop":
        state = prefect_server.stop()
        print("no local Prefect server was running" if state is None else f"stopped the local Prefect server (pid {state.pid})")
        return int(ExitCode.ok)
    info = prefect_server.status()
    if args.json:
        print(json.dumps(info, indent=2))
    elif not info["running"]:
        print(f"no local Prefect server running (state in {info['state_dir']}); the next run that needs one starts it")
    else:
        runs = info["runs_using_it"]
        print(f"local Prefect server: pid {info['pid']}, {'answering' if info['healthy'] else 'NOT answering'}")
        print(f"  API {info['api_url']}   UI {info['ui_url']}   database in {info['prefect_home']}")
        print(f"  runs using it now: {len(runs)}; stops after {info['idle_stop_seconds']:.0f} s unused")
        print(f"  log {info['log']}")
    return int(ExitCode.ok)


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
    outcome = _run([str(p) for p in paths], out_dir, options, show_progress=True)
    predicted = {
        name: json.loads((out_dir / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("documents", "references", "figures", "services")
    }
    doc_names = {str(d.info["doc_id"]): Path(str(d.info["source"])).name for d in outcome.documents}
    report = score(gold, predicted, doc_names)
    from pipeline.export import atomic_write, to_json

    atomic_write(out_dir / "eval.json", to_json(report.to_json()))
    print(format_table(report))
    print(f"details: {out_dir / 'eval.json'}")
    return int(ExitCode.ok)


def console_main() -> int:
    """The `de06` command: `main`, then an exit that skips the interpreter's last garbage
    collection (0.3-0.6 s walking what Prefect and pandas made; the process's memory goes anyway)."""
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(console_main())
