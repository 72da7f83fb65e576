"""Smoke run: make every task, play one episode with uniformly random actions, print a table.

python -m mdpt_lib smoke [--seed 0]
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from mdpt_lib.envs import TASKS, make_env, normalized_score

Policy = Callable[[np.ndarray], np.ndarray]
"""obs (obs_dim,) -> action (act_dim,) in [-1, 1]."""


def episode(task: str, seed: int, policy: Policy | None = None) -> tuple[float, int, float]:
    """Return (undiscounted return, length, seconds spent stepping) of one episode of ``policy``.

    ``policy=None`` samples uniformly random actions from the action space (seeded by ``seed``).
    """
    env = make_env(task, seed=seed)
    obs, _ = env.reset(seed=seed)
    total, steps, done = 0.0, 0, False
    start = time.perf_counter()
    while not done:
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        steps += 1
        done = terminated or truncated
    elapsed = time.perf_counter() - start
    env.close()
    return total, steps, elapsed


def main(seed: int = 0) -> None:
    header = f"{'task':<12} {'gymnasium id':<24} {'obs':>4} {'act':>4} {'return':>9} {'score':>7} {'steps':>6} {'steps/s':>8}"
    print(header)
    print("-" * len(header))
    for name, task in TASKS.items():
        ret, steps, elapsed = episode(name, seed)
        rate = steps / elapsed
        score = normalized_score(name, ret)
        print(
            f"{name:<12} {task.env_id:<24} {task.obs_dim:>4} {task.act_dim:>4} "
            f"{ret:>9.1f} {score:>7.1f} {steps:>6} {rate:>8.0f}"
        )
        if not np.isfinite(ret):
            raise SystemExit(f"{name}: non-finite return {ret}: the environment is broken")
    print(f"\nOne random-action episode per task (seed {seed}); score = D4RL normalised score.")
