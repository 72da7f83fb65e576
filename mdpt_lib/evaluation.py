"""Evaluate a policy: all episodes step together, one batched action call per environment step.

With ``episodes = K`` and ``N`` candidates per state, every step asks the diffusion model for ``K x N``
candidate actions at once and the guidance scores them at once; finished episodes drop out of the
batch. Environments step in this process: a bullet step costs ~0.3 ms while the batched policy call
costs milliseconds; ``benchmarks/evaluation.py`` measures whether worker processes would pay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mdpt_lib.envs import MAX_EPISODE_STEPS, TASKS, get_task, make_env, normalized_score
from mdpt_lib.measure import COUNTS


@dataclass
class EvalResult:
    """Per-episode undiscounted ``returns``, D4RL-normalised ``scores`` (0 random, 100 expert),
    ``lengths`` and ``distances``: how far the robot's base moved forward (x, metres; NaN where the
    environment does not expose it). A long episode that went nowhere is a policy that learned to
    stand, not to move."""

    task: str
    returns: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray
    selection: dict = field(default_factory=dict)  # SelectionStats of guided candidate selection
    distances: np.ndarray | None = None

    @property
    def mean_score(self) -> float:
        return float(self.scores.mean())

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "returns": self.returns.tolist(),
            "scores": self.scores.tolist(),
            "lengths": self.lengths.tolist(),
            **({} if self.distances is None else {"distances": self.distances.tolist()}),
            **self.selection,
        }


def run_episodes(
    task: str, act, episodes: int, seed: int, max_steps: int = MAX_EPISODE_STEPS
) -> EvalResult:
    """Play ``episodes`` episodes with ``act``: obs (K, obs_dim) numpy -> actions (K, act_dim) numpy.

    Episode ``k`` starts from ``reset(seed=seed + k)``, so the same seed gives the same starts.
    ``max_steps`` below the task's 1000 cuts episodes short (quick smoke runs only: such returns
    are not comparable with D4RL's reference returns).
    """
    spec = get_task(task)
    envs = [make_env(spec.name) for _ in range(episodes)]

    obs = np.stack([env.reset(seed=seed + k)[0] for k, env in enumerate(envs)]).astype(np.float32)
    start = np.array([_base_x(env) for env in envs])
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, dtype=int)
    active = np.arange(episodes)
    while len(active):
        actions = act(obs[active])
        still = []
        for j, k in enumerate(active):
            o, r, term, trunc, _ = envs[k].step(actions[j])
            obs[k] = o
            returns[k] += r
            lengths[k] += 1
            COUNTS["env_steps"] += 1
            if not (term or trunc or lengths[k] >= max_steps):
                still.append(k)
        active = np.asarray(still, dtype=int)
    distances = np.array([_base_x(env) for env in envs]) - start
    for env in envs:
        env.close()
    scores = np.asarray(normalized_score(spec.name, returns))
    return EvalResult(spec.name, returns, scores, lengths, distances=distances)


def _base_x(env) -> float:
    """The x coordinate (metres) of a pybullet locomotion robot's base, NaN for other envs."""
    robot = getattr(env.unwrapped, "robot", None)
    xyz = getattr(robot, "body_xyz", None)
    return float(xyz[0]) if xyz is not None else float("nan")


def evaluate(
    agent,
    task: str | None = None,
    episodes: int = 10,
    seed: int = 0,
    guidance=None,
    max_steps: int = MAX_EPISODE_STEPS,
    precision: str | None = None,
) -> EvalResult:
    """Evaluate ``agent`` (its own guidance, or ``guidance`` swapped in) on ``task`` (default: its own).

    The agent's sampling noise is seeded from ``seed`` too, so an evaluation is reproducible. The
    result's ``selection`` holds the mean effective number of candidates and score spread per state
    (``mdpt_lib.policy.SelectionStats``) when a guidance chose among candidates. ``precision``
    ("fp32" | "bf16", default: the agent's ``inference_precision``) is that of sampling the candidates.
    """
    from mdpt_lib.config import PRECISIONS
    from mdpt_lib.policy import SelectionStats

    if precision is not None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}: use one of {', '.join(PRECISIONS)}")
        hp = agent.policy.hp
        saved, hp["inference_precision"] = hp.get("inference_precision", "fp32"), precision
        try:
            return evaluate(agent, task, episodes, seed, guidance, max_steps)
        finally:
            hp["inference_precision"] = saved

    if task is None and agent.task is None:
        raise ValueError(
            "this agent was trained on arrays of no known task, so there is no environment to "
            f"evaluate it in: pass task=... (one of {', '.join(TASKS)}) if its data came from one"
        )
    task = get_task(task or agent.task).name
    if agent.task is None:
        spec = get_task(task)
        if (spec.obs_dim, spec.act_dim) != (agent.info.obs_dim, agent.info.act_dim):
            raise ValueError(
                f"task {task!r} has observations of {spec.obs_dim} and actions of {spec.act_dim} "
                f"dimensions; this agent's data has {agent.info.obs_dim} and {agent.info.act_dim}"
            )
    generator = torch.Generator(device=agent.device).manual_seed(seed)
    stats = SelectionStats()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        act = lambda o: agent.act(o, guidance=guidance, generator=generator, stats=stats)  # noqa: E731
        result = run_episodes(task, act, episodes, seed, max_steps)
    if stats.states:
        result.selection = stats.to_dict()
    return result
