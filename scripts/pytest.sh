#!/usr/bin/env bash
# Runs the test suite with quiet, isolated Prefect settings (shared/notes/prefect.md §1d): a Prefect
# home of its own, whose local server (tests/conftest.py's `prefect_api`) is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFECT_HOME="$(mktemp -d)"
export PREFECT_HOME
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 PREFECT_LOGGING_LEVEL=WARNING
export PREFECT_SERVER_LOGGING_LEVEL=CRITICAL PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=90
export OMP_THREAD_LIMIT=1
trap '.venv/bin/python -m pipeline.prefect_server stop; rm -rf "$PREFECT_HOME"' EXIT
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
