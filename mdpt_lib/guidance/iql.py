"""IDQL's guidance: an IQL critic (Kostrikov et al. 2022).

    V:  L_V = E[ |tau - 1(u < 0)| u^2 ],  u = min_j Q'_j(s, a) - V(s)        (expectile tau = 0.7)
    Q:  L_Q = E[ (Q_i(s, a) - r - gamma (1 - d) V(s'))^2 ],  i = 1, 2
    Q' <- (1 - lambda) Q' + lambda Q                                           (Polyak, lambda = 0.005)
Everything is in-sample: training never needs the policy. Score = min_j Q'_j(s, a) - V(s).
"""

from __future__ import annotations

import torch

from mdpt_lib.guidance.base import Guidance
from mdpt_lib.nets import EnsembleMLP, Mish
from mdpt_lib.replay import DataInfo


def expectile_loss(diff: torch.Tensor, tau: float) -> torch.Tensor:
    """Asymmetric squared loss |tau - 1(diff < 0)| diff^2, elementwise."""
    weight = torch.where(diff < 0, 1.0 - tau, tau)
    return weight * diff.pow(2)


class IQLGuidance(Guidance):
    kind = "iql"

    def __init__(self, ensemble: int, info: DataInfo, hp: dict) -> None:
        super().__init__(ensemble, info, hp)
        self.v = EnsembleMLP(
            ensemble, info.obs_dim, 1, hp["critic_hidden"], hp["critic_layers"], Mish
        )

    def parameter_groups(self):
        return [list(self.q.parameters()), list(self.v.parameters())]

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s): (E, B, obs) -> (E, B)."""
        return self.v(self.normalize(obs)).squeeze(-1)

    def advantage(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """min_j Q'_j(s, a) - V(s): (E, B)."""
        return self.q_values(obs, actions, target=True).min(1).values - self.value(obs)

    def score(self, obs, actions):
        return self.advantage(obs, actions)

    def losses(self, batch, next_actions=None):
        obs, act = batch["obs"], batch["actions"]
        with torch.no_grad():
            q_t = self.q_values(obs, act, target=True).min(1).values
            target = self.info.reward_scale * batch["rewards"] + self.hp["gamma"] * (
                1 - batch["terminals"]
            ) * self.value(batch["next_obs"])
        v_loss = expectile_loss(q_t - self.value(obs), self.hp["expectile"]).mean(1)  # (E,)
        q = self.q_values(obs, act)  # (E, 2, B)
        q_loss = (q - target.unsqueeze(1)).pow(2).mean((1, 2))
        logs = {
            "v_loss": v_loss.mean().item(),
            "q_loss": q_loss.mean().item(),
            "q_mean": q.mean().item(),
        }
        return (v_loss + q_loss).sum(), logs
