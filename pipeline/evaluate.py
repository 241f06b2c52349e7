"""Score de06 output tables against hand-checked gold files (`de06 eval`).

Pure functions only: this module neither runs the pipeline nor knows about Prefect. The caller
loads the gold (`load_gold`), obtains the predicted tables exactly as written to `DIR/<table>.json`
(`load_predicted`), maps each predicted `doc_id` to the gold's bare file name (`doc_names`), then
calls `score()` and prints `format_table()` / writes `EvalReport.to_json()` to `eval.json`.

Matching (SPEC.md, "Gold files"):
- a gold record and a prediction can pair only when they are in the same document, their 1-based
  `line`s differ by at most `LINE_TOLERANCE`, and their keys agree:
  - references: `number` without whitespace, "/" and dashes, case-folded; for numberless laws
    (`number` null) the type plus the whitespace-collapsed, case-folded `text`;
  - figures: the same `value` (floats, relative tolerance);
  - services: `service_id` + gold `source` == predicted `source_kind`; rows outside the 25
    (`service_id` null) must also agree on the normalized name;
  - documents: one record per document, no line.
- pairs are assigned one-to-one, greedily, closest lines first (ties: document order), so
  repeated mentions on nearby lines pair in order; a gold record greedy left unpaired then gets an
  augmenting path if one exists (maximum matching, minimal re-pairing).
- predictions for documents the gold does not cover are ignored, not counted as false positives.
- figures: FIGURES.md annotates some files and line ranges only, and skips tab rows. A prediction
  is scored when it pairs with a `figure`/`ambiguous` record within the tolerance or sits on a line
  that holds gold; anything else is ignored. A prediction paired with `ambiguous` gold is neither
  TP nor FP, and unpredicted ambiguous gold is no miss. A prediction overlapping `not_figure` gold
  is a false positive, also counted as `not_figure_emitted`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from pipeline.errors import UsageError

TABLES: tuple[str, ...] = ("documents", "references", "figures", "services")
LINE_TOLERANCE = 2
# Relative tolerance for numeric equality: gold values are parsed from the same digits, so anything
# beyond float noise is a real difference ("85,29" vs "85,2").
_REL_TOL = 1e-6

SERVICE_NUMERIC_FIELDS: tuple[str, ...] = (
    "total",
    "online",
    "online_citizen",
    "online_business",
    "rate_reported",
    "on_time",
    "overdue",
    "rejected",
    "level",
)
DOCUMENT_FIELDS: tuple[str, ...] = (
    "doc_type",
    "own_number",
    "locality",
    "issue_date",
    "period_start",
    "period_end",
    "signer",
    "title",
)

Record = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Normalization


_WS_RE = re.compile(r"\s+")
# SPEC: "number with whitespace, `/` and dashes ignored". Hyphen look-alikes are included because
# PDF text layers produce them for the same printed dash.
_NUMBER_DROP_RE = re.compile(r"[\s/\-\u2010\u2011\u2012\u2013\u2014\u2212]")
_MARKUP_RE = re.compile(r"</?[A-Za-z]+\s*/?>|\*")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def norm_number(number: str | None) -> str | None:
    """Reference key: no whitespace, "/" or dashes, case-folded ("104/2022/NĐ-CP" → "1042022nđcp")."""
    if number is None:
        return None
    return _NUMBER_DROP_RE.sub("", _nfc(number)).casefold()


def norm_text(text: str | None) -> str | None:
    """Whitespace runs collapsed to one space, stripped, case-folded (gold wraps spans with "\\n\\n")."""
    if text is None:
        return None
    return _WS_RE.sub(" ", _nfc(str(text))).strip().casefold()


def norm_name(text: str | None) -> str | None:
    """Service names: like `norm_text`, plus markup (`<i>`, `**`) and edge punctuation removed."""
    if text is None:
        return None
    cleaned = norm_text(_MARKUP_RE.sub("", _nfc(str(text))))
    return cleaned.strip(" .,;:") if cleaned is not None else None


def _compact(text: str | None) -> str | None:
    """Whitespace removed, case kept: how SPEC writes `number` ("06 /BC-…" → "06/BC-…")."""
    if text is None:
        return None
    return _WS_RE.sub("", _nfc(str(text)))


def _to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def numbers_equal(a: Any, b: Any) -> bool:
    """Both null, or both numeric and equal within a relative tolerance."""
    if a is None or b is None:
        return a is None and b is None
    fa, fb = _to_float(a), _to_float(b)
    if fa is None or fb is None:
        return False
    return math.isclose(fa, fb, rel_tol=_REL_TOL, abs_tol=1e-9)


def _text_equal(a: Any, b: Any) -> bool:
    return norm_text(a) == norm_text(b)


def _compact_equal(a: Any, b: Any) -> bool:
    return _compact(a) == _compact(b)


def _exact_equal(a: Any, b: Any) -> bool:
    return (None if a is None else str(a)) == (None if b is None else str(b))


# ---------------------------------------------------------------------------------------------
# Report


@dataclass(slots=True)
class FieldScore:
    """How often a field agrees among matched pairs where it was compared."""

    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float | None:
        """None when no pair was compared (e.g. no gold ratio was matched)."""
        return self.correct / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {"correct": self.correct, "total": self.total, "accuracy": _round(self.accuracy)}


@dataclass(slots=True)
class TableScore:
    """Counts, field accuracies and the evidence lists for one table."""

    table: str
    gold: int = 0
    """Gold records that can be missed (figures: class `figure` only)."""
    predicted: int = 0
    """Predictions in scope (resolved to an annotated document; figures: on an annotated line)."""
    ignored: int = 0
    """Predictions out of scope: unknown or unannotated document, or (figures) unannotated line."""
    tp: int = 0
    fp: int = 0
    fn: int = 0
    fields: dict[str, FieldScore] = field(default_factory=dict)
    misses: list[Record] = field(default_factory=list)
    false_positives: list[Record] = field(default_factory=list)
    field_errors: list[Record] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 0.0 when nothing was predicted (zero_division=0, as in sklearn)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 0.0 when there is no gold."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def field_score(self, name: str) -> FieldScore:
        return self.fields.setdefault(name, FieldScore())

    def to_json(self) -> dict[str, Any]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "ignored": self.ignored,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "fields": {name: fs.to_json() for name, fs in self.fields.items()},
            "extra": self.extra,
            "misses": self.misses,
            "false_positives": self.false_positives,
            "field_errors": self.field_errors,
        }


@dataclass(slots=True)
class EvalReport:
    """One `TableScore` per gold table present, in `TABLES` order."""

    tables: dict[str, TableScore] = field(default_factory=dict)
    line_tolerance: int = LINE_TOLERANCE

    def to_json(self) -> dict[str, Any]:
        """The content of `eval.json` (JSON-serializable)."""
        return {
            "line_tolerance": self.line_tolerance,
            "tables": {name: ts.to_json() for name, ts in self.tables.items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# ---------------------------------------------------------------------------------------------
# Loading


def load_gold(gold_dir: Path) -> dict[str, list[Record]]:
    """Read `<table>.jsonl` for each of `TABLES` present in `gold_dir`; missing files are skipped.

    Raises UsageError when the folder does not exist, holds none of the files, or a line is not a
    JSON object with a `doc`.
    """
    gold_dir = Path(gold_dir)
    if not gold_dir.is_dir():
        raise UsageError(
            f"gold folder {gold_dir} does not exist; pass the folder holding references.jsonl etc."
        )
    gold: dict[str, list[Record]] = {}
    for table in TABLES:
        path = gold_dir / f"{table}.jsonl"
        if not path.is_file():
            continue
        records: list[Record] = []
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{lineno}: not valid JSON ({e.msg}); fix or remove that line") from e
            if not isinstance(rec, dict) or not isinstance(rec.get("doc"), str):
                raise UsageError(f"{path}:{lineno}: each line must be a JSON object with a string 'doc'")
            records.append(rec)
        gold[table] = records
    if not gold:
        raise UsageError(
            f"no gold files in {gold_dir}; expected one of " + ", ".join(f"{t}.jsonl" for t in TABLES)
        )
    return gold


def load_predicted(out_dir: Path, tables: Iterable[str] = TABLES) -> dict[str, list[Record]]:
    """Read `out_dir/<table>.json` (a JSON array, as de06 writes it); missing tables give []."""
    predicted: dict[str, list[Record]] = {}
    for table in tables:
        path = Path(out_dir) / f"{table}.json"
        if not path.is_file():
            predicted[table] = []
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise UsageError(f"{path} is not valid JSON ({e.msg}); re-run `de06 run`") from e
        if not isinstance(data, list):
            raise UsageError(f"{path} must hold a JSON array of records; re-run `de06 run`")
        predicted[table] = [r for r in data if isinstance(r, dict)]
    return predicted


def gold_doc_names(gold: Mapping[str, list[Record]]) -> set[str]:
    """Every `doc` the gold mentions: the inputs `de06 eval` must run."""
    return {rec["doc"] for records in gold.values() for rec in records}


def doc_names_from_documents(documents: Iterable[Record]) -> dict[str, str]:
    """doc_id → bare file name of `source`, from a predicted `documents` table."""
    return {
        str(rec["doc_id"]): PurePath(str(rec["source"]).replace("\\", "/")).name
        for rec in documents
        if rec.get("doc_id") and rec.get("source")
    }


# ---------------------------------------------------------------------------------------------
# Assignment


@dataclass(slots=True)
class _Item:
    doc: str
    line: int | None
    order: tuple[int, ...]
    rec: Record


def _line(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _gold_items(records: Iterable[Record]) -> list[_Item]:
    items = [
        _Item(
            rec["doc"],
            _line(rec.get("line")),
            (_line(rec.get("line")) or 0, int(rec.get("start") or 0), i),
            rec,
        )
        for i, rec in enumerate(records)
    ]
    return sorted(items, key=lambda it: (it.doc, it.order))


def _pred_items(
    records: Iterable[Record], doc_names: Mapping[str, str], annotated: set[str]
) -> tuple[list[_Item], int]:
    """Resolve each prediction's document; those outside the annotated set are counted as ignored."""
    items: list[_Item] = []
    ignored = 0
    for i, rec in enumerate(records):
        doc = doc_names.get(str(rec.get("doc_id")))
        if doc is None and rec.get("source"):
            # Fallback when the caller's map lacks this doc_id: the gold names inputs by file name.
            doc = PurePath(str(rec["source"]).replace("\\", "/")).name
        if doc not in annotated:
            ignored += 1
            continue
        line = _line(rec.get("line"))
        items.append(_Item(doc, line, (line or 0, _line(rec.get("char_start")) or 0, i), rec))
    return items, ignored


def _assign(
    golds: list[_Item],
    preds: list[_Item],
    compatible: Callable[[Record, Record], bool],
    tolerance: int = LINE_TOLERANCE,
) -> list[tuple[int, int]]:
    """One-to-one pairing, closest lines first; returns sorted (gold index, pred index) pairs.

    Greedy by line distance; ties go in document order of the gold, then of the prediction, so
    the k-th of several equal mentions on a line pairs with the k-th prediction. Greedy alone can
    strand a record (gold at L and L+2, predictions at L-2 and L: L↔L leaves L+2 alone), so
    unpaired gold then tries an augmenting path, which only re-pairs what it must.
    """
    by_line: dict[tuple[str, int], list[int]] = defaultdict(list)
    for pi, p in enumerate(preds):
        if p.line is not None:
            by_line[(p.doc, p.line)].append(pi)
    candidates: list[tuple[int, tuple[int, ...], tuple[int, ...], int, int]] = []
    for gi, g in enumerate(golds):
        if g.line is None:
            continue
        for line in range(g.line - tolerance, g.line + tolerance + 1):
            for pi in by_line.get((g.doc, line), ()):
                if compatible(g.rec, preds[pi].rec):
                    candidates.append((abs(line - g.line), g.order, preds[pi].order, gi, pi))
    candidates.sort()
    adjacent: dict[int, list[int]] = defaultdict(list)
    gold_to_pred: dict[int, int] = {}
    pred_to_gold: dict[int, int] = {}
    for _, _, _, gi, pi in candidates:
        adjacent[gi].append(pi)  # closest first, thanks to the sort
        if gi not in gold_to_pred and pi not in pred_to_gold:
            gold_to_pred[gi] = pi
            pred_to_gold[pi] = gi

    def augment(gi: int, seen: set[int]) -> bool:
        for pi in adjacent[gi]:
            if pi in seen:
                continue
            seen.add(pi)
            owner = pred_to_gold.get(pi)
            if owner is None or augment(owner, seen):
                gold_to_pred[gi] = pi
                pred_to_gold[pi] = gi
                return True
        return False

    for gi in sorted(adjacent, key=lambda i: golds[i].order):
        if gi not in gold_to_pred:
            augment(gi, set())
    return sorted(gold_to_pred.items())


def _nearest_line(g: _Item, preds: list[_Item], same_key: Callable[[Record, Record], bool]) -> int | None:
    """Line of the closest same-key prediction in the document, to explain a miss ("line off by 3")."""
    best: tuple[int, int] | None = None
    for p in preds:
        if p.doc == g.doc and p.line is not None and g.line is not None and same_key(g.rec, p.rec):
            cand = (abs(p.line - g.line), p.line)
            if best is None or cand < best:
                best = cand
    return None if best is None else best[1]


def _fp_entry(p: _Item, **extra: Any) -> Record:
    entry: Record = {
        "doc": p.doc,
        "line": p.line,
        "id": p.rec.get("id"),
        "text": p.rec.get("text"),
    }
    entry.update(extra)
    return entry


def _miss_entry(g: _Item, keys: Iterable[str], nearest: int | None) -> Record:
    entry: Record = {"doc": g.doc, "line": g.line}
    entry.update({k: g.rec.get(k) for k in keys if k in g.rec})
    if nearest is not None:
        entry["nearest_same_key_line"] = nearest
    return entry


def _compare(
    ts: TableScore,
    name: str,
    g: _Item,
    p: _Item,
    gold_value: Any,
    pred_value: Any,
    equal: Callable[[Any, Any], bool],
) -> bool:
    ok = equal(gold_value, pred_value)
    fs = ts.field_score(name)
    fs.total += 1
    if ok:
        fs.correct += 1
    else:
        ts.field_errors.append(
            {
                "doc": g.doc,
                "line": g.line,
                "pred_line": p.line,
                "id": p.rec.get("id"),
                "field": name,
                "gold": gold_value,
                "predicted": pred_value,
            }
        )
    return ok


def _finish(ts: TableScore, golds: list[_Item], preds: list[_Item], pairs: list[tuple[int, int]]) -> None:
    ts.gold = len(golds)
    ts.predicted = len(preds)
    ts.tp = len(pairs)
    ts.fn = len(golds) - len(pairs)
    ts.fp = len(preds) - len(pairs)


# ---------------------------------------------------------------------------------------------
# Tables


def _ref_key(rec: Record) -> Hashable:
    number = rec.get("number")
    if number is not None and str(number).strip():
        return ("number", norm_number(str(number)))
    # Numberless laws: type + text; the text carries the law's name.
    return ("law", norm_text(rec.get("type")), norm_text(rec.get("text")))


def _same_ref(g: Record, p: Record) -> bool:
    return _ref_key(g) == _ref_key(p)


def _score_references(gold: list[Record], preds: list[_Item]) -> TableScore:
    ts = TableScore("references")
    golds = _gold_items(gold)
    pairs = _assign(golds, preds, _same_ref)
    _finish(ts, golds, preds, pairs)
    date_null_gold: list[Record] = []
    for gi, pi in pairs:
        g, p = golds[gi], preds[pi]
        gr, pr = g.rec, p.rec
        _compare(ts, "type", g, p, gr.get("type"), pr.get("type"), _text_equal)
        if gr.get("number") is not None:
            _compare(ts, "number", g, p, gr.get("number"), pr.get("number"), _compact_equal)
        # Strict: README R5 says a date written before the reference is arguably right too; those
        # cases are listed in extra["date_gold_null_predicted"] instead of being accepted.
        _compare(ts, "date", g, p, gr.get("date"), pr.get("date"), _exact_equal)
        if gr.get("date") is None and pr.get("date") is not None:
            date_null_gold.append(
                {"doc": g.doc, "line": g.line, "number": gr.get("number"), "predicted": pr.get("date")}
            )
        _compare(ts, "issuer", g, p, gr.get("issuer"), pr.get("issuer"), _text_equal)
        if gr.get("issuer") is not None:
            _compare(ts, "issuer_explicit", g, p, gr.get("issuer"), pr.get("issuer"), _text_equal)
        # The gold never infers an issuer from the symbol, so compare only "của …" issuers.
        pred_explicit = None if pr.get("issuer_source") == "symbol" else pr.get("issuer")
        _compare(ts, "issuer_as_gold", g, p, gr.get("issuer"), pred_explicit, _text_equal)
        _compare(ts, "subject", g, p, gr.get("subject"), pr.get("subject"), _text_equal)
    matched_g = {gi for gi, _ in pairs}
    matched_p = {pi for _, pi in pairs}
    for gi, g in enumerate(golds):
        if gi not in matched_g:
            ts.misses.append(_miss_entry(g, ("type", "number", "text"), _nearest_line(g, preds, _same_ref)))
    for pi, p in enumerate(preds):
        if pi not in matched_p:
            ts.false_positives.append(_fp_entry(p, type=p.rec.get("type"), number=p.rec.get("number")))
    ts.extra["date_gold_null_predicted"] = date_null_gold
    return ts


def _same_value(g: Record, p: Record) -> bool:
    return g.get("value") is not None and numbers_equal(g.get("value"), p.get("value"))


def _squash(text: Any) -> str:
    return "" if text is None else _WS_RE.sub("", _nfc(str(text))).casefold()


def _overlaps_not_figure(g: Record, p: Record) -> bool:
    """A prediction hits a not_figure when one span contains the other (e.g. "2023" in "25/01/2023")."""
    gt, pt = _squash(g.get("text")), _squash(p.get("text"))
    return bool(gt and pt) and (gt in pt or pt in gt)


def _score_figures(gold: list[Record], preds: list[_Item]) -> TableScore:
    ts = TableScore("figures")
    annotated_lines = {(r["doc"], _line(r.get("line"))) for r in gold}
    positives = _gold_items(r for r in gold if r.get("class") == "figure")
    ambiguous = _gold_items(r for r in gold if r.get("class") == "ambiguous")
    negatives = _gold_items(r for r in gold if r.get("class") == "not_figure")

    # Every prediction of an annotated document may pair with a figure or ambiguous record within
    # the line tolerance (so an off-by-one line still counts). One joint pass, closest first: a
    # prediction next to an ambiguous record must not be credited to a farther true figure.
    targets = positives + ambiguous
    joint = _assign(targets, preds, _same_value)
    pairs = [(gi, pi) for gi, pi in joint if gi < len(positives)]
    amb_pairs = [(gi - len(positives), pi) for gi, pi in joint if gi >= len(positives)]
    taken = {pi for _, pi in pairs}
    amb_taken = {pi for _, pi in amb_pairs}
    rest = [pi for pi in range(len(preds)) if pi not in taken and pi not in amb_taken]
    # What is left counts only on a line that holds gold: FIGURES.md annotates some files and
    # ranges only and skips tab rows, so anything elsewhere is unknown, not false.
    out_of_scope = {pi for pi in rest if (preds[pi].doc, preds[pi].line) not in annotated_lines}
    rest = [pi for pi in rest if pi not in out_of_scope]
    neg_pairs = _assign(negatives, [preds[pi] for pi in rest], _overlaps_not_figure)
    neg_of_pred = {rest[pi]: negatives[gi] for gi, pi in neg_pairs}

    ts.gold = len(positives)
    ts.ignored = len(out_of_scope)
    ts.predicted = len(preds) - len(amb_taken) - len(out_of_scope)
    ts.tp = len(pairs)
    ts.fn = len(positives) - len(pairs)
    ts.fp = ts.predicted - ts.tp

    for gi, pi in pairs:
        g, p = positives[gi], preds[pi]
        _compare(ts, "kind", g, p, g.rec.get("kind"), p.rec.get("kind"), _exact_equal)
        _compare(ts, "unit", g, p, g.rec.get("unit"), p.rec.get("unit"), _text_equal)
        for name in ("numerator", "denominator"):
            if name in g.rec:
                _compare(ts, name, g, p, g.rec.get(name), p.rec.get(name), numbers_equal)
    matched_g = {gi for gi, _ in pairs}
    for gi, g in enumerate(positives):
        if gi not in matched_g:
            ts.misses.append(
                _miss_entry(g, ("text", "value", "kind", "unit"), _nearest_line(g, preds, _same_value))
            )
    for pi, p in enumerate(preds):
        if pi in taken or pi in amb_taken or pi in out_of_scope:
            continue
        neg = neg_of_pred.get(pi)
        if neg is not None:
            ts.false_positives.append(
                _fp_entry(
                    p,
                    value=p.rec.get("value"),
                    reason="not_figure",
                    gold_text=neg.rec.get("text"),
                    subtype=neg.rec.get("subtype"),
                )
            )
        else:
            ts.false_positives.append(_fp_entry(p, value=p.rec.get("value"), reason="unmatched"))
    by_subtype = Counter(str(negatives[gi].rec.get("subtype")) for gi, _ in neg_pairs)
    ts.extra.update(
        {
            "not_figure_total": len(negatives),
            "not_figure_emitted": len(neg_pairs),
            "not_figure_emitted_rate": _round(len(neg_pairs) / len(negatives)) if negatives else None,
            "not_figure_emitted_by_subtype": dict(sorted(by_subtype.items())),
            "ambiguous_total": len(ambiguous),
            "ambiguous_matched": len(amb_pairs),
        }
    )
    return ts


def _service_id(value: Any) -> int | None:
    f = _to_float(value)
    return None if f is None else int(f)


def _same_service(g: Record, p: Record) -> bool:
    if _service_id(g.get("service_id")) != _service_id(p.get("service_id")):
        return False
    if g.get("source") != p.get("source_kind"):
        return False
    if g.get("service_id") is None:
        # The 422 rows have no id and several lie within ±2 lines: the name decides.
        gold_name = norm_name(g.get("name"))
        return gold_name is not None and gold_name in {
            norm_name(p.get("name_text")),
            norm_name(p.get("service_name")),
        }
    return True


def _score_services(gold: list[Record], preds: list[_Item]) -> TableScore:
    ts = TableScore("services")
    golds = _gold_items(gold)
    pairs = _assign(golds, preds, _same_service)
    _finish(ts, golds, preds, pairs)
    flag_recall: dict[str, FieldScore] = {}
    for gi, pi in pairs:
        g, p = golds[gi], preds[pi]
        gr, pr = g.rec, p.rec
        _compare(ts, "catalog", g, p, gr.get("catalog"), pr.get("catalog"), _exact_equal)
        # Only the numbers the row states: an absent gold key means "not given", not null.
        for name in SERVICE_NUMERIC_FIELDS:
            if name in gr:
                _compare(ts, name, g, p, gr.get(name), pr.get(name), numbers_equal)
        if "agency" in gr:
            _compare(ts, "agency", g, p, gr.get("agency"), pr.get("agency"), _text_equal)
        gold_flags = sorted(set(gr.get("flags") or ()))
        pred_flags = sorted(set(pr.get("flags") or ()))
        # "flags" is right when every gold flag is raised; extra predicted flags (e.g. sum_mismatch,
        # which the gold does not use) are not held against the row.
        _compare(ts, "flags", g, p, gold_flags, pred_flags, lambda a, b: set(a) <= set(b))
        for flag in gold_flags:
            fs = flag_recall.setdefault(flag, FieldScore())
            fs.total += 1
            fs.correct += flag in pred_flags
    matched_g = {gi for gi, _ in pairs}
    matched_p = {pi for _, pi in pairs}
    for gi, g in enumerate(golds):
        if gi not in matched_g:
            ts.misses.append(
                _miss_entry(
                    g, ("service_id", "catalog", "source", "name"), _nearest_line(g, preds, _same_service)
                )
            )
    for pi, p in enumerate(preds):
        if pi not in matched_p:
            ts.false_positives.append(
                _fp_entry(
                    p,
                    service_id=p.rec.get("service_id"),
                    source_kind=p.rec.get("source_kind"),
                    name_text=p.rec.get("name_text"),
                )
            )
    total = FieldScore(
        sum(f.correct for f in flag_recall.values()), sum(f.total for f in flag_recall.values())
    )
    ts.extra["flag_recall"] = total.to_json()
    ts.extra["flag_recall_by_flag"] = {k: v.to_json() for k, v in sorted(flag_recall.items())}
    return ts


_DOCUMENT_EQUAL: dict[str, Callable[[Any, Any], bool]] = {
    "own_number": _compact_equal,
    "issue_date": _exact_equal,
    "period_start": _exact_equal,
    "period_end": _exact_equal,
}


def _score_documents(gold: list[Record], preds: list[_Item]) -> TableScore:
    ts = TableScore("documents")
    golds = _gold_items(gold)
    # One record per document: pair by document alone, first prediction wins.
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for gi, g in enumerate(golds):
        for pi, p in enumerate(preds):
            if pi not in used and p.doc == g.doc:
                pairs.append((gi, pi))
                used.add(pi)
                break
    _finish(ts, golds, preds, pairs)
    for gi, pi in pairs:
        g, p = golds[gi], preds[pi]
        names = [f for f in DOCUMENT_FIELDS if f in g.rec] + sorted(
            k for k in g.rec if k not in DOCUMENT_FIELDS and k not in ("doc", "line")
        )
        for name in names:
            _compare(ts, name, g, p, g.rec.get(name), p.rec.get(name), _DOCUMENT_EQUAL.get(name, _text_equal))
    matched_g = {gi for gi, _ in pairs}
    for gi, g in enumerate(golds):
        if gi not in matched_g:
            ts.misses.append({"doc": g.doc})
    for pi, p in enumerate(preds):
        if pi not in used:
            ts.false_positives.append(
                {"doc": p.doc, "doc_id": p.rec.get("doc_id"), "source": p.rec.get("source")}
            )
    return ts


_SCORERS: dict[str, Callable[[list[Record], list[_Item]], TableScore]] = {
    "documents": _score_documents,
    "references": _score_references,
    "figures": _score_figures,
    "services": _score_services,
}


def score(
    gold: dict[str, list[dict[str, Any]]],
    predicted: dict[str, list[dict[str, Any]]],
    doc_names: dict[str, str],
) -> EvalReport:
    """Score each gold table present against `predicted[table]` (missing → no predictions).

    `doc_names` maps predicted `doc_id` → gold `doc` (bare input file name). Predictions whose
    document is not mentioned anywhere in the gold are ignored (`TableScore.ignored`).
    """
    annotated = gold_doc_names(gold)
    report = EvalReport()
    for table in TABLES:
        if table not in gold:
            continue
        preds, ignored = _pred_items(predicted.get(table, []), doc_names, annotated)
        ts = _SCORERS[table](gold[table], preds)
        ts.ignored += ignored
        report.tables[table] = ts
    return report


# ---------------------------------------------------------------------------------------------
# Display


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def format_table(report: EvalReport) -> str:
    """A compact plain-text summary: one row per table, then field accuracies and extras."""
    header = f"{'table':<11} {'gold':>5} {'pred':>5} {'TP':>5} {'FP':>5} {'FN':>5} {'prec':>6} {'rec':>6} {'F1':>6}"
    lines = [header, "-" * len(header)]
    for name, ts in report.tables.items():
        lines.append(
            f"{name:<11} {ts.gold:>5} {ts.predicted:>5} {ts.tp:>5} {ts.fp:>5} {ts.fn:>5} "
            f"{_pct(ts.precision):>6} {_pct(ts.recall):>6} {_pct(ts.f1):>6}"
        )
    for name, ts in report.tables.items():
        lines.append("")
        lines.append(
            f"{name}: field accuracy among {ts.tp} matches"
            + (f" ({ts.ignored} predictions out of scope)" if ts.ignored else "")
        )
        for fname, fs in ts.fields.items():
            lines.append(f"  {fname:<18} {_pct(fs.accuracy):>6}  ({fs.correct}/{fs.total})")
        if name == "figures":
            lines.append(
                f"  not_figure emitted {ts.extra['not_figure_emitted']}/{ts.extra['not_figure_total']}"
                f" (rate {_pct(ts.extra['not_figure_emitted_rate'])}),"
                f" ambiguous matched {ts.extra['ambiguous_matched']}/{ts.extra['ambiguous_total']}"
            )
        elif name == "services":
            fr = ts.extra["flag_recall"]
            lines.append(f"  flag recall        {_pct(fr['accuracy']):>6}  ({fr['correct']}/{fr['total']})")
        elif name == "references" and ts.extra["date_gold_null_predicted"]:
            lines.append(
                f"  dates predicted where gold has none: {len(ts.extra['date_gold_null_predicted'])}"
            )
    return "\n".join(lines)
