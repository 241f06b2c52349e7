"""One case per example and counter-example of rules/figure_patterns.jsonl (ids = rule id).

Placeholders ({NUM}, {UNIT}) are expanded exactly as the extractor does, via `compile_rules`.
An example must be matched by its rule somewhere; a counter-example must not be.
"""

from __future__ import annotations

import pytest

from extractors.figures import PATTERNS_FILE, compile_rules
from rules import get_rules

RULES = get_rules()
ROWS = [row for row in RULES.jsonl(PATTERNS_FILE)]
EXAMPLES = [(row["id"], ex) for row in ROWS for ex in row.get("examples", [])]
COUNTER = [(row["id"], ex) for row in ROWS for ex in row.get("counter_examples", [])]


def test_every_rule_has_examples_and_a_unique_id() -> None:
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids))
    assert all(row.get("examples") for row in ROWS)


@pytest.mark.parametrize(("rule_id", "text"), EXAMPLES, ids=[rid for rid, _ in EXAMPLES])
def test_example_matches(rule_id: str, text: str) -> None:
    rule = compile_rules(RULES).by_id[rule_id]
    assert rule.pattern.search(text), f"{rule_id} should match {text!r}"


@pytest.mark.parametrize(("rule_id", "text"), COUNTER, ids=[rid for rid, _ in COUNTER])
def test_counter_example_does_not_match(rule_id: str, text: str) -> None:
    rule = compile_rules(RULES).by_id[rule_id]
    m = rule.pattern.search(text)
    assert m is None, f"{rule_id} should not match {text!r} (matched {m.group(0)!r})"


def test_units_file_has_no_duplicates() -> None:
    units = [row["unit"] for row in RULES.table("figure_units.tsv")]
    assert units and len(units) == len(set(units))
