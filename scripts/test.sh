#!/usr/bin/env bash
# Runs every test: unit tests (one shared SparkSession), simulator tests, and end-to-end tests on
# a real Kafka broker (started on a free port, stopped at the end) with real spark-submit runs.
# Sets up first if needed (./scripts/setup.sh). Arguments go to pytest, e.g.
#   ./scripts/test.sh -x -k "not e2e"
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
-h | --help)
    cat <<USAGE
usage: ./scripts/test.sh [PYTEST ARGS...]

Runs every test (unit, simulator, end-to-end on a real broker and spark-submit); sets up first.
Examples: ./scripts/test.sh -x    ./scripts/test.sh -m "not e2e"    ./scripts/test.sh -k console
USAGE
    exit 0 ;;
esac

"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
