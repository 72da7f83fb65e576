"""Guidance modules: IQL critic (IDQL) and double-Q critic (Diffusion-QL), one interface."""

from __future__ import annotations

from pathlib import Path

import torch

from mdpt_lib.guidance.base import DatasetMismatchWarning, Guidance, IncompatibleGuidanceError
from mdpt_lib.guidance.double_q import DoubleQGuidance
from mdpt_lib.guidance.iql import IQLGuidance, expectile_loss
from mdpt_lib.replay import DataInfo

GUIDANCES: dict[str, type[Guidance]] = {"iql": IQLGuidance, "double_q": DoubleQGuidance}


def make_guidance(kind: str, ensemble: int, info: DataInfo, hp: dict) -> Guidance:
    if kind not in GUIDANCES:
        raise ValueError(f"unknown guidance {kind!r}: valid ones are {', '.join(GUIDANCES)}")
    return GUIDANCES[kind](ensemble, info, hp)


def untrained_like(guidance: Guidance, seed: int) -> Guidance:
    """A frozen guidance of ``guidance``'s kind, sizes and observation normalisation at a random
    initialisation drawn from ``seed``: the paper's random guidance, for use at inference only.
    One member, on ``guidance``'s device; the global random state is left as it was."""
    device = guidance.obs_mean.device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = make_guidance(guidance.kind, 1, guidance.info, guidance.hp)
    return fresh.to(device).freeze()


def load_guidance(path: str | Path, device: str = "cpu") -> Guidance:
    """Load a guidance saved by ``Guidance.save`` (or the guidance of a saved agent)."""
    blob = torch.load(Path(path), map_location=device, weights_only=False)
    if "guidance" in blob:  # a saved agent
        blob = blob["guidance"]
    g = make_guidance(blob["kind"], blob["ensemble"], DataInfo.from_dict(blob["info"]), blob["hp"])
    state = blob["state"]
    if blob.get("compact"):  # saved without the online networks that have target copies
        children = {name for name, _ in g.named_children()}
        state = {
            **{
                k: state[k.replace(".", "_target.", 1)]
                for k in g.state_dict()
                if f"{k.split('.')[0]}_target" in children
            },
            **state,
        }
    g.load_state_dict(state)
    return g.freeze() if blob["frozen"] else g


__all__ = [
    "GUIDANCES",
    "DatasetMismatchWarning",
    "DoubleQGuidance",
    "Guidance",
    "IQLGuidance",
    "IncompatibleGuidanceError",
    "expectile_loss",
    "load_guidance",
    "make_guidance",
    "untrained_like",
]
