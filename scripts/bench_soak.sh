#!/usr/bin/env bash
# The long run (./scripts/bench.sh --soak MINUTES): the job on its default trigger, fed at a steady
# rate through kafka-console-producer for MINUTES, on a private broker (free ports, removed at the
# end); then a table per slice of 5 minutes: batch time p50/p99/max, the memory of the driver JVM,
# the Python driver and Spark's Python workers, the checkpoint's size and files, the output's files;
# and whether the long-run bars hold (tools/bench/soak.py; figures from outside the job).
#
# usage: ./scripts/bench.sh --soak MINUTES [--rate EVENTS_PER_S] [--sensors N] [--json FILE]
#        (default rate 2000, sensors 2000, 3 partitions; BENCH_KEEP=1 keeps the work folder)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
[[ $# -ge 1 && "$1" =~ ^[0-9]+$ && "$1" -ge 1 ]] || die "--soak needs whole minutes (usage: $0 MINUTES [--rate R] [--sensors N] [--json FILE])"
minutes="$1"
shift
rate=2000 sensors=2000 json=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --rate) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--rate needs events per second"; rate="$2"; shift ;;
    --sensors) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--sensors needs a number"; sensors="$2"; shift ;;
    --json) [[ $# -ge 2 ]] || die "--json needs a file name"; json="$(realpath -m "$2")"; shift ;;
    *) die "unknown argument $1 (usage: $0 MINUTES [--rate R] [--sensors N] [--json FILE])" ;;
    esac
    shift
done

"$ROOT/scripts/setup.sh"
start_private_run soak

say "broker on $bootstrap (work folder $work)"
"$ROOT/scripts/kafka-start.sh" >/dev/null
"$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --topic soak \
    --partitions 3 >/dev/null

say "the job (submit.sh, default trigger and settings)"
"$ROOT/scripts/submit.sh" --conf spark.ui.enabled=false -- "$bootstrap" soak \
    --output-dir "$work/out" --starting-offsets latest >"$work/job.log" 2>&1 &
job=$!
background+=("$job")
"${python_module[@]}" tools.bench.soak monitor --bootstrap "$bootstrap" --topic soak --pid "$job" \
    --checkpoint "$work/out/_checkpoint" --output "$work/out" --out "$work/samples.jsonl" \
    >>"$work/monitor.log" 2>&1 &
mon=$!
background+=("$mon")
until [[ -f "$work/out/_checkpoint/commits/0" ]]; do
    kill -0 "$job" 2>/dev/null || { tail -20 "$work/job.log" >&2; die "the job ended"; }
    sleep 1
done

say "feeding $rate events/s from $sensors sensors for $minutes min (simulator | kafka-console-producer)"
set -m  # the feeder in a process group of its own, so cleanup can stop all of it
{
    "$py" "$ROOT/iotsimulator.py" --rate "$rate" --duration "$((minutes * 60))" \
        --sensors "$sensors" --sensor-seed 7 |
        "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic soak \
            --producer-property linger.ms=5
} &
feeder=$!
background+=("$feeder")
set +m
wait "$feeder" || die "the feeder (simulator | kafka-console-producer) failed"
kill -0 "$job" 2>/dev/null || { tail -20 "$work/job.log" >&2; die "the job ended before the feed did"; }

say "feeding done; letting the job commit what is still in the topic (up to 5 min)"
for _ in $(seq 300); do
    "$py" - "$work/samples.jsonl" <<'PY' && break
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done = max((x["batch"]["offsets"] for x in lines if "batch" in x), default=0)
end = [x["sample"]["end"] for x in lines if "sample" in x][-1]
sys.exit(0 if done >= end else 1)
PY
    sleep 1
done
sleep 12  # a last sample of memory and files after the last batch
pkill -INT -P "$job" -f iot_aggregator.py || kill -TERM "$job"
wait "$job" || true
kill "$mon" 2>/dev/null || true
wait "$mon" || true

say "report"
"${python_module[@]}" tools.bench.soak report --samples "$work/samples.jsonl" ${json:+--json "$json"}
