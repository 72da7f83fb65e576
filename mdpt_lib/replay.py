"""Offline data as training batches: normalisation statistics, reward scaling, batch sampling.

``DataInfo`` is what every trained module remembers of its data (task, sizes, observation
normalisation, reward scale, dataset name): the guidance/policy compatibility checks compare it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch

from mdpt_lib.envs import get_task
from mdpt_lib.rng import MemberRNG

OBS_STD_EPS = 1e-3
"""Added to observation standard deviations: some bullet observation dims are constant (contacts)."""


@dataclass
class DataInfo:
    task: str | None  # None: the user's own data, of no known environment
    obs_dim: int
    act_dim: int
    dataset: str  # registry id, or "dict:<fingerprint>" for user arrays
    obs_mean: np.ndarray = field(repr=False)
    obs_std: np.ndarray = field(repr=False)
    reward_scale: float = 1.0

    def to_dict(self) -> dict:
        return {
            **self.__dict__,
            "obs_mean": self.obs_mean.tolist(),
            "obs_std": self.obs_std.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataInfo:
        return cls(
            **{
                **d,
                "obs_mean": np.asarray(d["obs_mean"], np.float32),
                "obs_std": np.asarray(d["obs_std"], np.float32),
            }
        )


def fingerprint(data: dict[str, np.ndarray]) -> str:
    """A short content hash of a transitions dict (sizes and a strided sample of rows)."""
    h = hashlib.sha1()
    n = len(data["rewards"])
    rows = np.linspace(0, n - 1, num=min(n, 4096)).astype(int)
    for key in ("observations", "actions", "rewards"):
        h.update(np.ascontiguousarray(data[key][rows]).tobytes())
    h.update(str(n).encode())
    return h.hexdigest()[:12]


def episode_ends(data: dict[str, np.ndarray]) -> np.ndarray:
    """Index of the last row of every episode segment (a terminal, a time-out, or the data's end)."""
    ends = np.flatnonzero(data["terminals"] | data["timeouts"])
    if len(ends) == 0 or ends[-1] != len(data["rewards"]) - 1:
        ends = np.append(ends, len(data["rewards"]) - 1)
    return ends


def episode_returns(data: dict[str, np.ndarray]) -> np.ndarray:
    """Undiscounted return of every episode of ``data`` (segments end at terminal | timeout)."""
    ends = episode_ends(data)
    return np.add.reduceat(data["rewards"].astype(np.float64), np.concatenate([[0], ends[:-1] + 1]))


def returns_to_go(data: dict[str, np.ndarray], gamma: float) -> np.ndarray:
    """Discounted return from each transition to the end of its episode segment: (N,) float32.

    A diagnostic of the critics (Q(s, a) against what the data actually earned from there); it is
    cut at time-outs, so it underestimates the value there.
    """
    from scipy.signal import lfilter

    rewards = data["rewards"].astype(np.float64)
    ends = episode_ends(data)
    out = np.empty_like(rewards)
    start = 0
    for end in ends:
        seg = rewards[start : end + 1][::-1]
        out[start : end + 1] = lfilter([1.0], [1.0, -gamma], seg)[::-1]
        start = end + 1
    return out.astype(np.float32)


def episode_return_range(data: dict[str, np.ndarray]) -> float:
    """max - min undiscounted return over the episodes of ``data``."""
    sums = episode_returns(data)
    return float(sums.max() - sums.min())


def reward_scale_factor(data: dict[str, np.ndarray], reward_scale: str = "iql") -> float:
    """The factor the critics' rewards are multiplied by: 1000 / (max - min episode return) for
    ``"iql"`` (IQL's rule), 1 for ``"none"``."""
    return 1000.0 / max(episode_return_range(data), 1e-6) if reward_scale == "iql" else 1.0


ACTION_TOLERANCE = 1e-4
"""Actions up to this far outside [-1, 1] are rounding at the bounds and are clipped; beyond it,
training data is refused."""


def check_action_range(actions: np.ndarray, source: str) -> np.ndarray:
    """``actions`` (N, act) clipped to [-1, 1] if they lie within rounding of it; else a clear error.

    The diffusion policies sample actions in [-1, 1], so data outside it would train a wrong policy.
    """
    from mdpt_lib.data.layouts import DatasetError

    outside = np.abs(actions) > 1 + ACTION_TOLERANCE
    if outside.any():
        rows = np.flatnonzero(outside.any(axis=1))
        raise DatasetError(
            f"{source}: actions lie outside [-1, 1] in {len(rows)} of {len(actions)} rows (first "
            f"at row {int(rows[0])}, range [{actions.min():.3g}, {actions.max():.3g}]). The "
            "diffusion policies sample actions in [-1, 1], so such data would train a wrong policy: "
            "rescale each dimension, a = 2 (a - low) / (high - low) - 1, with the action space's "
            "bounds (and map the policy's actions back when you act)."
        )
    return np.clip(actions, -1.0, 1.0) if np.abs(actions).max(initial=0.0) > 1 else actions


class OfflineData:
    """Transitions as torch tensors on ``device``, with what the losses need precomputed.

    ``next_actions[i]`` is the dataset's action after transition ``i`` (for SARSA targets);
    ``has_next_action[i]`` is False where none exists (a time-out or the end of the data).
    """

    def __init__(
        self,
        data: dict[str, np.ndarray],
        task: str | None,
        dataset_name: str,
        reward_scale: str = "iql",
        device: str | torch.device = "cpu",
        gamma: float = 0.99,
    ) -> None:
        obs = data["observations"]
        mean = obs.mean(0).astype(np.float32)
        std = (obs.std(0) + OBS_STD_EPS).astype(np.float32)
        scale = reward_scale_factor(data, reward_scale)
        name = get_task(task).name if task is not None else None
        obs_dim, act_dim = obs.shape[1], data["actions"].shape[1]
        self.info = DataInfo(name, obs_dim, act_dim, dataset_name, mean, std, scale)
        self.device = torch.device(device)
        t = lambda a: torch.as_tensor(np.ascontiguousarray(a), device=self.device)  # noqa: E731
        self.obs = t(obs.astype(np.float32))
        self.actions = t(check_action_range(data["actions"], dataset_name).astype(np.float32))
        self.rewards = t(data["rewards"].astype(np.float32))
        self.next_obs = t(data["next_observations"].astype(np.float32))
        self.terminals = t(data["terminals"].astype(np.float32))
        # scaled like the critics' rewards, so Q and the data's own returns compare directly
        self.mc_returns = t(returns_to_go(data, gamma) * np.float32(scale))
        ends = data["terminals"] | data["timeouts"]
        next_actions = np.zeros_like(data["actions"])
        next_actions[:-1] = data["actions"][1:]
        has_next = ~ends.copy()
        has_next[-1] = False
        self.next_actions = t(next_actions.astype(np.float32))
        self.has_next_action = t(
            (has_next | data["terminals"]).astype(np.float32)
        )  # terminal: unused
        self.size = len(self.rewards)

    def sample(self, batch_size: int, rng: MemberRNG) -> dict[str, torch.Tensor]:
        """Independent batches for each member, from its own generator: tensors shaped (E, B, ...)."""
        idx = rng.randint(self.size, batch_size)
        return {
            "obs": self.obs[idx],
            "actions": self.actions[idx],
            "rewards": self.rewards[idx],
            "next_obs": self.next_obs[idx],
            "terminals": self.terminals[idx],
            "next_actions": self.next_actions[idx],
            "has_next_action": self.has_next_action[idx],
            "mc_return": self.mc_returns[idx],
        }
