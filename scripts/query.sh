#!/usr/bin/env bash
# Spark SQL over the job's Parquet output. Each table (state_stats, batch_totals, anomalies) is a
# view; with no SQL, prints a few canned reports.
#
#   ./scripts/query.sh [--output-dir DIR] [--limit N] ["SELECT ..."]
#
# Environment: VENV (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_setup
export PYSPARK_PYTHON="$VENV/bin/python"
export PYSPARK_SUBMIT_ARGS="--driver-java-options -Dlog4j2.configurationFile=file:$ROOT/conf/log4j2.properties pyspark-shell"
exec "$VENV/bin/python" "$ROOT/jobs/query.py" "$@"
