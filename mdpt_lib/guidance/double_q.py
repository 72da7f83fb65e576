"""Diffusion-QL's guidance: twin Q critics trained by TD learning (Wang et al. 2022).

    L_Q = E[ (Q_i(s, a) - r - gamma (1 - d) min_j Q'_j(s', a'))^2 ],   i = 1, 2
with a' from one of two sources (``pretrain_form``):
- "td_policy" (the official code): a' ~ pi(s') sampled from a diffusion policy (the EMA actor in
  joint training; the untrained actor when the guidance is trained first);
- "sarsa" (ours): a' = the dataset's next action, in-sample, needing no policy (transitions without
  a next action, i.e. time-outs, are left out of the loss).
Score = min_j Q'_j(s, a).
"""

from __future__ import annotations

import torch

from mdpt_lib.guidance.base import Guidance


class DoubleQGuidance(Guidance):
    kind = "double_q"

    @property
    def needs_next_actions(self) -> bool:
        return self.hp["pretrain_form"] == "td_policy"

    def parameter_groups(self):
        return [list(self.q.parameters())]

    def score(self, obs, actions):
        return self.q_values(obs, actions, target=True).min(1).values

    def losses(self, batch, next_actions=None):
        obs, act = batch["obs"], batch["actions"]
        weight = torch.ones_like(batch["rewards"])
        if self.needs_next_actions:
            if next_actions is None:
                raise ValueError("td_policy targets need next actions sampled from a policy")
        else:
            next_actions, weight = batch["next_actions"], batch["has_next_action"]
        with torch.no_grad():
            q_next = self.q_values(batch["next_obs"], next_actions, target=True).min(1).values
            target = (
                self.info.reward_scale * batch["rewards"]
                + self.hp["gamma"] * (1 - batch["terminals"]) * q_next
            )
        q = self.q_values(obs, act)
        err = (q - target.unsqueeze(1)).pow(2) * weight.unsqueeze(1)
        q_loss = err.sum((1, 2)) / (2 * weight.sum(1).clamp(min=1))
        logs = {"q_loss": q_loss.mean().item(), "q_mean": q.mean().item()}
        return q_loss.sum(), logs
