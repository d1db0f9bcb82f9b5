#!/usr/bin/env bash
# Real-data check of the detectors on labelled public series: the Numenta Anomaly Benchmark (NAB,
# MIT licence), fetched with git at a pinned commit into data/nab. Its series go into a private
# Kafka broker as the simulator's JSON lines (topics nab-train and nab-check, one partition each,
# fed with kafka-console-producer); the job drains the training set, then scripts/train.sh
# trains the learned detector's model on its output, then the job drains the check set with it;
# tools/evaluation/realdata.py prints precision and the windows found per detector (Markdown), on
# the check set and, in-sample and without the model's detector, on the training set.
#
# usage: ./scripts/realdata.sh [--normal FILE]... [--json FILE] [--keep]
#   --normal FILE  also a recording of readings known to be normal, in the simulator's JSON
#                  lines (real sensors of yours: none is shipped), fed unkeyed into 3 partitions
#                  with the console producer and drained with conf/job.toml as it is: every
#                  finding is false; printed per detector and per sensor-day against the alert
#                  budget. Again for each recording (each is drained on its own; added up)
#   --json FILE    also write the figures of every set here, as JSON
#   --keep         keep the work folder (the sets' JSON lines, the job's output and logs)
#
# Environment: NAB_GIT, where to fetch NAB from (default https://github.com/numenta/NAB; a local
# clone's path works too). The series, the labels and the job's settings:
# tools/evaluation/realdata.py and conf/realdata.toml.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# "chore: MIT License (#408)": NAB is under the MIT licence from this commit on.
NAB_COMMIT=ea702d75cc2258d9d7dd35ca8e5e2539d71f3140
NAB_GIT="${NAB_GIT:-https://github.com/numenta/NAB}"
nab="$ROOT/data/nab"
config="$ROOT/conf/realdata.toml"
usage="usage: $0 [--normal FILE]... [--json FILE] [--keep]"

json=""
normal=()
keep=0
while (($#)); do
    case "$1" in
    -h | --help)
        sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
    --normal)
        [[ $# -ge 2 ]] || die "$usage"
        [[ -f "$2" ]] || die "--normal $2: no such file"
        normal+=("$(realpath "$2")")
        shift ;;
    --json)
        [[ $# -ge 2 ]] || die "$usage"
        json="$2"
        shift ;;
    --keep) keep=1 ;;
    *) die "unknown argument $1 ($usage)" ;;
    esac
    shift
done

# NAB at the pinned commit in data/nab: only the commit itself (depth 1), and of its tree only
# data/, labels/ and the top-level files (the licence); results/ is ten times their size. Fetched
# into a side folder, so an interrupted fetch never leaves data/nab looking done.
fetch_nab() {
    if [[ -d "$nab/.git" && "$(git -C "$nab" rev-parse HEAD 2>/dev/null)" == "$NAB_COMMIT" &&
        -f "$nab/labels/combined_windows.json" ]]; then
        echo "realdata: NAB at ${NAB_COMMIT:0:7} in $nab" >&2
        return
    fi
    local part="$nab.part" out
    echo "realdata: fetching NAB ${NAB_COMMIT:0:7} from $NAB_GIT into $nab" >&2
    rm -rf "$part"
    mkdir -p "$part"
    git -C "$part" -c init.defaultBranch=main init -q
    git -C "$part" sparse-checkout set data labels
    if ! out="$(git -C "$part" fetch -q --depth 1 "$NAB_GIT" "$NAB_COMMIT" 2>&1)"; then
        rm -rf "$part"
        die "could not fetch NAB ${NAB_COMMIT:0:7} from $NAB_GIT ($(head -n1 <<<"$out")); set NAB_GIT to a local clone of https://github.com/numenta/NAB"
    fi
    git -C "$part" checkout -q FETCH_HEAD
    out="$(git -C "$part" rev-parse HEAD)"
    if [[ "$out" != "$NAB_COMMIT" ]]; then
        rm -rf "$part"
        die "NAB from $NAB_GIT is at $out, not $NAB_COMMIT"
    fi
    rm -rf "$nab"
    mv "$part" "$nab"
}

# Runs the job on a set's topic, into $work/NAME, with any further job options (the check
# config unless they give another).
run_job() {
    local name="$1"
    shift
    echo "realdata: the job on nab-$name (spark-submit, --available-now); log in $work/$name.log" >&2
    if ! "$ROOT/scripts/submit.sh" --conf spark.ui.enabled=false -- "$bootstrap" "nab-$name" \
        --output-dir "$work/$name" --available-now --max-offsets-per-trigger 20000 \
        --config "$config" "$@" >"$work/$name.log" 2>&1; then
        tail -20 "$work/$name.log" >&2
        keep=1
        die "the job failed on nab-$name (log above)"
    fi
}

"$ROOT/scripts/setup.sh"
fetch_nab
work="$(mktemp -d "${TMPDIR:-/tmp}/iot-realdata.XXXXXX")"
# A broker of its own on free ports: never the demo's, never a user's.
pick_free_ports
export KAFKA_HOME_DIR="$work/kafka"
bootstrap="localhost:$KAFKA_PORT"

cleanup() {
    end_private_run "$work" "$keep" realdata
}
trap cleanup EXIT
realdata() { # convert, score or normal (tools/evaluation/realdata.py)
    "${python_module[@]}" tools.evaluation.realdata "$@"
}

echo "realdata: broker on $bootstrap" >&2
"$ROOT/scripts/kafka-start.sh" >/dev/null
for set in train check; do
    realdata convert --nab "$nab" --set "$set" "$work/$set.jsonl"
    # One partition: the set's readings in event-time order, so the job's clock moves forward
    # through the whole set.
    "$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --topic "nab-$set" \
        --partitions 1 >/dev/null
    "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic "nab-$set" \
        <"$work/$set.jsonl"
done

run_job train
echo "realdata: training a model on the training set's output; log in $work/models.log" >&2
if ! "$ROOT/scripts/train.sh" --output-dir "$work/train" --model-dir "$work/models" \
    --config "$config" >"$work/models.log" 2>&1; then
    tail -20 "$work/models.log" >&2
    keep=1
    die "scripts/train.sh failed (log above)"
fi
run_job check --model-dir "$work/models"
normal_outputs=()
for ((n = 0; n < ${#normal[@]}; n++)); do
    # Unkeyed into 3 partitions, as the console producer feeds a topic; the job's own config.
    "$ROOT/scripts/kafka-topics.sh" --bootstrap-server "$bootstrap" --create \
        --topic "nab-normal-$n" --partitions 3 >/dev/null
    "$ROOT/scripts/kafka-console-producer.sh" --bootstrap-server "$bootstrap" \
        --topic "nab-normal-$n" <"${normal[n]}"
    run_job "normal-$n" --model-dir "$work/models" --config "$ROOT/conf/job.toml"
    normal_outputs+=(--output-dir "$work/normal-$n")
done

echo "realdata: NAB ${NAB_COMMIT:0:7}; job settings: conf/realdata.toml"
echo
realdata score --nab "$nab" --set check --output-dir "$work/check" \
    ${json:+--json "$work/check.json"}
echo
echo "In-sample (the training set; a model's detector, trained on it, left out):"
echo
realdata score --nab "$nab" --set train --output-dir "$work/train" --skip-detector learned \
    ${json:+--json "$work/train.json"}
if ((${#normal[@]})); then
    echo
    echo "Normal readings of real sensors (${normal[*]}; conf/job.toml as it is):"
    echo
    realdata normal "${normal_outputs[@]}" ${json:+--json "$work/normal.json"}
fi
if [[ -n "$json" ]]; then
    "$VENV/bin/python" - "$work" "$json" <<'PY'
import json, sys
from pathlib import Path
work, out = Path(sys.argv[1]), Path(sys.argv[2])
sets = {name: json.loads((work / f"{name}.json").read_text())
        for name in ("check", "train", "normal") if (work / f"{name}.json").is_file()}
out.write_text(json.dumps(sets, indent=2) + "\n")
PY
fi
