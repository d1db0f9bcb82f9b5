#!/usr/bin/env bash
# Stops the local Spark standalone cluster that cluster-start.sh started (workers, then master).
# With --purge, also deletes its logs and the executors' work folders.
#
# Environment: CLUSTER_PORT, CLUSTER_HOME_DIR (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purge=0
case "${1:-}" in
-h | --help)
    echo "usage: ./scripts/cluster-stop.sh [--purge]   (stops the cluster of $CLUSTER_HOME_DIR)"
    exit 0 ;;
--purge) purge=1 ;;
"") ;;
*) echo "error: unknown argument '$1' (see -h)" >&2; exit 1 ;;
esac

mapfile -t pids < <(cluster_pids)
if ((${#pids[@]} == 0)); then
    echo "cluster: not running"
else
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 30); do
        [[ -z "$(cluster_pids)" ]] && break
        sleep 1
    done
    mapfile -t left < <(cluster_pids)
    if ((${#left[@]})); then
        kill -9 "${left[@]}" 2>/dev/null || true
    fi
    echo "cluster: stopped"
fi
rm -f "$CLUSTER_HOME_DIR"/*.pid
if ((purge)); then
    rm -rf "$CLUSTER_HOME_DIR"
fi
