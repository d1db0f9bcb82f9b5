#!/usr/bin/env bash
# Stops the broker started by kafka-start.sh (same KAFKA_PORT / KAFKA_HOME_DIR), cleanly:
# SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT seconds (default: 60). Safe to run twice.
# Pass --purge to also delete its data and logs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purge=0
case "${1:-}" in
-h | --help)
    echo "usage: ./scripts/kafka-stop.sh [--purge]   (stops the broker on localhost:$KAFKA_PORT; --purge deletes $KAFKA_HOME_DIR)"
    exit 0 ;;
--purge) purge=1 ;;
"") ;;
*) echo "error: unknown option: $1 (see -h)" >&2; exit 1 ;;
esac

pid_file="$KAFKA_HOME_DIR/kafka.pid"
if pid="$(broker_pid)"; then
    stop_pid "$pid" "${KAFKA_STOP_TIMEOUT:-60}" \
        "kafka: no clean stop within ${KAFKA_STOP_TIMEOUT:-60}s; killing pid $pid"
    echo "kafka: stopped (pid $pid)"
else
    echo "kafka: not running on localhost:$KAFKA_PORT"
fi
rm -f "$pid_file"
if ((purge)); then
    rm -rf "$KAFKA_HOME_DIR"
    echo "kafka: deleted $KAFKA_HOME_DIR"
fi
