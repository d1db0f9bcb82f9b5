#!/usr/bin/env bash
# The whole pipeline, live: sets up if needed, starts a local Kafka broker, creates the topic,
# starts the simulator feeding it at a steady rate, and runs the streaming job on 3-second
# micro-batches, so the console shows one block per batch. Ctrl-C stops everything this script
# started (a broker that was already running is left running). A live dashboard over the
# results (./scripts/dashboard.sh) starts with it: the demo prints its URL.
#
# Each run starts afresh: it clears its output folder (DEMO_OUTPUT) first, and the job reads
# only what the simulator sends from now on. Query the results afterwards with
#   ./scripts/query.sh --output-dir output/demo
#
# Environment:
#   KAFKA_PORT         broker port                       (default: 9092)
#   DEMO_TOPIC         topic                             (default: iotmsgs)
#   DEMO_RATE          events per second                 (default: 200)
#   DEMO_SENSORS       distinct sensors                  (default: 500)
#   DEMO_ANOMALY_RATE  fraction of anomalous readings    (default: 0.005)
#   DEMO_FAULT_RATE    stuck / drift / silent incidents  (default: 0.0003 per event, each)
#   DEMO_OUTPUT        Parquet output and checkpoint     (default: <repo>/output/demo)
#   DEMO_DASHBOARD_PORT  the dashboard's port; 0 = none  (default: 8050)
# Extra arguments go to the job, e.g. ./scripts/demo.sh --trigger-seconds 5
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
-h | --help)
    cat <<USAGE
usage: ./scripts/demo.sh [JOB OPTIONS...]

Starts a local Kafka broker (unless one runs), the simulator feeding topic iotmsgs at 200 events/s,
the streaming job on 3-second micro-batches, and the dashboard on http://localhost:8050/.
Ctrl-C stops what the demo started. Output goes to output/demo (cleared at each start).
Tunables: KAFKA_PORT, DEMO_TOPIC, DEMO_RATE, DEMO_SENSORS, DEMO_ANOMALY_RATE, DEMO_FAULT_RATE,
DEMO_OUTPUT, DEMO_DASHBOARD_PORT (see the header of this script).
USAGE
    exit 0 ;;
esac

topic="${DEMO_TOPIC:-iotmsgs}"
output="${DEMO_OUTPUT:-$ROOT/output/demo}"
bootstrap="localhost:$KAFKA_PORT"

"$ROOT/scripts/setup.sh"

started_broker=0
simulator_pid=""
job_pid=""
dashboard_pid=""
# Stops a part the demo started (stop_pid in common.sh), saying so if it has to be killed.
stop_part() {
    local pid="$1" name="$2" grace="$3"
    shift 3
    stop_pid "$pid" "$grace" "demo: the $name did not stop within ${grace}s of SIGTERM; killing it" "$@"
    wait "$pid" 2>/dev/null || true
}
# What a Python part waits for, on its stderr (it registers faulthandler for SIGUSR1).
python_stacks() {
    kill -USR1 "$1" 2>/dev/null && sleep 1
}
cleanup() {
    trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
    if [[ -n "$dashboard_pid" ]]; then
        stop_part "$dashboard_pid" dashboard 30 python_stacks "$dashboard_pid"
    fi
    if [[ -n "$simulator_pid" ]]; then
        stop_part "$simulator_pid" simulator 60 python_stacks "$simulator_pid" # it flushes up to 40 s
    fi
    if [[ -n "$job_pid" ]]; then
        stop_part "$job_pid" job 60
    fi
    if ((started_broker)); then
        "$ROOT/scripts/kafka-stop.sh" || true
    fi
    echo "demo: stopped; results in $output (./scripts/query.sh --output-dir $output)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! broker_pid >/dev/null; then
    if port_open "$KAFKA_PORT"; then
        echo "demo: using the Kafka broker already listening on $bootstrap"
    else
        started_broker=1 # set first: Ctrl-C during start-up must stop it too
        "$ROOT/scripts/kafka-start.sh"
    fi
fi
"$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions 3 >/dev/null
"$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic iot-alerts --partitions 1 >/dev/null

rm -rf "$output"
mkdir -p "$output"
dashboard_port="${DEMO_DASHBOARD_PORT:-8050}"
if [[ "$dashboard_port" != 0 ]]; then
    if port_open "$dashboard_port"; then
        echo "demo: port $dashboard_port is in use: no dashboard (set DEMO_DASHBOARD_PORT to another port)" >&2
    else
        trigger=""  # the job's --trigger-seconds, if given, for the dashboard's duration chart
        args=("$@")
        for i in "${!args[@]}"; do
            case "${args[$i]}" in
            --trigger-seconds=*) trigger="${args[$i]#*=}" ;;
            --trigger-seconds) trigger="${args[$((i + 1))]:-}" ;;
            esac
        done
        "$ROOT/scripts/dashboard.sh" --output-dir "$output" --port "$dashboard_port" \
            ${trigger:+--trigger-seconds "$trigger"} &
        dashboard_pid=$!
        echo "demo: dashboard on http://localhost:$dashboard_port/ (live over $output)"
    fi
fi
echo "demo: simulator → $topic at ${DEMO_RATE:-200} events/s; the job prints a block per micro-batch (Ctrl-C stops)"
"$VENV/bin/python" "$ROOT/iotsimulator.py" --bootstrap-server "$bootstrap" --topic "$topic" \
    --rate "${DEMO_RATE:-200}" --sensors "${DEMO_SENSORS:-500}" \
    --anomaly-rate "${DEMO_ANOMALY_RATE:-0.005}" --stuck-rate "${DEMO_FAULT_RATE:-0.0003}" \
    --drift-rate "${DEMO_FAULT_RATE:-0.0003}" --silent-rate "${DEMO_FAULT_RATE:-0.0003}" &
simulator_pid=$!

# The job runs in a session of its own, so that a Ctrl-C reaches it once, from here: its Python
# driver then stops the query between two batches (a second Ctrl-C: at once).
setsid "$ROOT/scripts/submit.sh" "$bootstrap" "$topic" --output-dir "$output" \
    --starting-offsets latest "$@" &
job_pid=$!
# Ctrl-C asks the job's Python driver to stop after the running batch (again: at once). A job that
# has not stopped JOB_STOP_GRACE seconds later is told to stop at once (its Python threads' stacks
# go to the console first: what it waited for), and killed 30 seconds after that.
JOB_STOP_GRACE=60
stop_asked=""
signal_driver() { # the job's Python driver, a child of spark-submit's JVM (never the JVM itself)
    [[ "$(ps -o comm= -p "$job_pid" 2>/dev/null)" == java ]] || return 1
    pkill "-$1" -P "$job_pid" -f iot_aggregator.py 2>/dev/null
}
stop_job() {
    [[ -n "$stop_asked" ]] || stop_asked=$SECONDS
    signal_driver INT || kill -TERM "$job_pid" 2>/dev/null || true # still starting: TERM
}
trap stop_job INT TERM
pressed=0
while kill -0 "$job_pid" 2>/dev/null; do
    if [[ -n "$stop_asked" ]]; then
        waited=$((SECONDS - stop_asked))
        if ((pressed == 0 && waited >= JOB_STOP_GRACE)); then
            pressed=1
            echo "demo: the job has not stopped ${JOB_STOP_GRACE}s after Ctrl-C; where its driver waits:" >&2
            signal_driver USR1 || true
            sleep 1
            signal_driver INT || true # a second stop request: at once
        elif ((pressed == 1 && waited >= JOB_STOP_GRACE + 30)); then
            pressed=2
            echo "demo: the job did not stop at once either; killing it" >&2
            signal_driver KILL || true
            kill -9 "$job_pid" 2>/dev/null || true
        fi
    fi
    sleep 1 </dev/null >/dev/null 2>&1 &
    wait $! || true # returns early when Ctrl-C runs stop_job
done
wait "$job_pid" && status=0 || status=$?
job_pid=""
exit "$status"
