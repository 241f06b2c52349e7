"""Shared fixtures: the sample corpus, the gold folder, views of any text, the rule set."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline import prefect_server
from pipeline.normalize import PageView, build_view
from pipeline.types import PageText, build_lines
from rules import RuleSet, get_rules

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpus" / "samples"
GOLD = ROOT.parent / "shared" / "gold"

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
# A Prefect home of the test session's own (scripts/pytest.sh sets one too): never the user's ~/.prefect.
OWN_PREFECT_HOME = "PREFECT_HOME" not in os.environ
if OWN_PREFECT_HOME:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="de06-test-prefect-")
for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
}.items():
    os.environ.setdefault(_key, _value)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One Prefect server for every test that runs a flow, exported as `PREFECT_API_URL` (what a
    user's own server looks like to de06): each run then starts in about a second instead of
    starting a server of its own. Stopped at the end of the session."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    lease = prefect_server.acquire()
    try:
        lease.wait()
        os.environ["PREFECT_API_URL"] = lease.api_url
        yield lease.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        lease.release()
        if lease.started_now:
            prefect_server.stop()


@pytest.fixture(autouse=True)
def _slow_tests_share_one_server(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slow") is not None:  # every slow test runs flows
        request.getfixturevalue("prefect_api")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if OWN_PREFECT_HOME:  # a run outside the shared fixture may have started the home's server
        prefect_server.stop()


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
