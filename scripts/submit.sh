#!/usr/bin/env bash
# Runs the streaming job (jobs/iot_aggregator.py) with spark-submit: the Kafka connector jars from
# .jars/spark, the job's library as a zip (--py-files), quiet logs (conf/log4j2.properties).
#
#   ./scripts/submit.sh [JOB ARGS...]
#   ./scripts/submit.sh [SPARK-SUBMIT OPTIONS...] -- [JOB ARGS...]
#
# Job arguments and configuration are checked (and the broker's reachability) in a second or two
# before any JVM starts; a problem is reported there.
#
# Environment:
#   SPARK_MASTER   default master (default: local[*]); a --master option overrides it
#   VENV, JARS_DIR (see scripts/common.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
    cat <<USAGE
usage: ./scripts/submit.sh [SPARK-SUBMIT OPTIONS... --] [JOB ARGS...]

Runs jobs/iot_aggregator.py with spark-submit. Everything before a lone -- goes to spark-submit
(e.g. --master spark://host:7077 --executor-memory 2g); everything else goes to the job.
Job options (./scripts/submit.sh --help-job for the full list):
  [BROKERS] [TOPIC]  --output-dir DIR  --checkpoint-dir DIR  --trigger-seconds S
  --starting-offsets earliest|latest|JSON  --max-offsets-per-trigger N  --min-partitions N
  --shuffle-partitions N  --idle-timeout-seconds S  --restate-horizon-seconds S
  --max-past-seconds S  --max-future-seconds S
  --event-time-policy quarantine|adjust  --model-dir DIR  --metrics-port N  --metrics-address HOST
  --available-now
  --config FILE  --check
On a cluster: ./scripts/submit.sh --master spark://HOST:7077 -- BROKERS TOPIC --output-dir URI
(docs/cluster.md; ./scripts/cluster-start.sh starts one on this machine).
USAGE
}

spark_args=()
job_args=("$@")
for ((i = 0; i < $#; i++)); do
    if [[ "${job_args[i]}" == "--" ]]; then
        spark_args=("${job_args[@]:0:i}")
        job_args=("${job_args[@]:i+1}")
        break
    fi
done
for arg in "${job_args[@]}"; do
    case "$arg" in
    -h | --help) usage; exit 0 ;;
    --help-job) job_args=(--help) ;;
    esac
done

require_setup
export PYSPARK_PYTHON="$VENV/bin/python"
export PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
job="$ROOT/jobs/iot_aggregator.py"

# Checks (and --help / --check) in plain Python: no JVM, answers in a second or two.
if [[ " ${job_args[*]} " == *" --help "* || " ${job_args[*]} " == *" --check "* ]]; then
    exec "$VENV/bin/python" "$job" "${job_args[@]}"
fi
"$VENV/bin/python" "$job" "${job_args[@]}" --check >/dev/null

# The job's library, shipped to executors.
zip="$(build_job_zip)"

# Ctrl-C is for the Python driver alone, which stops the query between two batches; the JVM, started
# with SIGINT ignored, leaves it alone instead of tearing Spark down mid-batch from a shutdown hook.
trap '' INT
exec "$VENV/bin/spark-submit" \
    --master "${SPARK_MASTER:-local[*]}" \
    --jars "$(spark_connector_jars)" \
    --py-files "$zip" \
    --driver-java-options "-Dlog4j2.configurationFile=file:$ROOT/conf/log4j2.properties" \
    --conf spark.ui.showConsoleProgress=false \
    "${spark_args[@]}" "$job" "${job_args[@]}"
