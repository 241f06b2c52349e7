"""One case per (rule id, example) and (rule id, counter-example) of the reference rules.

Adding a rule or an example to `rules/reference_patterns.jsonl` adds a test case; no code changes.
Patterns are checked as the extractor compiles them (placeholders expanded), in the rule's `mode`.
"""

from __future__ import annotations

from typing import Any

import pytest
import regex

from extractors.references import PATTERNS_FILE, compile_rules
from rules import get_rules


def _cases(kind: str) -> list[Any]:
    cases = []
    for row in get_rules().jsonl(PATTERNS_FILE):
        for text in row.get(kind, ()):
            cases.append(pytest.param(row["id"], text, id=row["id"]))
    return cases


def _matches(rule_id: str, text: str) -> bool:
    compiled = compile_rules(get_rules())
    pattern: regex.Pattern[str] = compiled.patterns[rule_id]
    mode = compiled.modes[rule_id]
    if mode == "fullmatch":
        return pattern.fullmatch(text) is not None
    if mode == "match":
        return pattern.match(text) is not None
    return pattern.search(text) is not None


@pytest.mark.parametrize(("rule_id", "text"), _cases("examples"))
def test_example_matches(rule_id: str, text: str) -> None:
    assert _matches(rule_id, text), f"{rule_id} should match {text!r}"


@pytest.mark.parametrize(("rule_id", "text"), _cases("counter_examples"))
def test_counter_example_does_not_match(rule_id: str, text: str) -> None:
    assert not _matches(rule_id, text), f"{rule_id} should not match {text!r}"


def test_every_rule_has_id_version_and_examples() -> None:
    rows = get_rules().jsonl(PATTERNS_FILE)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert regex.fullmatch(r"ref\.[a-z_]+\.v\d+", row["id"]), row["id"]
        assert row.get("examples"), f"{row['id']} has no examples"
        assert row.get("mode", "search") in {"search", "match", "fullmatch"}


def test_doc_types_and_issuers_are_well_formed() -> None:
    rules = get_rules()
    types = rules.jsonl("doc_types.jsonl")
    assert {"Công văn", "Quyết định", "Nghị định", "Thông tư", "Thông tư liên tịch", "Kế hoạch", "Luật"} <= {
        t["type"] for t in types
    }
    for t in types:
        assert regex.fullmatch(r"doctype\.[a-z_]+\.v\d+", t["id"]) and t["spellings"], t
    issuers = {r["code"]: r["issuer"] for r in rules.table("issuer_symbols.tsv")}
    assert issuers["TTg"] == "Thủ tướng Chính phủ" and issuers["CP"] == "Chính phủ"
    assert all(code and name for code, name in issuers.items())
