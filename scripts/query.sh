#!/usr/bin/env bash
# Spark SQL over the job's Parquet output. Every table the job writes (TABLES of
# jobs/iotstream/schema.py: state_stats, batch_totals, anomalies, quarantine, window_stats, ...;
# docs/tables.md lists them) is a view under its own name, an empty one until the job writes it.
# With no SQL, prints the canned reports of jobs/iotstream/views.py.
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
