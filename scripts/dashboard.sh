#!/usr/bin/env bash
# A live dashboard over the streaming job's Parquet tables, in the browser: a US map of the latest
# per-state averages, the batches' timeline, the anomalies, one sensor's readings with its zscore
# band, and the latest closed windows. It reads the tables with DuckDB (no Spark) and refreshes
# every few seconds while the job writes. Sets up first if needed (./scripts/setup.sh).
#
# Environment: VENV (see scripts/common.sh). Options: see -h.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/setup.sh" >/dev/null
# The dashboard package is at the top of the repository; paths given stay relative to here.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m dashboard "$@"
