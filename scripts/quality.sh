#!/usr/bin/env bash
# Detection quality, measured: the simulator writes a labelled stream (spikes, impossible values,
# stuck, drifting and silent sensors, sensors whose level shifts for good) into a private Kafka
# broker, the job drains it with spark-submit, and tools/evaluation/quality.py prints precision
# and recall per detector and the goals (Markdown). The learned detector's model is trained first
# (scripts/train.sh) on the readings of another fleet of the same kind (seed + 1) that the job
# drained before. Then a fleet with no fault, whose sensors report every minute (as real
# networks do), is drained too: every finding there is false, and quality.py prints them per
# sensor-day against the alert budget.
#
# usage: ./scripts/quality.sh [--json FILE]
#
# Tunables (environment): QUALITY_EVENTS (default 120000), QUALITY_SENSORS (200),
# QUALITY_SEED (42), QUALITY_CLEAN_EVENTS (60000, of 100 sensors, one reading a minute each),
# QUALITY_KEEP=1 keeps the work folder (labels, outputs, model, job logs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

json=""
case "${1:-}" in
-h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
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
# A fleet like the one measured (another seed: other sensors, other faults) to train the learned
# detector on, and the fleet measured, each in a topic of its own.
for name in "$topic-train" "$topic" "$topic-clean"; do
    "$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --topic "$name" \
        --partitions 3 >/dev/null
done
fleet() { # TOPIC SEED [more simulator options]: the labelled fleet, event time from a day ago
    local name="$1" fleet_seed="$2"
    shift 2
    "$VENV/bin/python" "$ROOT/iotsimulator.py" --bootstrap-server "$bootstrap" --topic "$name" \
        --rate 0 --count "$events" --seed "$fleet_seed" --sensors "$sensors" --anomaly-rate 0.002 \
        --stuck-rate 0.0002 --drift-rate 0.0002 --silent-rate 0.0002 --shift-rate 0.0003 \
        --start-time "$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:00Z)" "$@"
}
job() { # TOPIC OUT [job options]: drains the topic with spark-submit
    local name="$1" out="$2"
    shift 2
    echo "quality: running the job on $name (spark-submit, --available-now); log in $out.log" >&2
    if ! "$ROOT/scripts/submit.sh" --conf spark.ui.enabled=false -- "$bootstrap" "$name" \
        --output-dir "$out" --available-now --max-offsets-per-trigger 20000 "$@" >"$out.log" 2>&1; then
        tail -20 "$out.log" >&2
        QUALITY_KEEP=1
        die "the job failed (log above)"
    fi
}
fleet "$topic-train" "$((seed + 1))"
job "$topic-train" "$work/train"
"$ROOT/scripts/train.sh" --output-dir "$work/train" --model-dir "$work/models" >&2
fleet "$topic" "$seed" --labels "$work/labels.csv"
job "$topic" "$work/out" --model-dir "$work/models"
# No fault: 100 sensors, a reading a minute each (an event every 0.6 s of event time).
"$VENV/bin/python" "$ROOT/iotsimulator.py" --bootstrap-server "$bootstrap" --topic "$topic-clean" \
    --rate 0 --count "${QUALITY_CLEAN_EVENTS:-60000}" --seed "$((seed + 2))" --sensors 100 \
    --event-interval 0.6 --start-time "$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:00Z)"
job "$topic-clean" "$work/clean" --model-dir "$work/models"
"${python_module[@]}" tools.evaluation.quality --labels "$work/labels.csv" --output-dir "$work/out" \
    --clean-output-dir "$work/clean" --config "$ROOT/conf/job.toml" ${json:+--json "$json"}
