"""Behaviour policies as plain numpy: a SAC actor snapshot evaluated without torch.

Building a 1M-row dataset calls the policy a million times with one observation; a numpy forward
pass costs a few microseconds there, a torch one tens (framework overhead), so the builder uses this.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
"""Bounds of the actor's log standard deviation (shared with the torch actor in ``sac.py``)."""

LAYERS = ("fc1", "fc2", "mean", "log_std")


class NumpyActor:
    """The tanh-Gaussian SAC actor: obs (obs_dim,) -> action (act_dim,) in [-1, 1]."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        missing = [f"{n}.{p}" for n in LAYERS for p in "Wb" if f"{n}.{p}" not in weights]
        if missing:
            raise ValueError(f"actor snapshot lacks {missing}")
        w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self.W1, self.b1, self.W2, self.b2 = w["fc1.W"], w["fc1.b"], w["fc2.W"], w["fc2.b"]
        # the two heads as one matmul: columns [mean | log_std]
        self.Wh = np.concatenate([w["mean.W"], w["log_std.W"]], axis=1)
        self.bh = np.concatenate([w["mean.b"], w["log_std.b"]])
        self.obs_dim, self.act_dim = self.W1.shape[0], w["mean.W"].shape[1]

    @classmethod
    def load(cls, path: str | Path) -> NumpyActor:
        with np.load(path) as f:
            return cls(dict(f))

    def __call__(self, obs: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """Deterministic action ``tanh(mean)``, or ``tanh(mean + std * noise)`` with standard-normal ``noise``."""
        h = np.maximum(obs.astype(np.float32, copy=False) @ self.W1 + self.b1, 0.0)
        h = np.maximum(h @ self.W2 + self.b2, 0.0)
        out = h @ self.Wh + self.bh
        mean = out[..., : self.act_dim]
        if noise is None:
            return np.tanh(mean)
        log_std = np.clip(out[..., self.act_dim :], LOG_STD_MIN, LOG_STD_MAX)
        return np.tanh(mean + np.exp(log_std) * noise)


def off_mean_rms(actor: NumpyActor, observations: np.ndarray, actions: np.ndarray) -> float:
    """Root-mean-square distance, per action dimension, of ``actions`` (N, act_dim) from the
    actor's mean action ``tanh(mean(s))`` at ``observations`` (N, obs_dim): 0 for data the actor
    made deterministically, the spread of the actions around each state's mean for sampled data."""
    return float(np.sqrt(np.mean((actions - actor(observations)) ** 2)))
