"""Print the time table of the learning jobs (results/README.md) from their result files.

    python scripts/job_times.py [results/learning]

One row per job of ``mdpt_lib.experiments.learning.compute_table`` (milliseconds per seed and
diffusion step, training and evaluation seconds, evaluation's share of the wall time, core-hours,
the worker's fp32 GEMM ceiling), as a Markdown table.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mdpt_lib.experiments.grid import load_results
from mdpt_lib.experiments.learning import compute_table


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/learning")
    t = compute_table(load_results("learning", folder))
    t = t.sort_values(["dataset", "algo", "scale", "mode", "seeds"])
    print("| job | ms per seed-step | train s | eval s | eval share | core-hours | GEMM GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for r in t.itertuples():
        task = r.dataset.split("-")[1]
        print(
            f"| {r.algo.upper()} {task} `{r.scale}` {r.mode}, seeds {r.seeds} "
            f"| {r.ms_per_seed_step:.1f} | {r.train_s:,.0f} | {r.eval_s:,.0f} "
            f"| {100 * r.eval_share:.1f}% | {r.core_hours:.2f} | {r.gemm_gflops:.0f} |"
        )


if __name__ == "__main__":
    main()
