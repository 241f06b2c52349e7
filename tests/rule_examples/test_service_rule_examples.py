"""One case per example and counter-example of the service rule files, with ids= the rule id."""

from __future__ import annotations

from typing import Any

import pytest
import regex

from extractors.services import compile_service_rules, map_header
from rules import get_rules

_RULES = get_rules()
_HEADERS = _RULES.jsonl("service_headers.jsonl")
_CUES = [c for c in _RULES.jsonl("service_cues.jsonl") if "pattern" in c]


def _cases(rules: list[dict[str, Any]], key: str) -> list[Any]:
    return [pytest.param(r, text, id=r["id"]) for r in rules for text in r.get(key, [])]


@pytest.mark.parametrize(("rule", "header"), _cases(_HEADERS, "examples"))
def test_header_example_maps_to_field(rule: dict[str, Any], header: str) -> None:
    field, rule_id = map_header(header.split(" / "), compile_service_rules(_RULES))
    assert (field, rule_id) == (rule["field"], rule["id"])


@pytest.mark.parametrize(("rule", "header"), _cases(_HEADERS, "counter_examples"))
def test_header_counter_example_maps_elsewhere(rule: dict[str, Any], header: str) -> None:
    field, _ = map_header(header.split(" / "), compile_service_rules(_RULES))
    assert field != rule["field"]


def _compiled(rule: dict[str, Any]) -> regex.Pattern[str]:
    from extractors.services import NUM

    return regex.compile(rule["pattern"].replace("{NUM}", f"(?:{NUM})"), regex.IGNORECASE)


@pytest.mark.parametrize(("rule", "text"), _cases(_CUES, "examples"))
def test_cue_example_matches(rule: dict[str, Any], text: str) -> None:
    assert _compiled(rule).search(text)


@pytest.mark.parametrize(("rule", "text"), _cases(_CUES, "counter_examples"))
def test_cue_counter_example_does_not_match(rule: dict[str, Any], text: str) -> None:
    assert not _compiled(rule).search(text)


def test_catalogues_are_complete() -> None:
    rows = _RULES.table("services_25.csv")
    assert [int(r["service_id"]) for r in rows] == list(range(1, 26))
    assert all(r["name"].strip() for r in _RULES.table("services_422.csv"))
