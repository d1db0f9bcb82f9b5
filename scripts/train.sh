#!/usr/bin/env bash
# Trains the learned detector from the job's `readings` table (jobs/iotstream/train.py; no Spark)
# and writes a model artifact into the model folder; a running job started with --model-dir on
# that folder scores with it from its next batch.
#
#   ./scripts/train.sh [--output-dir DIR] [--model-dir DIR] [--since ISO] [--config FILE]
#                      [--findings-per-sensor-day RATE] [--trees N] [--max-samples N] [--seed N]
#                      [--figures FILE]
#
# Environment: VENV (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_setup
exec "${python_module[@]}" iotstream.train "$@"
