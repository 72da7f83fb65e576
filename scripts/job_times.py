"""Print the time table of the learning jobs (results/README.md) from their result files.

    python scripts/job_times.py [results/learning] [--write results/README.md]

One row per job of ``mdpt_lib.experiments.learning.compute_table`` (milliseconds per seed and
diffusion step, training and evaluation seconds, evaluation's share of the wall time, core-hours,
the worker's fp32 GEMM ceiling, the CPU), as a Markdown table. With ``--write`` the table replaces
the one in that file (the lines from its header row to the next blank line).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mdpt_lib.data.registry import get_dataset_spec
from mdpt_lib.experiments.grid import load_results
from mdpt_lib.experiments.learning import compute_table
from mdpt_lib.provenance import short_cpu

HEADER = (
    "| job | ms per seed-step | train s | eval s | eval share | core-hours | GEMM GFLOP/s | CPU |"
)


def table(folder: Path) -> list[str]:
    t = compute_table(load_results("learning", folder))
    t = t.sort_values(["dataset", "algo", "scale", "mode", "seeds"])
    lines = [HEADER, "|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        spec = get_dataset_spec(r.dataset)
        data = f"{spec.task} {spec.id_level}" + (
            "" if spec.family == "d4rl" else f" ({spec.family})"
        )
        lines.append(
            f"| {r.algo.upper()} {data} `{r.scale}` {r.mode}, seeds {r.seeds} "
            f"| {r.ms_per_seed_step:.1f} | {r.train_s:,.0f} | {r.eval_s:,.0f} "
            f"| {100 * r.eval_share:.1f}% | {r.core_hours:.2f} | {r.gemm_gflops:.0f} "
            f"| {short_cpu(r.cpu)} |"
        )
    return lines


def write(lines: list[str], target: Path) -> None:
    text = target.read_text().splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("| job | ms per seed-step"))
    end = next((i for i in range(start, len(text)) if not text[i].strip()), len(text))
    target.write_text("\n".join(text[:start] + lines + text[end:]) + "\n")


def main() -> None:
    args = sys.argv[1:]
    if {"-h", "--help"} & set(args):
        print(__doc__)
        return
    target = Path(args.pop(args.index("--write") + 1)) if "--write" in args else None
    args = [a for a in args if a != "--write"]
    lines = table(Path(args[0] if args else "results/learning"))
    if target:
        write(lines, target)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
