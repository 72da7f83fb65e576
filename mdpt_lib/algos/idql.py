"""IDQL (Hansen-Estruch et al., 2023): a behaviour-cloning diffusion actor steered only at inference.

guidance   IQL critic (``mdpt_lib.guidance.iql``): twin Q and V, V by expectile regression
actor      L = L_bc                                   (the guidance never enters training)
acting     N = 256 candidates a_j ~ pi(s); keep argmax_j  min_k Q'_k(s, a_j) - V(s)
           (IDQL's authors; the paper's code drew from softmax(0.5 (Q - V)) instead:
           ``PAPER_CODE_IDQL_SELECTION``)
"""

from __future__ import annotations

from mdpt_lib.algos.base import Algorithm, LossTerms
from mdpt_lib.config import HParams

PAPER_CODE_IDQL_SELECTION = {"selection": "softmax", "select_beta": 0.5}
"""IDQL's selection rule in the paper's code release (``fit(..., algo="idql", **PAPER_CODE_IDQL_SELECTION)``)."""

IDQL_TUNED_BETA: dict[tuple[str, str], float] = {
    ("hopper", "medium"): 50.0,
    ("hopper", "mixed"): 50.0,
    ("halfcheetah", "medium"): 400.0,
    ("halfcheetah", "mixed"): 100.0,
    ("walker2d", "medium"): 200.0,
    ("walker2d", "mixed"): 200.0,
}
"""CleanDiffuser's per-task IDQL selection temperatures (softmax over Q - V), for comparison runs."""


class IDQL(Algorithm):
    name = "idql"
    title = "IDQL"
    guidance_in_training = False
    # LN-ResNet actor with dropout 0.1, actor EMA 0.9999 every step (code), ramped up (ours)
    defaults = HParams(
        net="idql_resnet",
        dropout=0.1,
        critic="iql",
        eta=0.0,
        candidates=256,
        selection="argmax",
        select_beta=0.5,
        actor_ema=0.9999,
        actor_ema_every=1,
        actor_ema_start=0,
        actor_ema_warmup=True,
    )

    def check(self, hp: HParams) -> None:
        if hp.eta != 0 or hp.cfg_weight != 0:
            raise ValueError(
                "IDQL's actor is pure behaviour cloning (eta=0, cfg_weight=0): for a Q term in the "
                "actor's loss use algo='dql', for label conditioning algo='cfg'"
            )

    def actor_loss(self, policy, batch, guidance, rng) -> LossTerms:
        bc = self.behaviour_cloning(policy, batch, rng)
        return bc, None, {"bc_loss": bc.mean().item()}
