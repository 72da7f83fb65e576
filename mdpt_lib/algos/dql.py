"""Diffusion-QL (Wang et al., 2023): behaviour cloning plus a Q term, through the sampling chain.

guidance   double-Q critic (``mdpt_lib.guidance.double_q``), TD with a' ~ pi_ema(s')
actor      L = L_bc + eta * ( -Q_k(s, a~) / sg(mean |Q_k'(s, a~)|) ),   eta = 1
           a~ ~ pi_theta(s) sampled with gradients through all T reverse steps; k a fair coin
           per member and step, k' the other critic; sg stops the gradient
acting     N = 50 candidates; draw one from softmax(beta * min_k Q'_k(s, a_j)), beta per task
"""

from __future__ import annotations

import torch

from mdpt_lib.algos.base import Algorithm, LossTerms
from mdpt_lib.config import HParams, level_key

DQL_SELECT_BETA: dict[tuple[str, str], float] = {
    ("hopper", "medium"): 100.0,
    ("hopper", "mixed"): 100.0,
    ("hopper", "medium-expert"): 8.0,
    ("hopper", "expert"): 50.0,
    ("halfcheetah", "medium"): 50.0,
    ("halfcheetah", "mixed"): 50.0,
    ("halfcheetah", "medium-expert"): 50.0,
    ("halfcheetah", "expert"): 50.0,
    ("walker2d", "medium"): 300.0,
    ("walker2d", "mixed"): 300.0,
    ("walker2d", "medium-expert"): 300.0,
    ("walker2d", "expert"): 50.0,
}
"""Diffusion-QL's selection temperature per (task, level) (code); others (ant, random) use 50 (ours)."""


class DQL(Algorithm):
    name = "dql"
    title = "Diffusion-QL"
    defaults = HParams(net="dql_mlp", critic="double_q", eta=1.0, candidates=50)

    def task_defaults(self, task, level):
        return {"select_beta": DQL_SELECT_BETA.get(level_key(task, level), 50.0)}

    def check(self, hp: HParams) -> None:
        if hp.cfg_weight != 0:
            raise ValueError(
                "label conditioning (cfg_weight > 0) is the classifier-free variant: use algo='cfg'"
            )

    def actor_loss(self, policy, batch, guidance, rng) -> LossTerms:
        bc = self.behaviour_cloning(policy, batch, rng)
        logs = {"bc_loss": bc.mean().item()}
        eta = policy.hp["eta"]
        if guidance is None or eta <= 0:
            return bc, None, logs
        obs = batch["obs"]
        new_actions = policy.model.sample(policy.normalize(obs), rng=rng)  # grads through the chain
        q = guidance.q_values(obs, new_actions)  # (E, 2, B)
        E = q.shape[0]
        k = (torch.rand(E) if rng is None else rng.rand().cpu()) < 0.5
        k = k.long().to(q.device)
        members = torch.arange(E, device=q.device)
        q_k, q_other = q[members, k], q[members, 1 - k]  # (E, B)
        q_loss = -q_k.mean(1) / q_other.abs().mean(1).detach()
        logs |= {"actor_q_loss": q_loss.mean().item(), "q_pi": q_k.mean().item()}
        return bc, eta * q_loss, logs
