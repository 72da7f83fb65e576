"""What an algorithm is here: its defaults, its guidance, and how the guidance enters the actor's loss.

An algorithm file (``idql.py``, ``dql.py``, ``cfg.py``) subclasses ``Algorithm`` and is listed in the
registry (``mdpt_lib.algos.ALGORITHMS``); the training loop, ``fit`` and the experiments ask the
registry and nothing else. Inference is shared: candidates from the diffusion model, one kept by the
guidance's selection rule (``selection``: "argmax" or "softmax" at ``select_beta``), a default of
each algorithm.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import torch

from mdpt_lib.config import HParams
from mdpt_lib.rng import MemberRNG

if TYPE_CHECKING:
    from mdpt_lib.guidance.base import Guidance
    from mdpt_lib.policy import DiffusionPolicy

LossTerms = tuple[torch.Tensor, torch.Tensor | None, dict]
"""(L_bc per member (E,), the guidance's term per member (E,) or None, numbers to log)."""


class Algorithm(ABC):
    name: str  # the value of ``fit(..., algo=)``
    title: str  # how the book names it
    defaults: HParams  # its hyperparameters (the guidance's critic kind is ``defaults.critic``)
    guidance_in_training: bool = True  # False: the actor's loss never sees the guidance (IDQL)

    def task_defaults(self, task: str, level: str | None) -> dict:
        """Hyperparameters that depend on the task and dataset level (default: none)."""
        return {}

    def hparams(self, task: str | None = None, level: str | None = None, **overrides) -> HParams:
        """The defaults for ``task``/``level`` with ``overrides`` applied (validated)."""
        hp = self.defaults
        if task is not None:
            hp = hp.replace(**self.task_defaults(task, level))
        hp = hp.replace(**overrides)
        self.check(hp)
        return hp

    def check(self, hp: HParams) -> None:
        """Refuse hyperparameters this algorithm cannot run with (default: accept)."""
        return None

    def conditional(self, hp: dict) -> bool:
        """Whether the diffusion model takes a label besides the state (classifier-free)."""
        return False

    @abstractmethod
    def actor_loss(
        self,
        policy: DiffusionPolicy,
        batch: dict,
        guidance: Guidance | None,
        rng: MemberRNG | None,
    ) -> LossTerms:
        """The actor's loss terms on ``batch``; ``guidance=None``: the mode keeps it out."""

    @staticmethod
    def behaviour_cloning(policy: DiffusionPolicy, batch: dict, rng: MemberRNG | None, cond=None):
        """L_bc: the diffusion model's noise-prediction loss on the data's actions, per member."""
        return policy.model.loss(policy.normalize(batch["obs"]), batch["actions"], cond, rng)
