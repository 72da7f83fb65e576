"""Where data lives: the cache of built datasets and training state, and the committed assets."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"
RESULTS = Path(__file__).resolve().parents[2] / "results"
"""Committed results of longer runs (grids, dataset statistics), beside the package."""

SNAPSHOT_FILES = {
    "random": "random_actor.npz",
    "mixed": "mixed.npz",
    "medium": "medium_actor.npz",
    "expert": "expert_actor.npz",
}
"""The committed file of each snapshot a behaviour run writes."""


def snapshot_files(level: str) -> list[str]:
    """The snapshot files a dataset level is made from (medium-expert: medium's and expert's)."""
    levels = ("medium", "expert") if level == "medium-expert" else (level,)
    return [SNAPSHOT_FILES[lv] for lv in levels]


def cache_dir() -> Path:
    """``$MDPT_DATA_DIR``, else ``~/.cache/mdpt`` (``$XDG_CACHE_HOME/mdpt`` when that is set)."""
    env = os.environ.get("MDPT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mdpt"


def behaviour_dir() -> Path:
    """Committed behaviour-policy snapshots and replay buffers, one folder per task."""
    return ASSETS / "behaviour"


def original_dir() -> Path | None:
    """``$D4RL_DATASET_DIR``, where a user may put copies of the original dataset files."""
    env = os.environ.get("D4RL_DATASET_DIR")
    return Path(env).expanduser() if env else None
