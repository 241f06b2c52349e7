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
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.export import atomic_write

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


def pages_payload(pages: Sequence[Any]) -> list[dict[str, Any]]:
    """`page_texts` entries from `PageText` objects (images are added by whoever renders them)."""
    return [
        {"page": p.page, "text": p.text, "width": p.width, "height": p.height, "image": None} for p in pages
    ]


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


def build_report_data(
    tables: dict[str, list[dict[str, Any]]], page_texts: dict[str, list[dict[str, Any]]]
) -> tuple[dict[str, Any], list[list[Any]], dict[str, dict[str, Any]]]:
    """(index embedded in the page, compact record rows, per-document payloads)."""
    documents = list(tables.get("documents", []))
    by_doc: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for table in RECORD_TABLES:
        for row in tables.get(table, []):
            by_doc[str(row.get("doc_id"))].append((table, row))

    compact: list[list[Any]] = []
    payloads: dict[str, dict[str, Any]] = {}
    doc_ids = list(dict.fromkeys([str(d.get("doc_id")) for d in documents] + list(by_doc)))
    for doc_id in doc_ids:
        pages = []
        for page in page_texts.get(doc_id, []):
            pages.append(
                {
                    "page": int(page["page"]),
                    "text": str(page.get("text") or ""),
                    "width": page.get("width"),
                    "height": page.get("height"),
                    "image": _safe_image(page.get("image")),
                }
            )
        page_map = {p["page"]: p["text"] for p in pages}
        records = []
        for table, row in by_doc.get(doc_id, []):
            ok = _span_ok(row, page_map)
            records.append({"_table": table, "_ok": ok, "_summary": summarize(table, row), **row})
            compact.append(
                [
                    row.get("id"),
                    table,
                    doc_id,
                    row.get("page"),
                    row.get("line"),
                    row.get("text"),
                    summarize(table, row),
                ]
            )
        payloads[doc_id] = {"doc_id": doc_id, "pages": pages, "records": records}

    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(RECORD_TABLES, 0))
    finding_kinds: dict[str, list[str]] = defaultdict(list)
    for doc_id, rows in by_doc.items():
        for table, row in rows:
            counts[doc_id][table] += 1
            if table == "findings":
                finding_kinds[doc_id].append(str(row.get("kind")))
    index_docs = []
    known = {str(d.get("doc_id")) for d in documents}
    for doc in documents + [
        {"doc_id": d, "source": f"(records of unknown document {d})"} for d in doc_ids if d not in known
    ]:
        doc_id = str(doc.get("doc_id"))
        index_docs.append(
            {
                **doc,
                "counts": counts[doc_id],
                "finding_kinds": sorted(set(finding_kinds[doc_id])),
                "has_text": bool(payloads.get(doc_id, {}).get("pages")),
                "file": f"{FILES_DIR}/{doc_file_name(doc_id)}",
            }
        )
    totals = {t: len(tables.get(t, [])) for t in RECORD_TABLES}
    index = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "documents": index_docs,
        "totals": totals,
        "tables": list(RECORD_TABLES),
        "records_file": f"{FILES_DIR}/records.js",
    }
    return index, compact, payloads


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
    """Write `out_dir/report.html` and its `report_files/`; returns the report's path.

    `page_texts[doc_id]` lists the pages `{"page", "text", "width", "height", "image"}` whose text
    the records' char offsets index into; `image` (optional) is relative to `out_dir`. Text inputs
    missing from `page_texts` are re-read from disk when their bytes are unchanged.
    """
    out_dir = Path(out_dir)
    missing = [d for d in tables.get("documents", []) if str(d.get("doc_id")) not in page_texts]
    page_texts = {**page_texts_from_sources(missing), **page_texts}
    index, compact, payloads = build_report_data(tables, page_texts)
    files = out_dir / FILES_DIR
    written = set()
    for doc_id, payload in payloads.items():
        name = doc_file_name(doc_id)
        data = f"DE06.doc({json_for_script(doc_id)},{json_for_script(payload)});\n"
        atomic_write(files / name, data.encode("utf-8"))
        written.add(name)
    atomic_write(files / "records.js", f"DE06.records({json_for_script(compact)});\n".encode())
    written.add("records.js")
    for stale in files.glob("doc-*.js"):  # documents of earlier runs that are not in this one
        if stale.name not in written:
            stale.unlink(missing_ok=True)
    # The page goes last, so it never points at data files that are not there yet.
    path = out_dir / "report.html"
    atomic_write(path, render_html(index).encode("utf-8"))
    return path
