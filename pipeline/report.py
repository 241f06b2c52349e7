"""`DIR/report.html`: one static, self-contained audit report for a run.

What is written:
- `report.html`: the document index (status, counts, findings), the record tables with filters,
  and the viewer; CSS and JS inline, no network (a Content-Security-Policy forbids it);
- `report_files/records.js`: one compact row per record of the corpus, loaded when the tables
  are first shown;
- `report_files/doc-<doc_id>.js`: one document's page texts and full records, loaded when the
  document is opened, so a corpus of hundreds of reports never loads all texts at once.

Data files are JSONP-style scripts (`DE06.doc(...)`), because Chromium blocks `fetch()` of
`file://` URLs. All document text reaches the page as JSON and is put into the DOM with
`textContent` only; the JSON is escaped so that `</script>` or U+2028 inside a report cannot
end a script early. Spans are located by the records' char offsets into the page text, never by
searching, and a record whose offsets do not hold its `text` is shown as such, not highlighted.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.export import FILE_MODE, atomic_write

ASSETS = Path(__file__).with_name("report_assets")
FILES_DIR = "report_files"
# Record tables in highlight priority: an inner, more specific span is drawn over a row span.
RECORD_TABLES = ("figures", "references", "services", "findings", "tables")
_UNSAFE_FILE_CHARS = re.compile(r"[^0-9A-Za-z_.-]")


def json_for_script(value: Any) -> str:
    """JSON that is safe inside `<script>` (any type) and JS source: no `<`, `>`, `&`, U+2028/9."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN/inf are not JSON: a browser would refuse the whole file
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def doc_file_name(doc_id: str) -> str:
    """The data file of one document (doc ids are hex, but never trust a name into a path)."""
    return f"doc-{_UNSAFE_FILE_CHARS.sub('_', doc_id)[:64]}.js"


def _safe_image(path: Any) -> str | None:
    """A page image path usable as `<img src>`: relative, no scheme, no parent escapes."""
    if not isinstance(path, str) or not path or ":" in path or path.startswith(("/", "\\")):
        return None
    if ".." in Path(path).parts:
        return None
    return path.replace("\\", "/")


def summarize(table: str, row: dict[str, Any]) -> str:
    """One line saying what a record is, for the tables and the span tooltips."""

    def num(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return "—" if v is None else str(v)

    if table == "figures":
        parts = [num(row.get("value")), row.get("unit") or ""]
        if row.get("denominator") is not None:
            parts = [f"{num(row.get('numerator'))}/{num(row.get('denominator'))}", row.get("unit") or ""]
        label = f" · {row['label']}" if row.get("label") else ""
        as_of = f" · as of {row['as_of']}" if row.get("as_of") else ""
        return f"{' '.join(p for p in parts if p)} ({row.get('kind')}){label}{as_of}"
    if table == "references":
        bits = [f"{row.get('type') or ''} {row.get('number') or ''}".strip()]
        bits += [str(row[k]) for k in ("date", "issuer") if row.get(k)]
        return " · ".join(bits)
    if table == "services":
        name = row.get("service_name") or row.get("name_text") or ""
        sid = f"#{row['service_id']} " if row.get("service_id") is not None else ""
        counts = ", ".join(
            f"{k} {num(row[k])}"
            for k in ("total", "online", "rate_reported", "on_time")
            if row.get(k) is not None
        )
        flags = f" ⚑ {', '.join(row['flags'])}" if row.get("flags") else ""
        return f"{sid}{name} [{row.get('source_kind')}] {counts}{flags}".strip()
    if table == "findings":
        return f"{row.get('kind')}: {row.get('message')}"
    if table == "tables":
        cells = row.get("cells") or {}
        shown = " | ".join(str(v) for v in (cells.values() if isinstance(cells, dict) else cells))
        return f"{row.get('table_id')} row {row.get('row_index')}: {shown}"
    return str(row.get("text") or "")


def _span_ok(row: dict[str, Any], pages: dict[int, str]) -> bool:
    """The SPEC invariant `page_text[char_start:char_end] == text` for this record."""
    text = pages.get(row.get("page") if isinstance(row.get("page"), int) else -1)
    start, end = row.get("char_start"), row.get("char_end")
    if text is None or not isinstance(start, int) or not isinstance(end, int):
        return False
    return 0 <= start <= end <= len(text) and text[start:end] == row.get("text")


def page_texts_from_sources(documents: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Page texts of text inputs re-read from disk, only when the bytes are still the ones the run
    hashed (otherwise the char offsets would point into a different text)."""
    from pipeline.plain_text import decode_text

    found: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        if doc.get("format") != "text" or not doc.get("source"):
            continue
        try:
            data = Path(str(doc["source"])).read_bytes()
            if hashlib.sha256(data).hexdigest() != doc.get("sha256"):
                continue
            text = decode_text(data)[0]
        except Exception:  # noqa: BLE001 - a missing or changed file just means: no text in the report
            continue
        found[str(doc["doc_id"])] = [{"page": 1, "text": text, "width": None, "height": None, "image": None}]
    return found


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


class ReportWriter:
    """`report.html` and its data files, fed one document at a time.

    Each document's `doc-<id>.js` is written as soon as it is added and its compact rows are
    streamed into `records.js`; only the small document index is held until `commit`, so a run of
    any size writes its report in constant memory.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.files = self.out_dir / FILES_DIR
        self.files.mkdir(parents=True, exist_ok=True)
        self.records_target = self.files / "records.js"
        fd, tmp = tempfile.mkstemp(prefix=".records.js.", suffix=".tmp", dir=self.files)
        os.fchmod(fd, FILE_MODE)
        self.records_tmp = Path(tmp)
        self.records = os.fdopen(fd, "w", encoding="utf-8")
        self.records.write("DE06.records([")
        self.compact_count = 0
        self.index_docs: list[dict[str, Any]] = []
        self.totals = dict.fromkeys(RECORD_TABLES, 0)
        self.written: set[str] = set()
        self.with_text: set[str] = set()

    def add_document(
        self, doc: dict[str, Any], rows: dict[str, list[dict[str, Any]]], pages: Sequence[dict[str, Any]]
    ) -> None:
        """One input: its `documents` row, its records by table, its page texts (and images)."""
        doc_id = str(doc.get("doc_id"))
        safe_pages = [
            {
                "page": int(page["page"]),
                "text": str(page.get("text") or ""),
                "width": page.get("width"),
                "height": page.get("height"),
                "image": _safe_image(page.get("image")),
                "method": str(page.get("method") or ""),
                "confidence": page["confidence"] if isinstance(page.get("confidence"), int | float) else None,
            }
            for page in pages
        ]
        page_map = {p["page"]: p["text"] for p in safe_pages}
        records = []
        counts = dict.fromkeys(RECORD_TABLES, 0)
        finding_kinds: set[str] = set()
        for table in RECORD_TABLES:
            for row in rows.get(table, []):
                summary = summarize(table, row)
                records.append({"_table": table, "_ok": _span_ok(row, page_map), "_summary": summary, **row})
                compact = [row.get("id"), table, doc_id, row.get("page"), row.get("line"), row.get("text"), summary]
                self.records.write(("," if self.compact_count else "") + json_for_script(compact))
                self.compact_count += 1
                counts[table] += 1
                if table == "findings":
                    finding_kinds.add(str(row.get("kind")))
        for table, n in counts.items():
            self.totals[table] += n
        if safe_pages:
            self.with_text.add(doc_id)  # a copy listed later shares its first copy's text
        name = doc_file_name(doc_id)
        if doc.get("duplicate_of") is None or name not in self.written:
            payload = {"doc_id": doc_id, "pages": safe_pages, "records": records}
            data = f"DE06.doc({json_for_script(doc_id)},{json_for_script(payload)});\n"
            atomic_write(self.files / name, data.encode("utf-8"))
            self.written.add(name)
        self.index_docs.append(
            {
                **doc,
                "counts": counts,
                "finding_kinds": sorted(finding_kinds),
                "has_text": doc_id in self.with_text,
                "file": f"{FILES_DIR}/{name}",
            }
        )

    def commit(self) -> Path:
        self.records.write("]);\n")
        self.records.flush()
        os.fsync(self.records.fileno())
        self.records.close()
        self.records_tmp.replace(self.records_target)
        for stale in self.files.glob("doc-*.js"):  # documents of earlier runs that are not in this one
            if stale.name not in self.written:
                stale.unlink(missing_ok=True)
        index = {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "documents": self.index_docs,
            "totals": self.totals,
            "tables": list(RECORD_TABLES),
            "records_file": f"{FILES_DIR}/records.js",
        }
        # The page goes last, so it never points at data files that are not there yet.
        path = self.out_dir / "report.html"
        atomic_write(path, render_html(index).encode("utf-8"))
        return path

    def discard(self) -> None:
        self.records.close()
        self.records_tmp.unlink(missing_ok=True)


def render_html(index: dict[str, Any]) -> str:
    """The page: static markup, inline CSS, the index as inert JSON, and the app script."""
    script = _asset("report.js")
    style = _asset("report.css")
    # The CSP is the second wall behind escaping: no network, no injected inline handlers.
    csp = (
        "default-src 'none'; "
        f"script-src '{_csp_hash(script)}' 'self'; "
        "style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'none'; form-action 'none'; base-uri 'none'"
    )
    parts = {
        "CSP": html.escape(csp, quote=True),
        "STYLE": style,
        "INDEX": json_for_script(index),
        "SCRIPT": script,
    }
    # One pass, so a "{{SCRIPT}}" written inside a report's text is never expanded.
    return re.sub(r"\{\{(CSP|STYLE|INDEX|SCRIPT)\}\}", lambda m: parts[m.group(1)], _asset("report.html"))


def write_report(
    out_dir: Path, tables: dict[str, list[dict[str, Any]]], page_texts: dict[str, list[dict[str, Any]]]
) -> Path:
    """Write `out_dir/report.html` and its `report_files/` from whole tables; returns the report's path.

    `page_texts[doc_id]` lists the pages `{"page", "text", "width", "height", "image"}` whose text
    the records' char offsets index into; `image` (optional) is relative to `out_dir`. Text inputs
    missing from `page_texts` are re-read from disk when their bytes are unchanged.
    """
    documents = list(tables.get("documents", []))
    missing = [d for d in documents if str(d.get("doc_id")) not in page_texts]
    page_texts = {**page_texts_from_sources(missing), **page_texts}
    by_doc: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for table in RECORD_TABLES:
        for row in tables.get(table, []):
            by_doc[str(row.get("doc_id"))][table].append(row)
    known = {str(d.get("doc_id")) for d in documents}
    orphans = [{"doc_id": d, "source": f"(records of unknown document {d})"} for d in by_doc if d not in known]
    writer = ReportWriter(out_dir)
    try:
        for doc in documents + orphans:
            doc_id = str(doc.get("doc_id"))
            writer.add_document(doc, by_doc.get(doc_id, {}), page_texts.get(doc_id, []))
        return writer.commit()
    except BaseException:
        writer.discard()
        raise
