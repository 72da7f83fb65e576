"""Steps/s of the official Diffusion-QL training code on this machine, for comparison with ours.

    git clone https://github.com/Zhendong-Wang/Diffusion-Policies-for-Offline-RL /tmp/dql_official
    python benchmarks/official_dql_speed.py --repo /tmp/dql_official [--threads 2] [--seeds 1]
    python benchmarks/official_dql_speed.py --repo /tmp/dql_official --precision fp32 bf16

Runs the official ``Diffusion_QL.train`` (VP schedule, T = 5, batch 256, grad-norm 9) on synthetic
halfcheetah-sized data with the same sizes as ``benchmarks/train_speed.py`` and prints its steps/s
beside ours (``mdpt_lib``'s DQL joint step, same batch, T, networks and losses). The official code
is not part of this project: point ``--repo`` at your own checkout of it.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch


class SyntheticSampler:
    """The official code's replay-buffer interface: ``sample(batch)`` -> (s, a, s', r, not_done)."""

    def __init__(self, obs_dim: int = 26, act_dim: int = 6, rows: int = 100_000) -> None:
        g = torch.Generator().manual_seed(0)
        self.s = torch.randn(rows, obs_dim, generator=g)
        self.a = torch.rand(rows, act_dim, generator=g) * 2 - 1
        self.s2 = torch.randn(rows, obs_dim, generator=g)
        self.r = torch.randn(rows, 1, generator=g)
        self.rows = rows

    def sample(self, batch: int):
        i = torch.randint(0, self.rows, (batch,))
        return self.s[i], self.a[i], self.s2[i], self.r[i], torch.ones(batch, 1)


def official_steps_per_s(repo: str, steps: int) -> float:
    sys.path.insert(0, repo)
    from agents.ql_diffusion import Diffusion_QL  # the official code, from the user's checkout

    agent = Diffusion_QL(
        state_dim=26,
        action_dim=6,
        max_action=1.0,
        device="cpu",
        discount=0.99,
        tau=0.005,
        beta_schedule="vp",
        n_timesteps=5,
        grad_norm=9.0,
    )
    sampler = SyntheticSampler()
    agent.train(sampler, iterations=10, batch_size=256)
    t = time.perf_counter()
    agent.train(sampler, iterations=steps, batch_size=256)
    return steps / (time.perf_counter() - t)


def our_steps_per_s(steps: int, seeds: int, precision: str = "fp32") -> float:
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from train_speed import synthetic

    from mdpt_lib.agent import make_trainer
    from mdpt_lib.nets import use_fast_mish_for

    use_fast_mish_for(10**6)  # what a long run gets (under MDPT_MISH=auto: the C++ Mish)
    trainer = make_trainer(
        synthetic(),
        algo="dql",
        steps=steps,
        seed=list(range(seeds)),
        task="halfcheetah",
        grad_clip=9.0,
        precision=precision,
    )
    for _ in range(10):
        trainer.diffusion_step()
    t = time.perf_counter()
    for _ in range(steps):
        trainer.diffusion_step()
    return seeds * steps / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repo", required=True, help="a checkout of the official Diffusion-QL code"
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["fp32"],
        choices=["fp32", "bf16"],
        help="ours in these precisions (bf16: autocast flag; not the same arithmetic as official)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    official = official_steps_per_s(args.repo, args.steps)
    print(f"official Diffusion-QL, 1 seed : {official:6.1f} steps/s  ({args.threads} threads)")
    for precision in args.precision:
        for seeds in args.seeds:
            ours = our_steps_per_s(args.steps, seeds, precision)
            print(
                f"mdpt_lib DQL joint {precision}, {seeds} seed(s): {ours:6.1f} steps/s aggregate "
                f"= {ours / official:.2f}x"
            )


if __name__ == "__main__":
    main()
