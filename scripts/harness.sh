#!/usr/bin/env bash
# The engine's profiling harnesses (tools/harness; no broker needed): the job's real streaming
# query in this process on prepared micro-batches, with the time of every batch, of its phases
# and of each Spark job and stage (--floor first times the reference queries under the job); or,
# with `compaction` first, one merge of a table's batch files, timed the ways the sink can do it.
#
#   ./scripts/harness.sh [--batches 8] [--records 30000] [--sensors 1000] [--json F]
#                        [--shuffle-partitions N] [--conf KEY=VALUE ...] [--floor]
#                        [--bootstrap BROKER] [--model-dir DIR]
#   ./scripts/harness.sh compaction --batch-file F [--batches 100] [--rounds 2]
#
# Options: -h (and compaction -h). Environment: VENV (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

module=tools.harness
if [[ "${1:-}" == compaction ]]; then
    module=tools.harness.compaction
    shift
fi
require_setup
exec "${python_module[@]}" "$module" "$@"
