#!/usr/bin/env bash
# The prepared GPU check (see benchmarks/gpu_check.py): run on a machine with a CUDA GPU.
#   bash benchmarks/gpu_check.sh                 # tests on cuda, then timings of one learn-scale job
#   bash benchmarks/gpu_check.sh --device cpu --dry-run   # the CI dry run
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" benchmarks/gpu_check.py "$@"
