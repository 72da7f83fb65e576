"""Print the time table of the learning jobs (results/README.md) from their result files.

    python scripts/job_times.py [results/learning]

Per job: milliseconds per seed and diffusion step of training (evaluation excluded; guidance-first
counts both stages against its diffusion steps), training and evaluation seconds, evaluation's
share of the job's wall time, the job's core-hours (one core per job) and the fp32 GEMM ceiling
its worker measured (one thread; absent in the earliest files).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(result: dict) -> str:
    job, wall, evals = result["job"], result["wall_seconds"], result["eval_wall_seconds"]
    train = result["train_wall_seconds"] - evals
    seeds = job["seeds"]
    gemm = result["provenance"].get("gemm_fp32_gflops") or float("nan")
    task = job["dataset"].split("-")[1]
    name = f"{job['algo'].upper()} {task} `{job['scale']}` {job['mode']}, seed{'s' * (len(seeds) > 1)} "
    name += "-".join(map(str, seeds))
    per_step = 1000 * train / result["scale"]["steps"] / len(seeds)
    return (
        f"| {name} | {per_step:.1f} | {train:,.0f} | {evals:,.0f} | {100 * evals / wall:.1f}% "
        f"| {wall / 3600:.2f} | {gemm:.0f} |"
    )


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/learning")
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    results.sort(
        key=lambda r: (
            r["job"]["dataset"],
            r["job"]["algo"],
            r["job"]["scale"],
            r["job"]["mode"],
            r["job"]["seeds"],
        )
    )
    print("| job | ms per seed-step | train s | eval s | eval share | core-hours | GEMM GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(row(r))


if __name__ == "__main__":
    main()
