"""Dataset build rate against bare environment stepping, side by side on the same cores.

    python benchmarks/data_build_rate.py --task hopper --level medium [--rows 1000000]

Prints env steps/s of (a) the bare environment with uniformly random actions, one process per core,
and (b) building ``rows`` rows of a dataset with the committed behaviour snapshot (the same worker
processes as ``mdpt_lib.data.build``), and their ratio (the target is >= 80%). Run it on an otherwise
idle machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from mdpt_lib.data import build
from mdpt_lib.envs import make_env


def bare_steps(task: str, steps: int, seed: int) -> float:
    """Seconds for ``steps`` random-action steps (with resets) in one process."""
    env = make_env(task, seed=seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="hopper")
    parser.add_argument("--level", default="medium", choices=list(build.ROLLOUT_LEVELS))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()

    per_worker = args.rows // args.workers
    with ProcessPoolExecutor(args.workers) as pool:
        start = time.perf_counter()
        list(
            pool.map(
                bare_steps,
                [args.task] * args.workers,
                [per_worker] * args.workers,
                range(args.workers),
            )
        )
        bare = args.workers * per_worker / (time.perf_counter() - start)

    os.environ["MDPT_DATA_DIR"] = tempfile.mkdtemp(prefix="mdpt-bench-")
    start = time.perf_counter()
    build.build(args.task, args.level, rows=args.rows, workers=args.workers, progress=False)
    built = args.rows / (time.perf_counter() - start)

    print(f"{'what':<44} {'env steps/s':>12}")
    print(f"{'bare env, random actions, ' + str(args.workers) + ' processes':<44} {bare:>12,.0f}")
    print(
        f"{'build ' + args.task + '-' + args.level + ', ' + f'{args.rows:,} rows':<44} {built:>12,.0f}"
    )
    print(f"\nbuild / bare = {built / bare:.0%} (target >= 80%; includes writing the HDF5 file)")


if __name__ == "__main__":
    main()
