# Shared by the scripts in this folder; sourced, never run.
#
# Environment (all optional):
#   VENV                  Python virtualenv             (default: <repo>/.venv)
#   JARS_DIR              fetched Java jars             (default: <repo>/.jars)
#   KAFKA_PORT            local broker's client port    (default: 9092)
#   KAFKA_CONTROLLER_PORT local broker's KRaft port     (default: KAFKA_PORT + 1)
#   KAFKA_HOME_DIR        local broker's data and logs  (default: <repo>/.kafka/<KAFKA_PORT>)
#   JAVA                  java executable               (default: java on PATH)
#   CLUSTER_PORT          local Spark master's port     (default: 7077)
#   CLUSTER_HOME_DIR      local Spark cluster's logs    (default: <repo>/.cluster/<CLUSTER_PORT>)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
JARS_DIR="${JARS_DIR:-$ROOT/.jars}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$ROOT/.kafka/$KAFKA_PORT}"
JAVA="${JAVA:-java}"
CLUSTER_PORT="${CLUSTER_PORT:-7077}"
CLUSTER_HOME_DIR="${CLUSTER_HOME_DIR:-$ROOT/.cluster/$CLUSTER_PORT}"
# Runs one of the project's Python modules: "${python_module[@]}" tools.bench report ... Python
# finds the project's packages on PROJECT_PYTHONPATH (iotstream in jobs/; tools, simulator and
# dashboard at the top of the checkout), given to that command alone, never exported: the job's
# executors under spark-submit take iotstream from the --py-files zip alone. -P: nothing from the
# current folder (a tools/ folder there must not stand in for ours).
PROJECT_PYTHONPATH="$ROOT/jobs:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
python_module=(env "PYTHONPATH=$PROJECT_PYTHONPATH" "$VENV/bin/python" -P -m)

die() {
    echo "error: $*" >&2
    exit 1
}

# Fails with the fix when setup.sh has not run (or a part of it is gone).
require_setup() {
    [[ -x "$VENV/bin/python" ]] || die "no Python environment at $VENV — run ./scripts/setup.sh first"
    [[ -n "$(ls "$JARS_DIR"/kafka/kafka_*.jar 2>/dev/null)" ]] ||
        die "Kafka jars missing in $JARS_DIR/kafka — run ./scripts/setup.sh first"
    [[ -n "$(ls "$JARS_DIR"/spark/spark-sql-kafka-*.jar 2>/dev/null)" ]] ||
        die "Spark Kafka connector jars missing in $JARS_DIR/spark — run ./scripts/setup.sh first"
    [[ -f "$JARS_DIR/engine/iot-engine.jar" ]] ||
        die "the job's engine jar is missing in $JARS_DIR/engine — run ./scripts/setup.sh first"
}

# Runs one of Kafka's Java tools (main class first) with the fetched jars; replaces this shell.
# Tools start faster with the client compiler and a small heap: they run for seconds.
exec_kafka_tool() {
    require_setup
    local main_class="$1"
    shift
    exec "$JAVA" -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$ROOT/conf/kafka/tools-log4j2.properties" \
        -cp "$JARS_DIR/kafka/*" "$main_class" "$@"
}

# Prints the comma-separated connector jars that spark-submit needs with --jars.
spark_connector_jars() {
    local jars=("$JARS_DIR"/spark/*.jar "$JARS_DIR"/engine/iot-engine.jar)
    local IFS=,
    echo "${jars[*]}"
}

# Prints the pid of the broker that kafka-start.sh started for this KAFKA_HOME_DIR, if it is still
# running (a recycled pid that now belongs to another program does not count).
broker_pid() {
    local pid_file="$KAFKA_HOME_DIR/kafka.pid" pid command
    [[ -f "$pid_file" ]] || return 1
    pid="$(cat "$pid_file")"
    command="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$command" == *"kafka.Kafka $KAFKA_HOME_DIR/"* ]] || return 1
    echo "$pid"
}

# Stops process PID: SIGTERM, and if it still runs GRACE seconds later, MESSAGE on stderr, the
# command in the remaining arguments if any (e.g. one that prints where PID waits), then SIGKILL.
# Returns once PID is gone.
stop_pid() {
    local pid="$1" grace="$2" message="$3" deadline
    shift 3
    kill "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + grace))
    while kill -0 "$pid" 2>/dev/null; do
        if ((deadline && SECONDS >= deadline)); then
            echo "$message" >&2
            if (($#)); then "$@" || true; fi
            kill -9 "$pid" 2>/dev/null || true
            deadline=0 # said and done once
        fi
        sleep 0.2
    done
}

# Prints SPARK_HOME of the installed pyspark (its bin/spark-class starts a standalone cluster).
spark_home() {
    "$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

# Prints the pids of the local cluster's daemons that cluster-start.sh started for this
# CLUSTER_HOME_DIR and that still run, workers first. cluster-start.sh marks them with
# IOT_CLUSTER_HOME in their environment, which spark-class keeps when it becomes the JVM: a
# recycled pid, or another cluster's daemon, does not count.
cluster_pids() {
    local pid_file pid environ
    for pid_file in "$CLUSTER_HOME_DIR"/worker-*.pid "$CLUSTER_HOME_DIR"/master.pid; do
        [[ -f "$pid_file" ]] || continue
        pid="$(cat "$pid_file")"
        environ="$( { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null)" || continue
        [[ $'\n'"$environ"$'\n' == *$'\n'"IOT_CLUSTER_HOME=$CLUSTER_HOME_DIR"$'\n'* ]] && echo "$pid"
    done
    return 0
}

# True when something accepts TCP connections on localhost:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Sets KAFKA_PORT and KAFKA_CONTROLLER_PORT to two free ports (for a private broker).
pick_free_ports() {
    read -r KAFKA_PORT KAFKA_CONTROLLER_PORT < <("$VENV/bin/python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
    export KAFKA_PORT KAFKA_CONTROLLER_PORT
}

# Builds the job's library as a zip for --py-files (rebuilt every time, so never stale; its
# step_contract.json too), with
# conf/job.toml and conf/states.csv inside as iotstream/conf/ (the defaults of a driver that runs
# away from this checkout); prints its path. Written beside and renamed into place, so that runs
# started at once from one checkout never read a zip another is still writing.
build_job_zip() {
    local zip="$ROOT/.build/iotstream.zip"
    mkdir -p "$(dirname "$zip")"
    "$VENV/bin/python" - "$ROOT" "$zip" <<'PY'
import os, sys, zipfile
from pathlib import Path
root, out = Path(sys.argv[1]), Path(sys.argv[2])
part = out.with_name(f"{out.name}.{os.getpid()}.part")
with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
    package = root / "jobs" / "iotstream"
    for f in sorted([*package.rglob("*.py"), *package.rglob("*.json")]):  # json: the step's contract
        z.write(f, f.relative_to(root / "jobs"))
    for name in ("job.toml", "states.csv"):
        z.write(root / "conf" / name, f"iotstream/conf/{name}")
os.replace(part, out)
PY
    echo "$zip"
}

# Start of a run on a private broker (bench.sh, bench_soak.sh): a work folder, free ports for the
# broker (started by the caller) and, on exit, the processes in `background` stopped (each with
# its process group) and end_private_run. Sets py, work, bootstrap, background; defines say().
# Usage: start_private_run NAME
start_private_run() {
    PRIVATE_RUN="$1"
    py="$VENV/bin/python"
    work="$(mktemp -d "${TMPDIR:-/tmp}/iot-$1.XXXXXX")"
    pick_free_ports
    export KAFKA_HOME_DIR="$work/kafka"
    bootstrap="localhost:$KAFKA_PORT"
    background=()
    trap private_run_cleanup EXIT
}
private_run_cleanup() {
    for pid in "${background[@]}"; do
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    done
    end_private_run "$work" "${BENCH_KEEP:-0}" "$PRIVATE_RUN"
}
say() { echo "$PRIVATE_RUN: $(date -u +%H:%M:%S) $*" >&2; }

# End of a run on a private broker (quality.sh, bench.sh): stops the broker and removes the
# work folder, unless keep is 1. Usage: end_private_run WORK KEEP NAME
end_private_run() {
    "$ROOT/scripts/kafka-stop.sh" --purge >/dev/null 2>&1 || true
    if [[ "$2" == 1 ]]; then
        echo "$3: work folder kept: $1" >&2
    else
        rm -rf "$1"
    fi
}
