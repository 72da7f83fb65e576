"""Does bfloat16 sampling at evaluation move scores? The same trained agents, the same episode
seeds, evaluated with the candidates sampled in fp32 and in bf16 (``evaluate(precision=...)``).

    python benchmarks/inference_precision.py [--algo dql] [--seeds 1 2 3 4] [--episodes 10]

Reads the agents of the decisive joint runs (cache, else ``results/agents``) of hopper
medium-replay and prints, per seed, the mean score under each precision, the wall time of each
evaluation and the paired difference (seeds as the unit).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="bullet-hopper-medium-replay-v0")
    parser.add_argument("--algo", default="dql")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.evaluation import evaluate
    from mdpt_lib.experiments.grid import cpu_model, load_cell_agents
    from mdpt_lib.experiments.scales import findings_scale

    scale = findings_scale(get_dataset_spec(args.dataset).task, args.algo)
    agents = load_cell_agents(args.dataset, args.algo, "joint", scale, args.seeds, missing_ok=True)
    print(f"CPU: {cpu_model()}, 1 thread; {args.algo} joint at {scale} on {args.dataset}")
    print(f"{'seed':>4} {'fp32':>7} {'bf16':>7} {'bf16-fp32':>9} {'fp32 s':>7} {'bf16 s':>7}")
    diffs = []
    for agent in agents:
        seed, row = agent.results["seed"], {}
        for precision in ("fp32", "bf16"):
            start = time.perf_counter()
            res = evaluate(
                agent, episodes=args.episodes, seed=1000 * (seed + 1), precision=precision
            )
            row[precision] = (res.mean_score, time.perf_counter() - start)
        diffs.append(row["bf16"][0] - row["fp32"][0])
        print(
            f"{seed:>4} {row['fp32'][0]:>7.1f} {row['bf16'][0]:>7.1f} {diffs[-1]:>+9.1f} "
            f"{row['fp32'][1]:>7.0f} {row['bf16'][1]:>7.0f}"
        )
    if diffs:
        print(f"mean paired difference {np.mean(diffs):+.1f} over {len(diffs)} seeds")


if __name__ == "__main__":
    main()
