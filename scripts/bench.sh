#!/usr/bin/env bash
# Benchmark: throughput, latency and memory, measured side by side in one run on a private Kafka
# broker (free ports, removed at the end). Prints a Markdown report; --json FILE keeps the figures.
#
# usage: ./scripts/bench.sh [--quick] [--json FILE]
#        ./scripts/bench.sh --soak MINUTES [--rate EVENTS_PER_S] [--sensors N] [--json FILE]
#        (the long run: scripts/bench_soak.sh)
#
#  1. N events (simulator, seeded) preloaded into a topic with kafka-console-producer;
#  2. read back by Kafka's consumer perf tool (the ceiling), by a bare Structured Streaming query
#     (Kafka → from_json → no-op sink) and by the job (every output), both drained with
#     availableNow on the same batch size;
#     then the learned detector is trained on the drained job's readings (scripts/train.sh) and
#     every later run scores with it;
#  3. sustained: the job on 3 s triggers while the simulator feeds a second topic through
#     kafka-console-producer at rising rates, BENCH_STEP_SECONDS per rate;
#  4. demo rate: the job on 3 s triggers fed at 200 events/s with demo.sh's faults, BENCH_DEMO_SECONDS;
#  5. fleet: per fleet size (BENCH_ACTIVE sensors, then BENCH_FLEET), the job's state warmed with
#     every sensor of the fleet, then timed batches from BENCH_ACTIVE of them, wide batches from
#     as many distinct sensors as a batch holds, and a restart (tools/bench/fleet.py).
# Figures come from the queries' checkpoints, Kafka and /proc (tools/bench), never from the job.
#
# Tunables (environment), full / --quick: BENCH_EVENTS 1000000 / 200000, BENCH_RATES
# "2500 5000 10000 15000" / "10000", BENCH_STEP_SECONDS 120 / 60, BENCH_MAX_OFFSETS 30000
# (records per batch in the drained runs), BENCH_PARTITIONS 3, BENCH_SENSORS 1000,
# BENCH_DEMO_SECONDS 90 / 60, BENCH_FLEET 1000000 / 200000, BENCH_ACTIVE 1000,
# BENCH_FLEET_BATCHES 10 / 6 (timed batches per fleet), BENCH_WIDE_BATCHES 4 / 3,
# BENCH_LEARNED 1 (0: the runs after the drained one without the learned detector's model),
# BENCH_KEEP=1 keeps the work folder (data, checkpoints, outputs, logs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ "${1:-}" == "--soak" ]]; then
    shift
    exec "$(dirname "${BASH_SOURCE[0]}")/bench_soak.sh" "$@"
fi
quick=0
json=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --quick) quick=1 ;;
    --json) [[ $# -ge 2 ]] || die "--json needs a file name"; json="$(realpath -m "$2")"; shift ;;
    *) die "unknown argument $1 (usage: $0 [--quick] [--json FILE])" ;;
    esac
    shift
done
if [[ "$quick" == 1 ]]; then
    events="${BENCH_EVENTS:-200000}" rates="${BENCH_RATES:-10000}" step="${BENCH_STEP_SECONDS:-60}"
    demo_seconds="${BENCH_DEMO_SECONDS:-60}" fleet="${BENCH_FLEET:-200000}"
    fleet_batches="${BENCH_FLEET_BATCHES:-6}" wide_batches="${BENCH_WIDE_BATCHES:-3}"
else
    events="${BENCH_EVENTS:-1000000}" rates="${BENCH_RATES:-2500 5000 10000 15000}"
    step="${BENCH_STEP_SECONDS:-120}" demo_seconds="${BENCH_DEMO_SECONDS:-90}"
    fleet="${BENCH_FLEET:-1000000}" fleet_batches="${BENCH_FLEET_BATCHES:-10}"
    wide_batches="${BENCH_WIDE_BATCHES:-4}"
fi
active="${BENCH_ACTIVE:-1000}"
max_offsets="${BENCH_MAX_OFFSETS:-30000}"
partitions="${BENCH_PARTITIONS:-3}"
sensors="${BENCH_SENSORS:-1000}"
learned="${BENCH_LEARNED:-1}"
trigger=3

"$ROOT/scripts/setup.sh"
start_private_run bench
now() { date +%s.%N; }

# Starts a monitor (tools.bench) of a spark-submit process and the given checkpoints; sets $mon.
monitor() {
    local pid="$1" topic="$2" out="$3"
    shift 3
    "${python_module[@]}" tools.bench monitor --bootstrap "$bootstrap" --topic "$topic" \
        --pid "$pid" --out "$out" "${@/#/--checkpoint=}" >>"$work/monitor.log" 2>&1 &
    mon=$!
    background+=("$mon")
}

say "broker on $bootstrap (work folder $work)"
"$ROOT/scripts/kafka-start.sh" >/dev/null
topics() { "$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" "$@" >/dev/null; }
topics --create --topic bench --partitions "$partitions"
topics --create --topic bench-live --partitions "$partitions"
"$py" - "$work/meta.json" <<PY
import json, os, sys, datetime, pyspark
json.dump({"date": datetime.date.today().isoformat(), "cores": os.cpu_count(),
           "events": $events, "partitions": $partitions, "max_offsets_per_trigger": $max_offsets,
           "sensors": $sensors, "trigger_seconds": $trigger, "rates": "$rates".split(),
           "step_seconds": $step, "quick": bool($quick), "bootstrap": "$bootstrap",
           "demo_seconds": $demo_seconds, "fleet": $fleet, "active": $active,
           "learned": bool($learned),
           "pyspark": pyspark.__version__}, open(sys.argv[1], "w"))
PY

say "preloading $events events ($sensors sensors) with kafka-console-producer"
# Simulated time from a day ago, as a live fleet's.
"$py" "$ROOT/iotsimulator.py" "$events" --seed 42 --sensors "$sensors" \
    --start-time "$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:00Z)" >"$work/data.jsonl"
started="$(now)"
"$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic bench \
    --producer-property linger.ms=20 --producer-property batch.size=262144 <"$work/data.jsonl"
say "preloaded in $(awk "BEGIN {printf \"%.1f\", $(now) - $started}") s"
rm "$work/data.jsonl"

say "Kafka's consumer perf tool"
"$JAVA" -Xmx512m -Dlog4j2.configurationFile="$ROOT/conf/kafka/tools-log4j2.properties" \
    -cp "$JARS_DIR/kafka/*" org.apache.kafka.tools.ConsumerPerformance \
    --bootstrap-server "$bootstrap" --topic bench --messages "$events" --timeout 60000 \
    >"$work/consumer-perf.txt"

spark_conf=(--conf spark.ui.enabled=false --conf spark.sql.streaming.minBatchesToRetain=100000)
say "bare reference query (spark-submit, availableNow)"
now >"$work/bare.submitted"
PYSPARK_PYTHON="$py" PYSPARK_DRIVER_PYTHON="$py" "$VENV/bin/spark-submit" --master "local[*]" \
    --jars "$(spark_connector_jars)" --py-files "$(build_job_zip)" \
    --driver-java-options "-Dlog4j2.configurationFile=file:$ROOT/conf/log4j2.properties" \
    --conf spark.ui.showConsoleProgress=false "${spark_conf[@]}" \
    "$ROOT/jobs/bench_reference.py" "$bootstrap" bench "$work/bare-checkpoint" "$max_offsets" \
    >"$work/bare.log" 2>&1 || { tail -20 "$work/bare.log" >&2; die "the bare query failed"; }

say "the job, drained (submit.sh --available-now)"
now >"$work/drain.submitted"
"$ROOT/scripts/submit.sh" "${spark_conf[@]}" -- "$bootstrap" bench \
    --output-dir "$work/drain-out" --available-now --max-offsets-per-trigger "$max_offsets" \
    >"$work/drain.log" 2>&1 &
job=$!
background+=("$job")
monitor "$job" bench "$work/drain-monitor.jsonl" "$work/drain-out/_checkpoint"
wait "$job" || { tail -20 "$work/drain.log" >&2; die "the drained job failed"; }
kill "$mon" 2>/dev/null || true

# The runs from here on score with the learned detector, trained on the drained job's readings
# (BENCH_LEARNED=0: without; the model folder stays empty and the detector says it is off).
model=(--model-dir "$work/models")
if [[ "$learned" == 1 ]]; then
    say "training the learned detector on the drained job's readings (train.sh)"
    "$ROOT/scripts/train.sh" --output-dir "$work/drain-out" "${model[@]}" >"$work/train.log" 2>&1 ||
        { tail -20 "$work/train.log" >&2; die "training failed"; }
fi

# Simulator → kafka-console-producer: a trickle until the job is up (file "go"), then each rate.
feed() {
    {
        "$py" "$ROOT/iotsimulator.py" --rate 500 --sensors "$sensors" --sensor-seed 7 &
        local warm=$!
        until [[ -f "$work/go" ]]; do sleep 0.5; done
        kill "$warm"
        wait "$warm" || true
        for rate in $rates; do
            local from
            from="$(now)"
            "$py" "$ROOT/iotsimulator.py" --rate "$rate" --duration "$step" --sensors "$sensors" \
                --sensor-seed 7
            echo "{\"rate\": $rate, \"start\": $from, \"end\": $(now)}" >>"$work/steps.jsonl"
        done
    } | "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" \
        --topic bench-live --producer-property linger.ms=5
}
say "sustained: rates $rates events/s, $step s each, $trigger s triggers"
set -m  # the feeder in a process group of its own, so cleanup can stop all of it
feed &
background+=($!)
feeder=$!
set +m
now >"$work/sustained.submitted"
"$ROOT/scripts/submit.sh" "${spark_conf[@]}" -- "$bootstrap" bench-live \
    --output-dir "$work/sustained-out" --starting-offsets latest --trigger-seconds "$trigger" \
    "${model[@]}" >"$work/sustained.log" 2>&1 &
job=$!
background+=("$job")
monitor "$job" bench-live "$work/sustained-monitor.jsonl" "$work/sustained-out/_checkpoint"
until [[ -f "$work/sustained-out/_checkpoint/commits/0" ]]; do
    kill -0 "$job" 2>/dev/null || { tail -20 "$work/sustained.log" >&2; die "the job ended"; }
    sleep 1
done
say "first batch committed; warming up for 30 s"
sleep 30
touch "$work/go"
wait "$feeder" || die "the feeder (simulator | kafka-console-producer) failed"
say "feeding done; letting the job commit what is still in the topic (up to 5 min)"
for _ in $(seq 300); do
    "$py" - "$work/sustained-monitor.jsonl" <<'PY' && break
import json, sys
last = json.loads(open(sys.argv[1]).read().splitlines()[-1])
sys.exit(0 if last["committed"] and last["committed"][0] >= last["end"] else 1)
PY
    sleep 1
done
# A graceful stop, as Ctrl-C: the job's Python driver ends the query between batches.
pkill -INT -P "$job" -f iot_aggregator.py || kill -TERM "$job"
wait "$job" || true
kill "$mon" 2>/dev/null || true

say "demo rate: 200 events/s for $demo_seconds s, $trigger s triggers (as demo.sh)"
topics --create --topic bench-demo --partitions "$partitions"
"$ROOT/scripts/submit.sh" "${spark_conf[@]}" -- "$bootstrap" bench-demo \
    --output-dir "$work/demo-out" --trigger-seconds "$trigger" "${model[@]}" >"$work/demo.log" 2>&1 &
job=$!
background+=("$job")
# With the demo's faults (demo.sh's rates): the detection latency is measured on their findings.
"$py" "$ROOT/iotsimulator.py" --rate 200 --duration "$demo_seconds" --sensors 500 \
    --anomaly-rate 0.005 --stuck-rate 0.0003 --drift-rate 0.0003 --silent-rate 0.0003 |
    "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic bench-demo
sleep "$((2 * trigger))"
pkill -INT -P "$job" -f iot_aggregator.py || kill -TERM "$job"
wait "$job" || true

# One fleet: data, warm + timed + wide batches drained, then a restart that reads a few more.
fleet_run() { # name, sensors, wide batches
    local name="$1" n="$2" wide="$3" topic="bench-fleet-$1" part
    say "fleet $name: $n sensors, warmed with $fleet readings; $fleet_batches timed batches of" \
        "$max_offsets readings from $active of them; $wide wide batches; a restart"
    "${python_module[@]}" tools.bench.fleet data --sensors "$n" --warm "$fleet" --active "$active" \
        --per-batch "$max_offsets" --batches "$fleet_batches" --wide "$wide" --out "$work/$name-data"
    topics --create --topic "$topic" --partitions "$partitions"
    for part in warm timed wide; do
        "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic "$topic" \
            --producer-property linger.ms=20 --producer-property batch.size=262144 \
            <"$work/$name-data/$part.jsonl"
        "${python_module[@]}" tools.bench.fleet mark --bootstrap "$bootstrap" --topic "$topic" \
            --out "$work/$name.$part.end"
    done
    "$ROOT/scripts/submit.sh" "${spark_conf[@]}" -- "$bootstrap" "$topic" \
        --output-dir "$work/$name-out" --available-now --max-offsets-per-trigger "$max_offsets" \
        "${model[@]}" >"$work/$name.log" 2>&1 &
    job=$!
    background+=("$job")
    monitor "$job" "$topic" "$work/$name-monitor.jsonl" "$work/$name-out/_checkpoint"
    wait "$job" || { tail -20 "$work/$name.log" >&2; die "the fleet run ($name) failed"; }
    kill "$mon" 2>/dev/null || true
    "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic "$topic" \
        --producer-property linger.ms=20 <"$work/$name-data/restart.jsonl"
    "${python_module[@]}" tools.bench.fleet mark --bootstrap "$bootstrap" --topic "$topic" \
        --out "$work/$name.restart.end"
    rm -r "$work/$name-data"
    now >"$work/$name.restart.submitted"
    "$ROOT/scripts/submit.sh" "${spark_conf[@]}" -- "$bootstrap" "$topic" \
        --output-dir "$work/$name-out" --available-now --max-offsets-per-trigger "$max_offsets" \
        "${model[@]}" >"$work/$name-restart.log" 2>&1 || { tail -20 "$work/$name-restart.log" >&2; die "the restart ($name) failed"; }
    "${python_module[@]}" tools.bench.fleet summary --work "$work" --name "$name" --sensors "$n" \
        --out "$work/fleet-$name.json" >&2
}
fleet_run small "$active" 0
fleet_run large "$fleet" "$wide_batches"

broker="$(broker_pid || true)"
[[ -n "$broker" ]] || die "the broker is gone before the end of the run"
"$py" - "$broker" "$work/broker.json" <<'PY'
import json, re, sys
pid, out = sys.argv[1], sys.argv[2]
cmd = open(f"/proc/{pid}/cmdline").read().split("\0")
heap = next((a[4:] for a in cmd if a.startswith("-Xmx")), "")
mb = int(heap[:-1]) * {"g": 1024, "m": 1, "G": 1024, "M": 1}[heap[-1]] if heap else None
hwm = re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read())
json.dump({"heap_mb": mb, "peak_rss_mb": round(int(hwm.group(1)) / 1024) if hwm else None},
          open(out, "w"))
PY
"${python_module[@]}" tools.bench report --work "$work" ${json:+--json "$json"}
