"""Two settings of one hyperparameter, side by side: time per step and the scores policies reach.

    python benchmarks/compare_hparams.py precision fp32 bf16 --seeds 4 --steps 2500
    python benchmarks/compare_hparams.py pretrain_form td_policy sarsa --mode guidance_first

Trains the same seeds on the same data with the same hyperparameters except ``NAME``, once per
value, then evaluates every seed's policy on the same evaluation seeds. Prints, per value: time per
diffusion step (and per stage-1 step for guidance_first), each seed's score, the IQM with its 95%
stratified-bootstrap interval, and the paired differences per seed against the first value.

``precision="bf16"`` autocasts the training step's matrix products to bfloat16 (weights and
optimiser state stay fp32); it pays on CPUs with AVX512-BF16 or AMX and on GPUs.
``pretrain_form`` is how Diffusion-QL's critic is pretrained in guidance-first stage 1
(``td_policy``: next actions from the EMA policy, as its code; ``sarsa``: the dataset's next action).
"""

from __future__ import annotations

import argparse
import ast

import numpy as np


def parse_value(text: str):
    """``0.5`` -> 0.5, ``True`` -> True, anything else stays a string (``bf16``)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="a field of mdpt_lib.config.HParams")
    parser.add_argument("values", nargs=2, help="the two values to compare (the first is the base)")
    parser.add_argument("--dataset", default="bullet-hopper-medium-replay-v0")
    parser.add_argument("--algo", default="dql", choices=["dql", "idql"])
    parser.add_argument("--mode", default="joint", help="a training mode (mdpt_lib.modes)")
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
    scores, measure = {}, {}
    for value in args.values:
        agents = mdpt_lib.fit(
            args.dataset,
            algo=args.algo,
            mode=args.mode,
            steps=args.steps,
            seed=seeds,
            **{args.name: parse_value(value)},
        )
        measure[value] = agents[0].results["measure"]
        scores[value] = np.array(
            [mdpt_lib.evaluate(a, episodes=args.episodes, seed=1000).mean_score for a in agents]
        )
    table = summarize(scores, statistics=("mean", "iqm"))
    print(
        f"\n{args.algo.upper()} {args.mode} on {args.dataset}: {args.steps} steps, {args.seeds} "
        f"seeds trained together, {args.episodes} episodes per seed, {args.threads} torch thread(s)"
    )
    print(
        f"{args.name:<14} {'ms/step':>8} {'stage-1 ms':>10} {'IQM [95% CI]':>22}   per-seed scores"
    )
    for value in args.values:
        row, m = table.loc[value], measure[value]
        ci = f"{row.iqm:.1f} [{row.iqm_low:.1f}, {row.iqm_high:.1f}]"
        stage1 = m.get("guidance_step_seconds")
        stage1 = f"{1000 * stage1:.1f}" if stage1 else "-"
        per_seed = " ".join(f"{s:6.1f}" for s in scores[value])
        step_ms = 1000 * m["diffusion_step_seconds"]
        print(f"{value:<14} {step_ms:>8.1f} {stage1:>10} {ci:>22}   {per_seed}")
    base, other = args.values
    diff = scores[other] - scores[base]
    ratio = measure[other]["diffusion_step_seconds"] / measure[base]["diffusion_step_seconds"]
    print(
        f"{other} - {base} per seed: {' '.join(f'{d:+.1f}' for d in diff)} (mean {diff.mean():+.1f});"
        f" {other} step time {ratio:.2f}x {base}'s"
    )


if __name__ == "__main__":
    main()
