"""Shared fixtures: the sample corpus, the gold folder, views of any text, the rule set."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.normalize import PageView, build_view
from pipeline.types import PageText, build_lines
from rules import RuleSet, get_rules

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpus" / "samples"
GOLD = ROOT.parent / "shared" / "gold"

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return get_rules()


@pytest.fixture(scope="session")
def samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt"))


@pytest.fixture(scope="session")
def gold_dir() -> Path:
    if not GOLD.is_dir():
        pytest.skip("../shared/gold is not beside this checkout")
    return GOLD


def page_text(text: str, page: int = 1, method: str = "text") -> PageText:
    """A text-input page for `text` (line k = the k-th "\\n"-separated line)."""
    return PageText(page=page, text=text, method=method, lines=build_lines(text))


@pytest.fixture
def make_view() -> Callable[[str], PageView]:
    """Build the normalized view of a snippet, as the pipeline would for a text file."""

    def make(text: str) -> PageView:
        return build_view("0" * 12, "snippet.txt", page_text(text))

    return make
