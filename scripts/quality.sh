#!/usr/bin/env bash
# Detection quality, measured: the simulator writes a labelled stream (spikes, impossible values,
# stuck, drifting and silent sensors, sensors whose level shifts for good) into a private Kafka
# broker, the job drains it with spark-submit, and scripts/quality.py prints precision and recall
# per detector and the goals (Markdown).
#
# usage: ./scripts/quality.sh [--json FILE]
#
# Tunables (environment): QUALITY_EVENTS (default 120000), QUALITY_SENSORS (200),
# QUALITY_SEED (42), QUALITY_KEEP=1 keeps the work folder (data, labels, output, job log).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

json=""
case "${1:-}" in
-h | --help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
--json)
    [[ $# -eq 2 ]] || die "usage: $0 [--json FILE]"
    json="$2" ;;
"") ;;
*) die "unknown argument $1 (usage: $0 [--json FILE])" ;;
esac

"$ROOT/scripts/setup.sh"
events="${QUALITY_EVENTS:-120000}"
sensors="${QUALITY_SENSORS:-200}"
seed="${QUALITY_SEED:-42}"
work="$(mktemp -d "${TMPDIR:-/tmp}/iot-quality.XXXXXX")"
# A broker of its own on free ports: never the demo's, never a user's.
pick_free_ports
export KAFKA_HOME_DIR="$work/kafka"
bootstrap="localhost:$KAFKA_PORT"
topic="iot-quality"

cleanup() {
    end_private_run "$work" "${QUALITY_KEEP:-0}" quality
}
trap cleanup EXIT

echo "quality: broker on $bootstrap; $events events from $sensors sensors (seed $seed)" >&2
"$ROOT/scripts/kafka-start.sh" >/dev/null
"$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --topic "$topic" \
    --partitions 3 >/dev/null
# Event time from a day ago, as a live fleet's (any age would be accepted).
"$VENV/bin/python" "$ROOT/iotsimulator.py" --bootstrap-server "$bootstrap" --topic "$topic" \
    --rate 0 --count "$events" --seed "$seed" --sensors "$sensors" --anomaly-rate 0.002 \
    --stuck-rate 0.0002 --drift-rate 0.0002 --silent-rate 0.0002 --shift-rate 0.0003 \
    --start-time "$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:00Z)" --labels "$work/labels.csv"
echo "quality: running the job (spark-submit, --available-now); log in $work/job.log" >&2
if ! "$ROOT/scripts/submit.sh" --conf spark.ui.enabled=false -- "$bootstrap" "$topic" \
    --output-dir "$work/out" --available-now --max-offsets-per-trigger 20000 >"$work/job.log" 2>&1; then
    tail -20 "$work/job.log" >&2
    QUALITY_KEEP=1
    die "the job failed (log above)"
fi
"$VENV/bin/python" "$ROOT/scripts/quality.py" --labels "$work/labels.csv" --output-dir "$work/out" \
    --config "$ROOT/conf/job.toml" ${json:+--json "$json"}
