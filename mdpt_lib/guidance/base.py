"""The guidance interface: a value estimator learned from offline data that steers a diffusion policy.

A guidance module is a standalone object. It
- scores candidate actions for states (``score``, used to choose among sampled candidates) and gives
  differentiable Q values (``q_values``, used by Diffusion-QL's actor loss);
- trains on batches of its dataset (``update``), and can be frozen (``freeze``);
- remembers the task, sizes, observation normalisation and dataset it was trained on (``info``) and
  normalises raw observations itself, so it plugs into any policy of the same task;
- saves and loads alone (``save`` / ``mdpt_lib.guidance.load_guidance``).
All tensors carry a leading ensemble dimension E (independently seeded members trained together).
"""

from __future__ import annotations

import copy
import warnings
from abc import ABC, abstractmethod
from pathlib import Path

import torch

from mdpt_lib.config import SELECTIONS
from mdpt_lib.diffusion import cosine_lr
from mdpt_lib.ensemble import EnsembleModule, clip_grad_norm_per_member
from mdpt_lib.nets import EnsembleMLP, Mish
from mdpt_lib.replay import DataInfo


class IncompatibleGuidanceError(ValueError):
    """A guidance module plugged into a policy of another task or other sizes."""


class DatasetMismatchWarning(UserWarning):
    """A guidance trained on another dataset than the policy (the paper's distribution-mismatch caveat)."""


class Guidance(EnsembleModule, ABC):
    kind: str = "base"
    extra_attributes = ("info", "frozen")

    def __init__(self, ensemble: int, info: DataInfo, hp: dict) -> None:
        super().__init__()
        self.init_args = {"ensemble": ensemble, "info": info, "hp": hp}
        self.info, self.hp, self.frozen = info, hp, False
        self.register_buffer("obs_mean", torch.as_tensor(info.obs_mean))
        self.register_buffer("obs_std", torch.as_tensor(info.obs_std))
        self.optimizers: list[torch.optim.Optimizer] = []
        # both guidances hold twin Q critics (Mish MLPs) and their Polyak targets; the 2E members
        # are laid out member-major: rows 2k and 2k+1 are member k's twins
        o, a, h, n = info.obs_dim, info.act_dim, hp["critic_hidden"], hp["critic_layers"]
        self.q = EnsembleMLP(2 * ensemble, o + a, 1, h, n, Mish)
        self.q_target = EnsembleMLP(2 * ensemble, o + a, 1, h, n, Mish)
        self.q_target.load_state_dict(self.q.state_dict())
        self.q_target.requires_grad_(False)

    # --- what subclasses define ----------------------------------------------------------------
    needs_next_actions: bool = False  # does ``update`` need actions a' ~ pi(s') from a policy?

    @abstractmethod
    def score(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Selection score of each candidate: (E, B, obs), (E, B, act) -> (E, B); higher is better."""

    @abstractmethod
    def losses(self, batch: dict, next_actions: torch.Tensor | None) -> tuple[torch.Tensor, dict]:
        """Training loss summed over members, and numbers to log."""

    @abstractmethod
    def parameter_groups(self) -> list[list[torch.nn.Parameter]]:
        """Parameters of each optimiser."""

    @torch.no_grad()
    def update_targets(self) -> None:
        """Polyak-average the target critics: Q' <- (1 - tau) Q' + tau Q."""
        for p, tp in zip(self.q.parameters(), self.q_target.parameters(), strict=True):
            tp.lerp_(p, self.hp["critic_tau"])

    # --- shared machinery ----------------------------------------------------------------------
    def q_values(
        self, obs: torch.Tensor, actions: torch.Tensor, target: bool = False
    ) -> torch.Tensor:
        """Twin Q values: obs (E, B, obs) raw, actions (E, B, act) -> (E, 2, B)."""
        x = torch.cat([self.normalize(obs), actions], -1)
        E, B, D = x.shape
        x = x.unsqueeze(1).expand(E, 2, B, D).reshape(2 * E, B, D)
        return (self.q_target if target else self.q)(x).view(E, 2, B)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def setup_training(self, total_steps: int, lr: float) -> None:
        self.total_steps = total_steps
        self.base_lr = lr
        self.optimizers = [torch.optim.Adam(g, lr=lr) for g in self.parameter_groups()]
        self.updates = 0

    def update(
        self,
        batch: dict,
        next_actions: torch.Tensor | None = None,
        lr_decay: bool = True,
        grad_clip: float = 0.0,
    ) -> dict:
        """One gradient step on ``batch``; refuses when frozen."""
        if self.frozen:
            raise RuntimeError("this guidance is frozen: unfreeze() it before training")
        if lr_decay:
            for opt in self.optimizers:
                for group in opt.param_groups:
                    group["lr"] = self.base_lr * cosine_lr(self.updates, self.total_steps)
        loss, logs = self.losses(batch, next_actions)
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            for group in self.parameter_groups():
                clip_grad_norm_per_member(group, self.ensemble, grad_clip)
        for opt in self.optimizers:
            opt.step()
        self.update_targets()
        self.updates += 1
        return logs

    def freeze(self) -> Guidance:
        """Stop training: parameters need no gradients, ``update`` refuses. Returns self."""
        self.frozen = True
        self.requires_grad_(False)
        self.eval()
        return self

    def unfreeze(self) -> Guidance:
        self.frozen = False
        self.requires_grad_(True)
        self.train()
        return self

    def with_selection(self, selection: str, select_beta: float | None = None) -> Guidance:
        """A frozen copy that chooses candidates by ``selection`` ("argmax" | "softmax") at
        ``select_beta`` (default: this guidance's); the weights are shared, not trained."""
        if selection not in SELECTIONS:
            raise ValueError(f"unknown selection {selection!r}: one of {', '.join(SELECTIONS)}")
        out = copy.copy(self)  # a shallow copy: same parameters, own hyperparameter dict
        out.hp = {**self.hp, "selection": selection}
        if select_beta is not None:
            out.hp["select_beta"] = float(select_beta)
        return out

    def check_compatible(self, info: DataInfo) -> None:
        """Raise for another task or sizes; warn for another dataset of the same task."""
        mine = self.info
        if (mine.task, mine.obs_dim, mine.act_dim) != (info.task, info.obs_dim, info.act_dim):
            raise IncompatibleGuidanceError(
                f"this {self.kind} guidance was trained for task {mine.task!r} (obs {mine.obs_dim}, "
                f"act {mine.act_dim}) and cannot guide a policy for {info.task!r} (obs "
                f"{info.obs_dim}, act {info.act_dim}): use a guidance trained on the same task"
            )
        if mine.dataset != info.dataset:
            warnings.warn(
                f"guidance trained on {mine.dataset!r} guides a policy trained on {info.dataset!r}: "
                "plug-and-play guidance assumes one data distribution, expect degraded scores",
                DatasetMismatchWarning,
                stacklevel=3,
            )

    def save(self, path: str | Path) -> Path:
        """Save this guidance alone (weights, kind, hyperparameters, data info)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "kind": self.kind,
                "ensemble": self.ensemble,
                "hp": self.hp,
                "info": self.info.to_dict(),
                "frozen": self.frozen,
                "state": self.state_dict(),
            },
            path,
        )
        return path
