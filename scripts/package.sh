#!/usr/bin/env bash
# Builds what a cluster needs from this checkout: .build/iotstream.zip for spark-submit
# --py-files (the job's library, with conf/job.toml and conf/states.csv inside as its defaults),
# and prints the spark-submit arguments that ship the job (see docs/cluster.md).
#
# Environment: VENV (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
-h | --help)
    cat <<USAGE
usage: ./scripts/package.sh

Builds .build/iotstream.zip (the job's library and default config, for --py-files) and prints
the spark-submit arguments that ship the job to a cluster.
USAGE
    exit 0 ;;
"") ;;
*) echo "error: package.sh takes no arguments (see -h)" >&2; exit 1 ;;
esac
[[ -x "$VENV/bin/python" ]] || die "no Python environment at $VENV — run ./scripts/setup.sh first"
[[ -f "$JARS_DIR/engine/iot-engine.jar" ]] || die "no engine jar in $JARS_DIR/engine — run ./scripts/setup.sh first"

zip="$(build_job_zip)"
version="$("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)')"
cat <<TEXT
built $zip
ship the job with:
  --jars $JARS_DIR/engine/iot-engine.jar   (the job's engine: the per-sensor step, the alerts)
  --packages org.apache.spark:spark-sql-kafka-0-10_2.13:$version   (or --jars with .jars/spark/*.jar)
  --py-files $zip
  --files my-job.toml,states.csv           (your own config, with --deploy-mode cluster;
                                            then --config my-job.toml)
  $ROOT/jobs/iot_aggregator.py BROKERS TOPIC --output-dir URI ...
TEXT
