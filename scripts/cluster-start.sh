#!/usr/bin/env bash
# Starts a Spark standalone cluster on loopback: a master and CLUSTER_WORKERS workers, with
# spark-class of the installed pyspark (no separate Spark download). Waits until every worker has
# registered, then prints the master URL for spark-submit --master. Safe to run twice.
#
# Environment:
#   CLUSTER_PORT           master port                        (default: 7077)
#   CLUSTER_UI_PORT        master web UI port                 (default: 8080)
#   CLUSTER_WORKERS        workers                            (default: 2)
#   CLUSTER_WORKER_CORES   cores each worker offers           (default: 1)
#   CLUSTER_WORKER_MEMORY  memory each worker offers          (default: 1g)
#   CLUSTER_HOME_DIR       logs, pid files, executors' work   (default: <repo>/.cluster/<CLUSTER_PORT>)
#   CLUSTER_START_TIMEOUT  seconds to wait for readiness      (default: 180)
#   CLUSTER_WORKER_HIDDEN  folders (':' between) the workers and their executors must not see,
#                          as on a cluster of several hosts: each is hidden under an empty
#                          tmpfs in the workers' own mount namespace (needs root and unshare).
#                          To check that a job ships what its executors need.  (default: none)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ui_port="${CLUSTER_UI_PORT:-8080}"
workers="${CLUSTER_WORKERS:-2}"
cores="${CLUSTER_WORKER_CORES:-1}"
memory="${CLUSTER_WORKER_MEMORY:-1g}"
timeout="${CLUSTER_START_TIMEOUT:-180}"
master_url="spark://127.0.0.1:$CLUSTER_PORT"

case "${1:-}" in
-h | --help)
    cat <<USAGE
usage: ./scripts/cluster-start.sh

Starts a local Spark standalone cluster: master $master_url (web UI http://127.0.0.1:$ui_port),
$workers workers of $cores core(s) and $memory each; logs in $CLUSTER_HOME_DIR.
Run the job on it:  ./scripts/submit.sh --master $master_url -- [JOB ARGS...]
Stop it with ./scripts/cluster-stop.sh. Set CLUSTER_PORT, CLUSTER_UI_PORT, CLUSTER_WORKERS,
CLUSTER_WORKER_CORES or CLUSTER_WORKER_MEMORY to change it.
USAGE
    exit 0 ;;
"") ;;
*) echo "error: cluster-start.sh takes no arguments (see -h)" >&2; exit 1 ;;
esac
require_setup
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "CLUSTER_WORKERS must be a number >= 1, not '$workers'"
[[ "$cores" =~ ^[1-9][0-9]*$ ]] || die "CLUSTER_WORKER_CORES must be a number >= 1, not '$cores'"
hidden=()
if [[ -n "${CLUSTER_WORKER_HIDDEN:-}" ]]; then
    [[ $(id -u) == 0 ]] && command -v unshare >/dev/null ||
        die "CLUSTER_WORKER_HIDDEN needs root and unshare (util-linux): run as root, or leave it unset"
    IFS=: read -ra hidden <<<"$CLUSTER_WORKER_HIDDEN"
    for dir in "${hidden[@]}"; do
        [[ -d "$dir" ]] || die "CLUSTER_WORKER_HIDDEN: $dir is not a folder"
    done
fi

running="$(cluster_pids | wc -l)"
if ((running == workers + 1)); then
    echo "cluster: already running at $master_url (stop it with ./scripts/cluster-stop.sh)"
    exit 0
elif ((running > 0)); then
    die "the cluster of $CLUSTER_HOME_DIR is partly running ($running of $((workers + 1)) daemons); run ./scripts/cluster-stop.sh, then start it again"
fi
for port in "$CLUSTER_PORT" "$ui_port"; do
    ! port_open "$port" || die "port $port is already in use by another program; stop it or set CLUSTER_PORT / CLUSTER_UI_PORT"
done

export SPARK_HOME
SPARK_HOME="$(spark_home)"
# Loopback only; IOT_CLUSTER_HOME lets cluster-stop.sh find these daemons and no others (see
# cluster_pids). The REST submission server (port 6066) is not needed: spark-submit talks to
# the master's own port.
export SPARK_LOCAL_IP=127.0.0.1 SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-512m}"
export IOT_CLUSTER_HOME="$CLUSTER_HOME_DIR"
export SPARK_DAEMON_JAVA_OPTS="${SPARK_DAEMON_JAVA_OPTS:-} -Dspark.master.rest.enabled=false"
mkdir -p "$CLUSTER_HOME_DIR"
rm -f "$CLUSTER_HOME_DIR"/*.pid

# start_daemon NAME CLASS ARGS...: runs one daemon in the background, its output in NAME.log.
start_daemon() {
    local name="$1"
    shift
    nohup "$SPARK_HOME/bin/spark-class" "$@" >"$CLUSTER_HOME_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$CLUSTER_HOME_DIR/$name.pid"
}

# start_hidden NAME CLASS ARGS...: start_daemon in a mount namespace of its own, where each
# folder of CLUSTER_WORKER_HIDDEN is an empty tmpfs (unshare and bash exec: the same pid).
start_hidden() {
    local name="$1"
    shift
    # shellcheck disable=SC2016 # expanded by the inner bash
    nohup unshare --mount --propagation private bash -c '
        count="$1"; shift
        for ((i = 0; i < count; i++)); do mount -t tmpfs -o size=1m iot-hidden "$1" || exit 1; shift; done
        exec "$@"' hide "${#hidden[@]}" "${hidden[@]}" "$SPARK_HOME/bin/spark-class" "$@" \
        >"$CLUSTER_HOME_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$CLUSTER_HOME_DIR/$name.pid"
}

# wait_for NAME PATTERN: until NAME.log has PATTERN; fails with the log's end if the daemon dies
# or the time is up.
wait_for() {
    local name="$1" pattern="$2" pid
    pid="$(cat "$CLUSTER_HOME_DIR/$1.pid")"
    until grep -q "$pattern" "$CLUSTER_HOME_DIR/$name.log" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            tail -n 20 "$CLUSTER_HOME_DIR/$name.log" >&2 || true
            "$ROOT/scripts/cluster-stop.sh" >/dev/null 2>&1 || true
            die "the cluster's $name did not start within ${timeout}s (log above, all logs in $CLUSTER_HOME_DIR); raise CLUSTER_START_TIMEOUT on a slow machine"
        fi
        sleep 1
    done
}

deadline=$((SECONDS + timeout))
echo "cluster: starting master $master_url, $workers workers ($cores core(s), $memory each); logs: $CLUSTER_HOME_DIR"
start_daemon master org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$CLUSTER_PORT" --webui-port "$ui_port"
wait_for master "I have been elected leader"
start_worker=start_daemon
((${#hidden[@]} == 0)) || start_worker=start_hidden
for ((n = 1; n <= workers; n++)); do
    # Port 0: each worker picks free ports for itself and its web UI.
    "$start_worker" "worker-$n" org.apache.spark.deploy.worker.Worker \
        --host 127.0.0.1 --port 0 --webui-port 0 --cores "$cores" --memory "$memory" \
        --work-dir "$CLUSTER_HOME_DIR/work-$n" "$master_url"
done
for ((n = 1; n <= workers; n++)); do
    wait_for "worker-$n" "Successfully registered with master"
done
echo "cluster: ready at $master_url (web UI http://127.0.0.1:$ui_port)"
