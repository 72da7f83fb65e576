"""Training modes as data: when the guidance trains, and when it enters the actor's training.

One loop (``mdpt_lib.train``) runs every condition of the paper's experiments:

| mode              | stage 1 (guidance alone) | guidance during stage 2 | guidance in the actor loss |
|-------------------|--------------------------|-------------------------|----------------------------|
| joint             | no                       | trains                  | from step 0                |
| guidance_first    | ``guidance_steps``       | frozen                  | from step 0                |
| no_guidance       | no                       | trains (for inference)  | never                      |
| random_guidance   | no                       | frozen at random init   | from step 0                |
| delayed_guidance  | no                       | trains                  | from half-way (``enters_at``) |

"In the actor loss" means Diffusion-QL's Q term or the classifier-free labels; IDQL's actor is pure
behaviour cloning in every mode (its guidance acts at inference only).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    pretrain: bool  # stage 1: train the guidance alone for guidance_steps first
    guidance_trains: bool  # the guidance keeps learning alongside the actor in stage 2
    in_actor_loss: bool  # the guidance shapes the actor's training at all
    random_init: bool = False  # the guidance stays at its random initialisation
    # fraction of the diffusion steps after which the guidance enters the actor's loss (``fit``'s
    # ``guidance_from`` default: enters_at * steps)
    enters_at: float = 0.0


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("joint", pretrain=False, guidance_trains=True, in_actor_loss=True),
        Mode("guidance_first", pretrain=True, guidance_trains=False, in_actor_loss=True),
        Mode("no_guidance", pretrain=False, guidance_trains=True, in_actor_loss=False),
        Mode(
            "random_guidance",
            pretrain=False,
            guidance_trains=False,
            in_actor_loss=True,
            random_init=True,
        ),
        Mode(
            "delayed_guidance",
            pretrain=False,
            guidance_trains=True,
            in_actor_loss=True,
            enters_at=0.5,
        ),
    )
}


def get_mode(name: str) -> Mode:
    if name not in MODES:
        raise ValueError(f"unknown training mode {name!r}: valid modes are {', '.join(MODES)}")
    return MODES[name]
