"""Wall time of a short call: ``fit(dataset, steps=2)`` plus one ``act``, in a fresh process.

    python benchmarks/startup.py [--dataset bullet-hopper-medium-replay-v0] [--algo dql] [--repeats 3]

Each repeat is a new Python process (nothing cached in memory), timed from before ``import
mdpt_lib`` to after the action: with the default (``MDPT_MISH=auto``: a 2-step fit runs the eager
Mish, nothing to build), with the C++ Mish forced on (``MDPT_MISH=cpp``: loading its build, cached
on disk once built on this machine) and with the compiled fused Mish forced on from the start
(``MDPT_MISH=fused``, what every run paid before the fused Mish became conditional). The dataset must be built already
(``python -m mdpt_lib.data build ...``); its load is part of the time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import mdpt_lib
t1 = time.perf_counter()
agent = mdpt_lib.fit(sys.argv[1], algo=sys.argv[2], steps=2, progress=False)
t2 = time.perf_counter()
agent.act(np.zeros((1, agent.info.obs_dim), np.float32))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "fit": t2 - t1, "act": t3 - t2, "total": t3 - t0}))
"""


def run(dataset: str, algo: str, mish: str) -> dict:
    env = {**os.environ, "MDPT_MISH": mish}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, dataset, algo],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="bullet-hopper-medium-replay-v0")
    parser.add_argument("--algo", default="dql")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from mdpt_lib.experiments.grid import cpu_model

    print(f"CPU: {cpu_model()}; {args.algo} on {args.dataset}; median of {args.repeats} processes")
    print(f"{'Mish':<28} {'import s':>9} {'fit s':>7} {'act s':>7} {'total s':>8}")
    modes = (
        ("auto (default)", "auto"),
        ("cpp, cached build loaded", "cpp"),
        ("fused, compiled at start", "fused"),
    )
    for label, mode in modes:
        runs = [run(args.dataset, args.algo, mode) for _ in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{label:<28} {med['import']:>9.2f} {med['fit']:>7.2f} {med['act']:>7.2f} "
            f"{med['total']:>8.2f}"
        )


if __name__ == "__main__":
    main()
