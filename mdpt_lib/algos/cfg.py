"""The literal classifier-free variant (this project's): a label-conditioned diffusion model.

guidance   IQL critic; label of (s, a): optimal = [1, 0] if A(s, a) = min_k Q'_k - V > 0 else
           [0, 1]; dropped to [0, 0] with probability ``cfg_dropout`` in training
actor      L = L_bc(s, a, label)                      (a guidance that is not there yet, e.g. in
           ``no_guidance`` mode, labels every action optimal)
acting     one sample per state from eps_u + w (eps_optimal - eps_u), w = ``cfg_weight`` = 1.5
"""

from __future__ import annotations

import torch

from mdpt_lib.algos.base import Algorithm, LossTerms
from mdpt_lib.config import HParams
from mdpt_lib.rng import rand


class CFG(Algorithm):
    name = "cfg"
    title = "classifier-free"
    defaults = HParams(
        net="dql_mlp", critic="iql", eta=0.0, candidates=1, cfg_weight=1.5, select_beta=0.5
    )

    def check(self, hp: HParams) -> None:
        if hp.cfg_weight > 0 and hp.critic != "iql":
            raise ValueError(
                "the classifier-free variant labels actions by IQL advantage: use critic='iql'"
            )

    def conditional(self, hp: dict) -> bool:
        return hp["cfg_weight"] > 0

    def actor_loss(self, policy, batch, guidance, rng) -> LossTerms:
        obs, actions = batch["obs"], batch["actions"]
        if guidance is None:
            optimal = torch.ones_like(actions[..., :1])
        elif not hasattr(guidance, "advantage"):
            raise TypeError(
                f"the classifier-free variant labels actions by advantage, which a {guidance.kind} "
                "guidance does not give: use an IQL guidance (algo='idql' or 'cfg')"
            )
        else:
            with torch.no_grad():
                optimal = (guidance.advantage(obs, actions) > 0).float().unsqueeze(-1)
        keep = (rand(rng, optimal) >= policy.hp["cfg_dropout"]).float()
        cond = torch.cat([optimal, 1 - optimal], -1) * keep
        bc = self.behaviour_cloning(policy, batch, rng, cond)
        return bc, None, {"bc_loss": bc.mean().item()}
