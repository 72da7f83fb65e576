"""Finding 1: how much guidance helps, at which stage of training, for which algorithm.

For IDQL and Diffusion-QL, the same diffusion policies are evaluated along training both with their
guidance at inference and without it (a plain sample of the diffusion model), under four training
conditions (``mdpt_lib.modes``):
- ``joint``: the official way, guidance trained alongside the actor;
- ``no_guidance``: the actor never sees the guidance in training (the critic still trains, for
  inference);
- ``delayed_guidance``: the guidance enters the actor's training half-way;
- ``random_guidance``: the guidance is frozen at its random initialisation.
IDQL's actor never uses its guidance in training, so its conditions differ only at inference: the
experiment shows that too. Returns one row per (algo, condition, inference, step, seed).
"""

from __future__ import annotations

import pandas as pd

from mdpt_lib.algos import ALGORITHMS, PAPER_ALGOS
from mdpt_lib.experiments.curves import Run, train_with_curve
from mdpt_lib.modes import get_mode

CONDITIONS = ("joint", "no_guidance", "delayed_guidance", "random_guidance")


def grid_cells() -> list[tuple[str, str]]:
    """The (algo, condition) jobs of the grid runner.

    IDQL's actor never sees its guidance in training, so with the same seeds ``delayed_guidance``
    trains exactly the ``no_guidance`` run (and both exactly ``joint``'s): the grid keeps
    ``no_guidance`` as the check of that identity and skips ``delayed_guidance`` for IDQL.
    """
    return [
        (a, m)
        for a in PAPER_ALGOS
        for m in CONDITIONS
        if ALGORITHMS[a].guidance_in_training or get_mode(m).enters_at == 0
    ]


def run(request: Run) -> pd.DataFrame:
    """Every (algo, condition) of ``grid_cells`` trained and evaluated guided and unguided (IDQL's
    ``delayed_guidance`` is its ``no_guidance`` run, so it is not trained a second time)."""
    curves = [
        train_with_curve(request, algo, mode, eval_unguided=True)[1] for algo, mode in grid_cells()
    ]
    return pd.concat(curves, ignore_index=True)


def guidance_gap(df: pd.DataFrame) -> pd.DataFrame:
    """Guided minus unguided score, per algo, condition and step (mean over seeds)."""
    wide = df.pivot_table(
        index=["algo", "mode", "step", "seed"], columns="inference", values="score"
    )
    wide["gap"] = wide["guided"] - wide["unguided"]
    return wide.groupby(["algo", "mode", "step"]).gap.mean().reset_index()


def figure(df: pd.DataFrame, title: str | None = None):
    """Score along training per condition (hue), guided vs unguided (style), one panel per algo.

    Bands are 95% bootstrap intervals over seeds; returns seaborn's ``FacetGrid``.
    """
    import seaborn as sns

    grid = sns.relplot(
        data=df,
        x="step",
        y="score",
        hue="mode",
        style="inference",
        col="algo",
        kind="line",
        errorbar=("ci", 95),
        height=3.2,
        aspect=1.3,
    )
    grid.set_axis_labels("diffusion training step", "normalised score")
    if title:
        grid.figure.suptitle(title, y=1.03)
    return grid
