"""Hyperparameters: the typed, validated ``HParams`` and their shared defaults.

Each algorithm's own defaults live in its file (``mdpt_lib.algos``); ``hparams(algo, task, level,
**overrides)`` is what ``fit`` uses. Values marked *(code)* come from the paper's code release;
values marked *(ours)* are this project's choices where the paper is silent (the book's
hyperparameter chapter lists which are which).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from mdpt_lib.envs import get_task
from mdpt_lib.nets import NOISE_NETS

PRECISIONS = ("fp32", "bf16")
SELECTIONS = ("argmax", "softmax")
CHOICES: dict[str, tuple[str, ...]] = {
    "net": tuple(NOISE_NETS),
    "critic": ("iql", "double_q"),
    "reward_scale": ("iql", "none"),
    "pretrain_form": ("td_policy", "sarsa"),  # double-Q pretraining forms (guidance/double_q.py)
    "precision": PRECISIONS,
    "inference_precision": PRECISIONS,
    "selection": SELECTIONS,
}
"""The valid values of every string-valued hyperparameter, checked whenever one is set."""


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
    # "fp32" (default) | "bf16": sampling the candidates at inference (``act``) under bfloat16
    # autocast; the guidance scores them in fp32 (ours: evaluation cost, not training)
    inference_precision: str = "fp32"
    gamma: float = 0.99
    critic_tau: float = 0.005  # Polyak rate of target critics (EMA 0.995)
    actor_ema: float = 0.995  # EMA decay of the sampling copy of the diffusion model
    actor_ema_every: int = 5
    actor_ema_start: int = 1000  # the EMA stays at its initialisation before this update (code)
    actor_ema_copy_before_start: bool = False  # ours, short runs: copy the live weights until then
    actor_ema_warmup: bool = False  # ramp the decay up as min(decay, (1+k)/(10+k)) (ours, for IDQL)
    reward_scale: str = "iql"  # "iql": r * 1000 / (max - min episode return); "none"
    # --- guidance
    critic: str = "double_q"  # the guidance's critic: "iql" | "double_q" (``mdpt_lib.guidance``)
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

    def __post_init__(self) -> None:
        for name, valid in CHOICES.items():
            if getattr(self, name) not in valid:
                raise ValueError(
                    f"unknown {name} {getattr(self, name)!r}: one of {', '.join(map(repr, valid))}"
                )

    def replace(self, **changes) -> HParams:
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            valid = ", ".join(f.name for f in fields(self))
            raise TypeError(f"unknown hyperparameter(s) {unknown}; valid ones: {valid}")
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


def level_key(task: str, level: str | None) -> tuple[str, str]:
    """(task name, level) with medium-replay read as mixed, the key of the per-task tables."""
    return get_task(task).name, "mixed" if level == "medium-replay" else level or "medium"


def hparams(algo: str, task: str | None = None, level: str | None = None, **overrides) -> HParams:
    """The defaults of ``algo`` (``mdpt_lib.algos``) for ``task``/``level``, ``overrides`` applied."""
    from mdpt_lib.algos import get_algorithm

    return get_algorithm(algo).hparams(task, level, **overrides)
