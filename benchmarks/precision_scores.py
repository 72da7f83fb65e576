"""bfloat16 training against fp32: speed per step and the scores the trained policies reach.

    python benchmarks/precision_scores.py                                  # DQL, hopper medium-replay
    python benchmarks/precision_scores.py --algo idql --steps 3000 --seeds 5 --threads 2

For each precision, trains the same seeds on the same data with the same hyperparameters (only
``precision`` differs), then evaluates every seed's policy on the same evaluation seeds. Prints time
per training step, each seed's score, the IQM with its 95% stratified-bootstrap interval, and the
paired bf16 - fp32 difference per seed. ``precision="bf16"`` autocasts the step's matrix products to
bfloat16 (weights and optimiser state stay fp32); it pays on CPUs with AVX512-BF16 or AMX and on GPUs.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="bullet-hopper-medium-replay-v0")
    parser.add_argument("--algo", default="dql", choices=["dql", "idql"])
    parser.add_argument("--steps", type=int, default=2000, help="diffusion training steps")
    parser.add_argument("--seeds", type=int, default=3, help="seeds, trained together")
    parser.add_argument("--episodes", type=int, default=5, help="evaluation episodes per seed")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    import mdpt_lib
    from mdpt_lib.stats import summarize

    torch.set_num_threads(args.threads)
    seeds = list(range(args.seeds))
    scores, seconds = {}, {}
    for precision in ("fp32", "bf16"):
        agents = mdpt_lib.fit(
            args.dataset, algo=args.algo, steps=args.steps, seed=seeds, precision=precision
        )
        seconds[precision] = agents[0].results["measure"]["diffusion_step_seconds"]
        scores[precision] = np.array(
            [mdpt_lib.evaluate(a, episodes=args.episodes, seed=1000).mean_score for a in agents]
        )
    table = summarize(scores, statistics=("mean", "iqm"))
    print(
        f"\n{args.algo.upper()} on {args.dataset}: {args.steps} steps, {args.seeds} seeds trained "
        f"together, {args.episodes} episodes per seed, {args.threads} torch thread(s)"
    )
    print(f"{'precision':<10} {'ms/step':>8} {'IQM [95% CI]':>22}   per-seed scores")
    for p in ("fp32", "bf16"):
        row = table.loc[p]
        ci = f"{row.iqm:.1f} [{row.iqm_low:.1f}, {row.iqm_high:.1f}]"
        per_seed = " ".join(f"{s:6.1f}" for s in scores[p])
        print(f"{p:<10} {1000 * seconds[p]:>8.1f} {ci:>22}   {per_seed}")
    diff = scores["bf16"] - scores["fp32"]
    print(
        f"bf16 - fp32 per seed: {' '.join(f'{d:+.1f}' for d in diff)} (mean {diff.mean():+.1f}); "
        f"bf16 step time {seconds['bf16'] / seconds['fp32']:.2f}x fp32's"
    )


if __name__ == "__main__":
    main()
