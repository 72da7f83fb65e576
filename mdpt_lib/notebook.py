"""What the notebooks share: checking their papermill parameters, and the run-size presets.

Every notebook's second cell is ``params = validate_params(env=env, dataset=dataset, ...)``: a bad
value fails there, within a second, with a message that names the parameter and the valid values.

``MDPT_QUICK=1`` in the environment forces ``quick=True`` in every notebook: that is how a book build
(which runs notebooks with their default parameters) is made CI-sized (``python -m mdpt_lib.book --quick``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mdpt_lib.data.registry import LEVELS, dataset_id
from mdpt_lib.envs import TASKS


def show_whole_cells() -> None:
    """Let pandas show every table cell in full: verdicts and claims are sentences, and its
    default cuts them at 50 characters. The book's pages and notebooks call it first."""
    import pandas as pd

    pd.set_option("display.max_colwidth", None)


class ParameterError(ValueError):
    """A notebook parameter with a bad value; the message names it and says what is valid."""


@dataclass(frozen=True)
class NotebookParams:
    env: str
    dataset: str  # the level, e.g. "medium-replay"
    dataset_id: str  # the registry id of (env, level)
    seeds: list[int]
    steps: int
    quick: bool
    device: str
    episodes: int


def _positive_int(name: str, value, hint: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or int(value) != value
        or value <= 0
    ):
        raise ParameterError(
            f"parameter {name}={value!r}: must be a positive whole number ({hint})"
        )
    return int(value)


def validate_params(env, dataset, seeds, steps, quick, device="cpu", episodes=10) -> NotebookParams:
    """Check a notebook's parameters; return them normalised, or raise ``ParameterError``.

    ``env``: a task name; ``dataset``: a level of ``mdpt_lib.data.registry.LEVELS``; ``seeds``: the
    number of seeds (or an explicit list of ints); ``steps``: diffusion training steps; ``quick``:
    a bool; ``device``: "cpu" or "cuda"; ``episodes``: evaluation episodes per checkpoint.
    """
    if not isinstance(env, str) or env.strip().lower() not in TASKS:
        raise ParameterError(f"parameter env={env!r}: valid values are {', '.join(TASKS)}")
    env = env.strip().lower()
    if not isinstance(dataset, str) or dataset not in LEVELS:
        raise ParameterError(f"parameter dataset={dataset!r}: valid values are {', '.join(LEVELS)}")
    if isinstance(seeds, list | tuple):
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ParameterError(
                f"parameter seeds={seeds!r}: a number of seeds (e.g. 3) or a list of ints"
            )
        seed_list = list(seeds)
    else:
        seed_list = list(range(_positive_int("seeds", seeds, "a number of seeds, e.g. -p seeds 3")))
    steps = _positive_int("steps", steps, "diffusion training steps, e.g. -p steps 2000")
    episodes = _positive_int("episodes", episodes, "evaluation episodes, e.g. -p episodes 10")
    if not isinstance(quick, bool):
        raise ParameterError(f"parameter quick={quick!r}: True or False (papermill: -p quick True)")
    quick = quick or os.environ.get("MDPT_QUICK") == "1"
    if device not in ("cpu", "cuda"):
        raise ParameterError(f"parameter device={device!r}: valid values are cpu, cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ParameterError("parameter device='cuda': no CUDA GPU is available here; use cpu")
    return NotebookParams(
        env, dataset, dataset_id(env, dataset), seed_list, steps, quick, device, episodes
    )
