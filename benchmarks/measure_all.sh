#!/usr/bin/env bash
# Every speed measurement of the compute chapter, in one run on a quiet machine (no other job
# running: two processes with torch threads on two cores ruin each other's timings).
#   bash benchmarks/measure_all.sh /path/to/Diffusion-Policies-for-Offline-RL > results/benchmarks/<date>-<cpu>.txt
# MISH="cpp softplus" limits the Mish implementations measured (default: cpp softplus aten fused;
# "cpp" builds its C++ loops once per machine, "fused" compiles its kernels in every process).
# The official Diffusion-QL checkout is the user's own (not part of this project); without it the
# comparison is skipped. The hopper medium-replay dataset must be built (python -m mdpt_lib.data build ...).
set -uo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
repo=${1:-}
run() { echo; echo "\$ $*"; "$@" 2>&1 | grep -v -i -e "warn" -e "^USDT"; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%FT%TZ); commit $(git rev-parse --short HEAD)"
run "$py" benchmarks/startup.py --repeats 3
run env OMP_NUM_THREADS=1 "$py" benchmarks/evaluation.py --steps 200
if [ -n "$repo" ]; then
  for mish in ${MISH:-cpp softplus aten fused}; do
    run env MDPT_MISH=$mish "$py" benchmarks/official_dql_speed.py --repo "$repo" --steps 100 --seeds 1 5 --threads 2
  done
fi
# the Mish implementations (mdpt_lib.nets): cpp is what long runs use (MDPT_MISH=auto) since
# 2026-12-07, softplus before it, aten the step before the speed work, fused the compiled kernels
# that were the default for long runs until 2026-12-03
for mish in ${MISH:-cpp softplus aten fused}; do
  run env MDPT_MISH=$mish "$py" benchmarks/train_speed.py --seeds 1 5 --steps 100 --configs idql:joint dql:joint
done
# what Mish costs in a step, and the floor an activation as cheap as ReLU would reach
run env OMP_NUM_THREADS=1 "$py" benchmarks/activation_cost.py --rounds 4
# the step's own matrix products, replayed alone: the best share of the ceiling a step of these
# shapes reaches here, whatever the rest of the step costs
run env OMP_NUM_THREADS=1 MDPT_MISH=cpp "$py" benchmarks/gemm_floor.py
run env MDPT_MISH=cpp "$py" benchmarks/gemm_floor.py --threads 2 --seeds 5
# the networks compiled (Inductor) against the eager step: does fusing pay here?
run env OMP_NUM_THREADS=1 "$py" benchmarks/compile_nets.py
echo; echo "done $(date -u +%FT%TZ)"
