#!/usr/bin/env bash
# Runs every test: the engine's JUnit tests (through setup.sh's build), the import contracts,
# unit tests (one shared SparkSession), simulator tests, and end-to-end tests on
# a real Kafka broker (started on a free port, stopped at the end) with real spark-submit runs,
# and the dashboard in headless Chromium. Sets up first if needed (./scripts/setup.sh), and
# installs Debian's chromium and chromium-driver when missing (needs root). Arguments go to pytest, e.g.
#   ./scripts/test.sh -x -k "not e2e"
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
-h | --help)
    cat <<USAGE
usage: ./scripts/test.sh [PYTEST ARGS...]

Runs every test (unit, simulator, end-to-end on a real broker and spark-submit); sets up first.
Examples: ./scripts/test.sh -x    ./scripts/test.sh -m "not e2e"    ./scripts/test.sh -k console
Runs in two processes (pytest-xdist, a test file each at a time); -n 0 runs in one.
USAGE
    exit 0 ;;
esac

"$ROOT/scripts/setup.sh"
# The dashboard's browser test drives Debian's headless Chromium through its chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    [[ $(id -u) == 0 ]] ||
        die "Chromium is missing for the dashboard's browser test: apt-get install chromium chromium-driver (as root)"
    echo "test: installing Debian's chromium and chromium-driver with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
cd "$ROOT"
# The architecture's contracts (pyproject.toml [tool.importlinter], drawn in docs/development.md).
echo "test: checking the import contracts (lint-imports)"
mkdir -p "$ROOT/.build"
PYTHONPATH="$PROJECT_PYTHONPATH" "$VENV/bin/lint-imports" --no-cache >"$ROOT/.build/lint-imports.log" 2>&1 || {
    sed -n '/Broken contracts/,$p' "$ROOT/.build/lint-imports.log" >&2
    die "an import breaks the architecture's contracts (pyproject.toml [tool.importlinter]); full report: .build/lint-imports.log"
}
# Two pytest processes (pytest-xdist), each given whole test files (a module's job runs are
# shared by its tests): much of a test's time is waiting (JVM start-up, a batch's commit, the
# broker), so two use the cores better (docs/development.md has the figures). Each process
# starts its own broker and SparkSession. "-n 0" (after the other arguments) runs in one.
exec "$VENV/bin/python" -m pytest -n 2 --dist loadfile "$@"
