"""What OCR noise costs: the samples as text, as text-layer PDFs and as 300-dpi scans, compared.

Renders each sample with the `report_pdf` test fixture, rasterizes every page at 300 dpi into an
image-only PDF, runs `de06 run` on the three forms, and compares the extracted keys with the text
run: references by number key (+ type, date), figures by value, service rows by (service_id, kind).
Recall is "found in the PDF/scan run / found in the text run"; precision the other way round.
Not a pass/fail test: it prints a table and writes bench/out/scan_parity.json.

    .venv/bin/python bench/scan_parity.py [--samples 000,004] [--workers 2] [--conditions office-200,photo]

With `--conditions` (names from tests/resources/degrade.py, or `all`), each sample is also scanned
under those degradations (skew, seal and blue ink, fax speckle, 150 dpi, phone photo, turned pages)
and each is compared with the text run like the clean scan.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]  # the real rules package first: tests/rules must not shadow it
sys.path.append(str(ROOT / "tests"))
from resources.degrade import CONDITIONS, degraded_pdf  # noqa: E402
from resources.make_fixtures import report_pdf  # noqa: E402

from extractors.references import number_key  # noqa: E402

OUT = ROOT / "bench" / "out" / "scan_parity"
DPI = 300


def scan_pdf(source: Path, target: Path) -> Path:
    """An image-only PDF: every page of `source` rendered to grayscale at 300 dpi."""
    doc = pdfium.PdfDocument(str(source))
    pdf = FPDF(unit="pt")
    try:
        for index in range(len(doc)):
            page = doc[index]
            width, height = page.get_size()
            png = target.with_name(f"{target.stem}-p{index + 1}.png")
            page.render(scale=DPI / 72, grayscale=True).to_pil().save(png)
            pdf.add_page(format=(width, height))
            pdf.image(str(png), x=0, y=0, w=width, h=height)
    finally:
        doc.close()
    pdf.output(str(target))
    return target


def run(inputs: Path, out: Path, workers: int) -> tuple[float, dict[str, list[dict[str, Any]]]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "de06"),
            "run",
            str(inputs),
            "--out",
            str(out),
            "--quiet",
            "--force",
            "--workers",
            str(workers),
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    tables = {
        t: json.loads((out / f"{t}.json").read_text("utf-8"))
        for t in ("documents", "references", "figures", "services")
    }
    return seconds, tables


KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "references": lambda r: (
        r["type"],
        number_key(r["number"]) if r["number"] else " ".join(r["text"].split()),
        r["date"],
    ),
    "figures": lambda r: (r["kind"], round(r["value"], 4)),
    "services": lambda r: (r["service_id"], r["source_kind"], r["catalog"]),
}


def per_stem(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> dict[str, Counter[Any]]:
    out: dict[str, Counter[Any]] = {}
    for r in rows:
        out.setdefault(Path(r["source"]).stem, Counter())[key(r)] += 1
    return out


def compare(base: dict[str, Counter[Any]], other: dict[str, Counter[Any]]) -> dict[str, float | int]:
    found = sum(sum((base[s] & other.get(s, Counter())).values()) for s in base)
    total_base = sum(sum(c.values()) for c in base.values())
    total_other = sum(sum(c.values()) for c in other.values())
    return {
        "text": total_base,
        "other": total_other,
        "common": found,
        "recall": round(found / total_base, 4) if total_base else 1.0,
        "precision": round(found / total_other, 4) if total_other else 1.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", default="", help="comma-separated prefixes, e.g. 000,004 (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--conditions", default="", help="degradations to add (comma-separated, or all)")
    args = parser.parse_args()
    conditions = [c for c in (CONDITIONS if args.conditions == "all" else args.conditions.split(",")) if c]
    wanted = [s for s in args.samples.split(",") if s]
    samples = [
        p for p in sorted((ROOT / "corpus" / "samples").glob("*.txt")) if not wanted or p.name[:3] in wanted
    ]
    forms = ["text", "pdf", "scan", *conditions]
    dirs = {form: OUT / "in" / form for form in forms}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            old.unlink()
    for sample in samples:
        (dirs["text"] / sample.name).write_bytes(sample.read_bytes())
        pdf = report_pdf(dirs["pdf"] / f"{sample.stem}.pdf", sample.read_text("utf-8"))
        scratch = OUT / "scratch"
        scratch.mkdir(exist_ok=True)
        scan_pdf(pdf, scratch / f"{sample.stem}.pdf").replace(dirs["scan"] / f"{sample.stem}.pdf")
        for name in conditions:
            degraded_pdf(pdf, dirs[name] / f"{sample.stem}.pdf", CONDITIONS[name])
    results: dict[str, Any] = {}
    runs = {form: run(d, OUT / "out" / form, args.workers) for form, d in dirs.items()}
    pages = sum(d["pages"] or 0 for d in runs["scan"][1]["documents"])
    conf = [d["ocr_confidence"] for d in runs["scan"][1]["documents"] if d["ocr_confidence"]]
    results["seconds"] = {form: round(r[0], 1) for form, r in runs.items()}
    results["scan_pages"] = pages
    results["mean_ocr_confidence"] = round(sum(conf) / len(conf), 2) if conf else None
    for table, key in KEYS.items():
        base = per_stem(runs["text"][1][table], key)
        results[table] = {
            form: compare(base, per_stem(runs[form][1][table], key)) for form in forms[1:]
        }
    (OUT / "scan_parity.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(
        f"samples: {', '.join(p.name[:3] for p in samples)}; scanned pages: {pages}; "
        f"seconds {results['seconds']}; mean OCR confidence {results['mean_ocr_confidence']}"
    )
    print(f"{'table':<11} {'form':<11} {'text':>5} {'other':>6} {'common':>7} {'recall':>7} {'precision':>9}")
    for table in KEYS:
        for form in forms[1:]:
            r = results[table][form]
            print(
                f"{table:<11} {form:<11} {r['text']:>5} {r['other']:>6} {r['common']:>7} "
                f"{r['recall']:>7.3f} {r['precision']:>9.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
