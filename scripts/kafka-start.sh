#!/usr/bin/env bash
# Starts a single-node Apache Kafka 4 broker (KRaft mode, loopback only) in the background and
# waits until it accepts requests. Formats its storage on first use. Safe to run twice.
#
# Environment:
#   KAFKA_PORT             client port                    (default: 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port          (default: KAFKA_PORT + 1)
#   KAFKA_HOME_DIR         data, logs, pid file           (default: <repo>/.kafka/<KAFKA_PORT>)
#   KAFKA_HEAP             broker heap                    (default: 1g)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness  (default: 180)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
-h | --help)
    cat <<USAGE
usage: ./scripts/kafka-start.sh

Starts a local Kafka broker on localhost:$KAFKA_PORT (KRaft controller on $KAFKA_CONTROLLER_PORT),
data and logs in $KAFKA_HOME_DIR. Stop it with ./scripts/kafka-stop.sh.
Set KAFKA_PORT to run it on another port.
USAGE
    exit 0 ;;
"") ;;
*) echo "error: kafka-start.sh takes no arguments (see -h)" >&2; exit 1 ;;
esac
require_setup

pid_file="$KAFKA_HOME_DIR/kafka.pid"
log_dir="$KAFKA_HOME_DIR/logs"
data_dir="$KAFKA_HOME_DIR/data"
props="$KAFKA_HOME_DIR/server.properties"
timeout="${KAFKA_START_TIMEOUT:-180}"

if pid="$(broker_pid)"; then
    echo "kafka: already running on localhost:$KAFKA_PORT (pid $pid)"
    exit 0
fi
for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    ! port_open "$port" || die "port $port is already in use by another program; stop it or set KAFKA_PORT"
done

mkdir -p "$log_dir" "$data_dir"
sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$data_dir|g" "$ROOT/conf/kafka/server.properties" >"$props"

java_opts=(-Dlog4j2.configurationFile="$ROOT/conf/kafka/log4j2.properties" -Dkafka.logs.dir="$log_dir")
if [[ ! -f "$data_dir/meta.properties" ]]; then
    echo "kafka: formatting storage in $data_dir"
    cluster_id="$("$JAVA" "${java_opts[@]}" -cp "$JARS_DIR/kafka/*" kafka.tools.StorageTool random-uuid)"
    "$JAVA" "${java_opts[@]}" -XX:TieredStopAtLevel=1 -cp "$JARS_DIR/kafka/*" kafka.tools.StorageTool \
        format --standalone -t "$cluster_id" -c "$props" >"$log_dir/format.out" 2>&1 ||
        { cat "$log_dir/format.out" >&2; die "could not format Kafka storage in $data_dir"; }
fi

echo "kafka: starting on localhost:$KAFKA_PORT (logs: $log_dir)"
# server.log grows across restarts: look for this start's "started" line only.
log_start=$(($(stat -c %s "$log_dir/server.log" 2>/dev/null || echo 0) + 1))
heap="${KAFKA_HEAP:-1g}"
nohup "$JAVA" -Xms256m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    "${java_opts[@]}" -cp "$JARS_DIR/kafka/*" kafka.Kafka "$props" \
    >"$log_dir/kafka.out" 2>&1 </dev/null &
echo $! >"$pid_file"

pid="$(cat "$pid_file")"
deadline=$((SECONDS + timeout))
until port_open "$KAFKA_PORT" &&
    tail -c "+$log_start" "$log_dir/server.log" 2>/dev/null | grep -q "Kafka Server started"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$log_dir/server.log" "$log_dir/kafka.out" >&2 2>/dev/null || true
        rm -f "$pid_file"
        die "the Kafka broker exited during start-up (logs above, full logs in $log_dir)"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 20 "$log_dir/server.log" "$log_dir/kafka.out" >&2 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
        rm -f "$pid_file"
        die "the Kafka broker was not ready within ${timeout}s (logs above); raise KAFKA_START_TIMEOUT on a slow machine"
    fi
    sleep 1
done
echo "kafka: ready on localhost:$KAFKA_PORT (pid $pid)"
