"""Hyperparameters: the paper's defaults per algorithm and task, in one place.

``hparams(algo, task, level, **overrides)`` is what ``fit`` uses; the book's hyperparameter table is
generated from ``ALGO_DEFAULTS`` and ``DQL_SELECT_BETA``. Values marked *(code)* come from the
paper's code release (see ``PAPER.md`` in the project's notes); values marked *(ours)* are this
project's choices where the paper is silent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from mdpt_lib.envs import get_task

PRECISIONS = ("fp32", "bf16")
SELECTIONS = ("argmax", "softmax")


@dataclass(frozen=True)
class HParams:
    # --- networks
    net: str = "dql_mlp"  # diffusion noise model: "dql_mlp" | "idql_resnet"
    hidden: int = 256
    dropout: float = 0.0  # IDQL's residual blocks use 0.1
    critic_hidden: int = 256
    critic_layers: int = 3  # Diffusion-QL's critics: 3 x 256 Mish
    # --- diffusion
    T: int = 5  # diffusion steps for training and sampling
    beta_min: float = 0.1  # VP schedule
    beta_max: float = 10.0
    init_noise_scale: float = 0.5  # the initial noise x_T is scaled by this at inference (code)
    # ... and by this when the critic's TD next actions are sampled (official DQL, CleanDiffuser)
    td_noise_scale: float = 1.0
    # --- optimisation
    batch_size: int = 256
    lr: float = 3e-4
    critic_lr: float = 3e-4
    # > 0: the actor trains with AdamW at this decoupled weight decay (CleanDiffuser's actor uses
    # AdamW); 0: Adam, as official Diffusion-QL and IDQL (whose AdamW has decay 0)
    actor_weight_decay: float = 0.0
    lr_decay: bool = True  # cosine decay over the run (code)
    grad_clip: float = 0.0  # 0 = off (ours: the paper does not say)
    # "fp32" (default) | "bf16": the training step's forward passes run under bfloat16 autocast;
    # weights, gradients and optimiser state stay fp32 (ours; fast on CPUs with AVX512-BF16/AMX)
    precision: str = "fp32"
    gamma: float = 0.99
    critic_tau: float = 0.005  # Polyak rate of target critics (EMA 0.995)
    actor_ema: float = 0.995  # EMA decay of the sampling copy of the diffusion model
    actor_ema_every: int = 5
    actor_ema_start: int = 1000  # the EMA stays at its initialisation before this update (code)
    actor_ema_copy_before_start: bool = False  # ours, short runs: copy the live weights until then
    actor_ema_warmup: bool = False  # ramp the decay up as min(decay, (1+k)/(10+k)) (ours, for IDQL)
    reward_scale: str = "iql"  # "iql": r * 1000 / (max - min episode return); "none"
    # --- guidance
    guidance: str = "double_q"  # "iql" | "double_q"
    expectile: float = 0.7  # IQL value expectile tau
    eta: float = 1.0  # weight of the Q term in the actor loss (0 = pure behaviour cloning)
    pretrain_form: str = "td_policy"  # double-Q pretraining: "td_policy" (code) | "sarsa" (ours)
    # --- inference
    candidates: int = 50  # sampled actions per state, one chosen by the guidance
    selection: str = "softmax"  # "softmax": draw from softmax(select_beta * score); "argmax"
    select_beta: float = 50.0  # softmax temperature of the selection over guidance scores
    # --- literal classifier-free guidance (ours)
    cfg_weight: float = 0.0  # w in eps_u + w (eps_c - eps_u); 0 = no label conditioning
    cfg_dropout: float = 0.1  # probability of dropping the optimality label in training

    def replace(self, **changes) -> HParams:
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            valid = ", ".join(f.name for f in fields(self))
            raise TypeError(f"unknown hyperparameter(s) {unknown}; valid ones: {valid}")
        if changes.get("precision", "fp32") not in PRECISIONS:
            raise ValueError(
                f"unknown precision {changes['precision']!r}: one of {', '.join(PRECISIONS)}"
            )
        if changes.get("selection", "softmax") not in SELECTIONS:
            raise ValueError(
                f"unknown selection {changes['selection']!r}: one of {', '.join(SELECTIONS)}"
            )
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


ALGO_DEFAULTS: dict[str, HParams] = {
    # IDQL: BC diffusion actor (LN-ResNet, dropout 0.1) + IQL critic; guidance only at inference:
    # the argmax of Q - V over 256 candidates (IDQL's authors). The paper's code drew from
    # softmax(0.5 (Q - V)) instead: selection="softmax" keeps that rule (PAPER_CODE_IDQL_SELECTION).
    # Actor EMA 0.9999 every step (code).
    "idql": HParams(
        net="idql_resnet",
        dropout=0.1,
        guidance="iql",
        eta=0.0,
        candidates=256,
        selection="argmax",
        select_beta=0.5,
        actor_ema=0.9999,
        actor_ema_every=1,
        actor_ema_start=0,
        actor_ema_warmup=True,
    ),
    # Diffusion-QL: BC + eta * Q term in training, 50 candidates by softmax(beta min Q) (code).
    "dql": HParams(net="dql_mlp", guidance="double_q", eta=1.0, candidates=50),
    # The literal classifier-free variant (ours): label "advantage > 0" from an IQL critic,
    # condition dropout 0.1, weight 1.5, one sample per state (no candidate selection).
    "cfg": HParams(
        net="dql_mlp", guidance="iql", eta=0.0, candidates=1, cfg_weight=1.5, select_beta=0.5
    ),
}

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


def level_key(task: str, level: str | None) -> tuple[str, str]:
    """(task name, level) with medium-replay read as mixed, the key of the per-task tables."""
    return get_task(task).name, "mixed" if level == "medium-replay" else level or "medium"


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


def hparams(algo: str, task: str | None = None, level: str | None = None, **overrides) -> HParams:
    """The defaults of ``algo`` for ``task``/``level``, with ``overrides`` applied."""
    if algo not in ALGO_DEFAULTS:
        raise ValueError(f"unknown algorithm {algo!r}: valid ones are {', '.join(ALGO_DEFAULTS)}")
    hp = ALGO_DEFAULTS[algo]
    if algo == "dql" and task is not None:
        hp = hp.replace(select_beta=DQL_SELECT_BETA.get(level_key(task, level), 50.0))
    return hp.replace(**overrides)
