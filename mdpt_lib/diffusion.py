"""DDPM over actions: the VP noise schedule, the epsilon-prediction loss and the sampler.

Notation (Ho et al. 2020), steps i = 0..T-1 (T = 5 by default):
    q(x_i | x_0)   = N(sqrt(abar_i) x_0, (1 - abar_i) I),    abar_i = prod_{j<=i} (1 - beta_j)
    loss           = || eps - eps_theta(sqrt(abar_i) x_0 + sqrt(1 - abar_i) eps, i, s) ||^2
    reverse step   : x0_hat = (x_i - sqrt(1 - abar_i) eps_theta) / sqrt(abar_i), clipped to [-1, 1];
                     x_{i-1} ~ N(mu_i(x_i, x0_hat), var_i),  the Gaussian posterior q(x_{i-1} | x_i, x0_hat)
Classifier-free guidance mixes eps = eps(null) + w (eps(c) - eps(null)), where null means "no label".
All tensors carry a leading ensemble dimension E (independent models trained together).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mdpt_lib.nets import NOISE_NETS, NoiseNetShape
from mdpt_lib.rng import MemberRNG, randn


def vp_betas(T: int, beta_min: float = 0.1, beta_max: float = 10.0) -> torch.Tensor:
    """Discretised variance-preserving schedule (Diffusion-QL, IDQL): (T,) betas."""
    i = torch.arange(1, T + 1, dtype=torch.float64)
    alpha = torch.exp(-beta_min / T - 0.5 * (beta_max - beta_min) * (2 * i - 1) / T**2)
    return (1 - alpha).float()


class DiffusionModel(nn.Module):
    """An ensemble of ``E`` conditional DDPMs of actions given states (and an optional label)."""

    def __init__(
        self,
        ensemble: int,
        obs_dim: int,
        act_dim: int,
        net: str = "dql_mlp",
        hidden: int = 256,
        dropout: float = 0.0,
        T: int = 5,
        beta_min: float = 0.1,
        beta_max: float = 10.0,
        conditional: bool = False,
    ) -> None:
        super().__init__()
        if net not in NOISE_NETS:
            raise ValueError(
                f"unknown noise network {net!r}: valid ones are {', '.join(NOISE_NETS)}"
            )
        shape = NoiseNetShape(ensemble, obs_dim, act_dim, hidden, 2 * conditional, dropout)
        self.net = NOISE_NETS[net](shape)
        self.ensemble, self.act_dim, self.T, self.conditional = ensemble, act_dim, T, conditional
        betas = vp_betas(T, beta_min, beta_max)
        abar = torch.cumprod(1 - betas, 0)
        abar_prev = torch.cat([torch.ones(1), abar[:-1]])
        for name, value in {
            "betas": betas,
            "sqrt_abar": abar.sqrt(),
            "sqrt_one_minus_abar": (1 - abar).sqrt(),
            "sqrt_recip_abar": (1 / abar).sqrt(),
            "sqrt_recip_abar_m1": (1 / abar - 1).sqrt(),
            # posterior q(x_{i-1} | x_i, x_0) = N(c0 x_0 + ct x_i, var)
            "post_c0": betas * abar_prev.sqrt() / (1 - abar),
            "post_ct": (1 - abar_prev) * (1 - betas).sqrt() / (1 - abar),
            "post_std": (betas * (1 - abar_prev) / (1 - abar)).clamp(min=1e-20).sqrt(),
        }.items():
            self.register_buffer(name, value)

    def loss(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        cond: torch.Tensor | None = None,
        rng: MemberRNG | None = None,
    ) -> torch.Tensor:
        """Epsilon-prediction loss per member: states (E, B, obs), actions (E, B, act) -> (E,).

        ``rng``: per-member generators for the times, noise and dropout (default: torch's global).
        """
        E, B, _ = actions.shape
        if rng is None:
            i = torch.randint(0, self.T, (E, B), device=actions.device)
        else:
            i = rng.randint(self.T, B)
        eps = randn(rng, actions)
        x_i = (
            self.sqrt_abar[i].unsqueeze(-1) * actions
            + self.sqrt_one_minus_abar[i].unsqueeze(-1) * eps
        )
        pred = self.net(x_i, i.float(), states, cond, rng=rng)
        return (pred - eps).pow(2).mean(dim=(1, 2))

    def eps(
        self,
        x: torch.Tensor,
        i: torch.Tensor,
        states: torch.Tensor,
        cfg_weight: float,
        label: torch.Tensor | None,
        rng: MemberRNG | None = None,
    ) -> torch.Tensor:
        """Predicted noise; with a conditional model, the classifier-free mix of label and no label.

        Labels are one-hot (E, B, 2) [optimal, not optimal], no label is [0, 0]; the default label
        is "optimal".
        """
        if not self.conditional:
            return self.net(x, i, states, rng=rng)
        null = torch.zeros_like(x[..., :2])
        cond = label if label is not None else torch.cat([null[..., :1] + 1, null[..., 1:]], -1)
        eps_u = self.net(x, i, states, null, rng=rng)
        if cfg_weight == 0:
            return eps_u
        return eps_u + cfg_weight * (self.net(x, i, states, cond, rng=rng) - eps_u)

    def sample(
        self,
        states: torch.Tensor,
        init_noise_scale: float = 1.0,
        cfg_weight: float = 0.0,
        label: torch.Tensor | None = None,
        rng: MemberRNG | None = None,
    ) -> torch.Tensor:
        """Draw one action per state: states (E, B, obs) -> actions (E, B, act) in [-1, 1].

        Gradients flow through every reverse step when called with grad enabled (Diffusion-QL's
        actor loss needs them); the caller decides with ``torch.no_grad()``.
        """
        E, B, _ = states.shape
        x = randn(rng, states.new_empty(E, B, self.act_dim))
        x = x * init_noise_scale
        for step in reversed(range(self.T)):
            i = torch.full((E, B), float(step), device=states.device)
            eps = self.eps(x, i, states, cfg_weight, label, rng)
            x0 = (self.sqrt_recip_abar[step] * x - self.sqrt_recip_abar_m1[step] * eps).clamp(-1, 1)
            x = self.post_c0[step] * x0 + self.post_ct[step] * x
            if step > 0:
                x = x + self.post_std[step] * randn(rng, x)
        return x.clamp(-1, 1)


def cosine_lr(step: int, total: int) -> float:
    """Cosine decay factor from 1 at step 0 to 0 at ``total``."""
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))
