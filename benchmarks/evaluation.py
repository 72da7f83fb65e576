"""Where evaluation time goes, and whether worker processes would pay.

    python benchmarks/evaluation.py [--task halfcheetah] [--episodes 10] [--steps 300]

Times, for ``episodes`` environments stepped together: (a) stepping them in this process, as
``mdpt_lib.evaluation`` does; (b) stepping them in worker processes (Gymnasium's AsyncVectorEnv,
one process per environment); (c) one batched action call of a Diffusion-QL policy (50 candidates per state) and of
an IDQL policy (32 candidates) at the paper's sizes, with the candidates sampled in fp32 and, where
the CPU multiplies bfloat16 natively, under bfloat16 autocast (``inference_precision="bf16"``). Workers can only save part of (a); if (c)
dominates, they do not pay.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch


def in_process(task: str, episodes: int, steps: int) -> float:
    from mdpt_lib.envs import make_env

    envs = [make_env(task, seed=k) for k in range(episodes)]
    start = time.perf_counter()
    for _ in range(steps):
        for env in envs:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()
    return (time.perf_counter() - start) / steps


def in_workers(task: str, episodes: int, steps: int) -> float:
    import gymnasium as gym

    from mdpt_lib.envs import make_env

    vec = gym.vector.AsyncVectorEnv([lambda k=k: make_env(task, seed=k) for k in range(episodes)])
    vec.reset(seed=0)
    actions = np.zeros((episodes, vec.single_action_space.shape[-1]), np.float32)
    start = time.perf_counter()
    for _ in range(steps):
        vec.step(actions)
    vec.close()
    return (time.perf_counter() - start) / steps


def policy_call(algo: str, episodes: int, candidates: int, precision: str = "fp32") -> float:
    sys.path.insert(0, str(Path(__file__).parent))
    from train_speed import synthetic

    from mdpt_lib.agent import Agent, make_trainer
    from mdpt_lib.ensemble import member
    from mdpt_lib.nets import use_fast_mish_for

    use_fast_mish_for(10**6)  # what a long run gets (under MDPT_MISH=auto: the C++ Mish)
    trainer = make_trainer(synthetic(1000), algo=algo, steps=1, task="halfcheetah")
    agent = Agent(member(trainer.policy, 0), member(trainer.guidance, 0), algo)
    agent.policy.hp["inference_precision"] = precision
    obs = np.zeros((episodes, 26), np.float32)
    agent.act(obs, candidates=candidates)
    start = time.perf_counter()
    for _ in range(5):
        agent.act(obs, candidates=candidates)
    return (time.perf_counter() - start) / 5


def bf16_native() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), where the flag pays."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="halfcheetah")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    rows = [
        (
            f"{args.episodes} envs stepped in this process",
            in_process(args.task, args.episodes, args.steps),
        ),
        (
            f"{args.episodes} envs stepped in {args.episodes} worker processes",
            in_workers(args.task, args.episodes, args.steps),
        ),
        (
            f"DQL action call, {args.episodes} states x 50 candidates",
            policy_call("dql", args.episodes, 50),
        ),
        (
            f"IDQL action call, {args.episodes} states x 32 candidates",
            policy_call("idql", args.episodes, 32),
        ),
    ]
    if bf16_native():
        rows += [
            (
                f"DQL action call, {args.episodes} x 50, bf16 sampling",
                policy_call("dql", args.episodes, 50, "bf16"),
            ),
            (
                f"IDQL action call, {args.episodes} x 32, bf16 sampling",
                policy_call("idql", args.episodes, 32, "bf16"),
            ),
        ]
    from mdpt_lib.experiments.grid import cpu_model, gemm_gflops

    print(
        f"CPU: {cpu_model()}, torch threads: {torch.get_num_threads()}, "
        f"fp32 GEMM {gemm_gflops():.0f} GFLOP/s"
    )
    print(f"{'per environment step of the whole evaluation':<52} {'ms':>8}")
    for name, seconds in rows:
        print(f"{name:<52} {1000 * seconds:>8.2f}")


if __name__ == "__main__":
    main()
