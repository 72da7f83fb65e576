"""The diffusion policy: a DDPM of actions given states, its EMA sampling copy, and how guidance enters.

Actor loss (per ensemble member):
    L = L_bc                                          IDQL, or any policy trained without guidance
    L = L_bc + eta * ( -Q_k(s, a~) / |Q_k'(s, a~)|.mean() )   Diffusion-QL; a~ sampled with gradients
                                                      through all T reverse steps, k a fair coin
    L = L_bc(label)                                   classifier-free: label = +1 if A(s, a) > 0 else -1,
                                                      dropped (0) with probability p
Acting: draw N candidates per state from the EMA model, score them with a guidance, draw one from
softmax(beta * score) (beta and score are the guidance's); without guidance, the first candidate.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.nn import functional as F

from mdpt_lib.diffusion import DiffusionModel, cosine_lr
from mdpt_lib.ensemble import EnsembleModule
from mdpt_lib.guidance.base import Guidance
from mdpt_lib.replay import DataInfo


class DiffusionPolicy(EnsembleModule):
    extra_attributes = ("info",)

    def __init__(self, ensemble: int, info: DataInfo, hp: dict) -> None:
        super().__init__()
        self.init_args = {"ensemble": ensemble, "info": info, "hp": hp}
        self.info, self.hp = info, hp
        self.register_buffer("obs_mean", torch.as_tensor(info.obs_mean))
        self.register_buffer("obs_std", torch.as_tensor(info.obs_std))
        self.model = DiffusionModel(
            ensemble,
            info.obs_dim,
            info.act_dim,
            hp["net"],
            hp["hidden"],
            hp["dropout"],
            hp["T"],
            hp["beta_min"],
            hp["beta_max"],
            conditional=hp["cfg_weight"] > 0,
        )
        self.ema = copy.deepcopy(self.model).requires_grad_(False)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    # --- training ------------------------------------------------------------------------------
    def setup_training(self, total_steps: int) -> None:
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.hp["lr"])
        self.total_steps, self.updates = total_steps, 0

    def loss(self, batch: dict, guidance: Guidance | None) -> tuple[torch.Tensor, dict]:
        """Actor loss summed over members; ``guidance=None`` means pure behaviour cloning."""
        obs, actions = batch["obs"], batch["actions"]
        s = self.normalize(obs)
        cond = None
        if self.model.conditional:
            if guidance is None:
                label = torch.ones_like(actions[..., :1])  # no guidance yet: every action "optimal"
            else:
                with torch.no_grad():
                    label = (guidance.advantage(obs, actions) > 0).float().unsqueeze(-1) * 2 - 1
            keep = (torch.rand_like(label) >= self.hp["cfg_dropout"]).float()
            cond = label * keep
        bc = self.model.loss(s, actions, cond)  # (E,)
        logs = {"bc_loss": bc.mean().item()}
        loss = bc
        if guidance is not None and self.hp["eta"] > 0:
            new_actions = self.model.sample(s)  # gradients through every reverse step
            q = guidance.q_values(obs, new_actions)  # (E, 2, B)
            k = int(torch.rand(()) < 0.5)
            q_loss = -q[:, k].mean(1) / q[:, 1 - k].abs().mean(1).detach()
            loss = loss + self.hp["eta"] * q_loss
            logs["q_loss"] = q_loss.mean().item()
        return loss.sum(), logs

    def update(self, batch: dict, guidance: Guidance | None = None) -> dict:
        """One gradient step of the diffusion model, then the EMA copy."""
        if self.hp["lr_decay"]:
            for group in self.optimizer.param_groups:
                group["lr"] = self.hp["lr"] * cosine_lr(self.updates, self.total_steps)
        loss, logs = self.loss(batch, guidance)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.hp["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.hp["grad_clip"])
        self.optimizer.step()
        self.updates += 1
        self._update_ema()
        return logs

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.updates < self.hp["actor_ema_start"]:
            self.ema.load_state_dict(self.model.state_dict())
        elif self.updates % self.hp["actor_ema_every"] == 0:
            for p, ep in zip(self.model.parameters(), self.ema.parameters(), strict=True):
                ep.lerp_(p, 1 - self.hp["actor_ema"])

    # --- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, obs: torch.Tensor, n: int = 1, use_ema: bool = True) -> torch.Tensor:
        """Candidates: raw obs (E, B, obs) -> actions (E, B, n, act)."""
        E, B, D = obs.shape
        s = self.normalize(obs).unsqueeze(2).expand(E, B, n, D).reshape(E, B * n, D)
        model = self.ema if use_ema else self.model
        model.eval()
        a = model.sample(s, self.hp["init_noise_scale"], self.hp["cfg_weight"])
        model.train()
        return a.view(E, B, n, -1)

    @torch.no_grad()
    def act(
        self,
        obs: torch.Tensor,
        guidance: Guidance | None,
        generator: torch.Generator | None = None,
        candidates: int | None = None,
    ) -> torch.Tensor:
        """Chosen actions: raw obs (E, B, obs) -> (E, B, act), ``candidates`` per state."""
        n = candidates or self.hp["candidates"]
        cand = self.sample(obs, n)  # (E, B, n, act)
        if guidance is None or n == 1:
            return cand[:, :, 0]
        E, B, _, A = cand.shape
        obs_rep = obs.unsqueeze(2).expand(E, B, n, obs.shape[-1]).reshape(E, B * n, -1)
        scores = guidance.score(obs_rep, cand.reshape(E, B * n, A)).view(E * B, n)
        probs = F.softmax(guidance.hp["select_beta"] * scores, dim=-1)
        idx = torch.multinomial(probs, 1, generator=generator).view(E, B)
        return torch.gather(cand, 2, idx[..., None, None].expand(E, B, 1, A)).squeeze(2)


def as_tensor(x: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(
        np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x,
        dtype=torch.float32,
        device=device,
    )
