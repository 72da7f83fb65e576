"""Finding 2: guidance-first diffusion training (GFDT) against joint training.

For IDQL and Diffusion-QL: ``joint`` (guidance and actor learn together) vs ``guidance_first``
(stage 1 trains the guidance alone for ``steps`` steps, stage 2 freezes it and trains the diffusion
model for ``steps`` steps). Learning curves are against *diffusion* steps (sample efficiency);
each run also measures time per diffusion step, peak memory above the start of its stage, and
training-state memory — the inputs to the paper's -38.1% memory/compute claim.
"""

from __future__ import annotations

import pandas as pd

from mdpt_lib.algos import PAPER_ALGOS
from mdpt_lib.experiments.curves import Run, train_with_curve

MODES = ("joint", "guidance_first")
COSTS = ("diffusion_step_seconds", "stage2_peak_mb", "stage2_train_state_mb")


def run(request: Run) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (curves: one row per algo, mode, step, seed; costs: one row per algo and mode)."""
    curves, costs = [], []
    for algo in PAPER_ALGOS:
        for mode in MODES:
            agents, curve = train_with_curve(request, algo, mode)
            curves.append(curve)
            m = agents[0].results["measure"]
            costs.append(
                {
                    "algo": algo,
                    "mode": mode,
                    **{k: m[k] for k in COSTS},
                    "guidance_step_seconds": m.get("guidance_step_seconds", float("nan")),
                    "seeds_in_process": m["seeds_in_process"],
                }
            )
    return pd.concat(curves, ignore_index=True), pd.DataFrame(costs)


def savings(costs: pd.DataFrame) -> pd.DataFrame:
    """Per algorithm: how much lower guidance-first's per-step costs are than joint's (fractions)."""
    rows = []
    for algo, g in costs.groupby("algo", sort=False):
        joint = g[g["mode"] == "joint"].iloc[0]
        first = g[g["mode"] == "guidance_first"].iloc[0]
        rows.append({"algo": algo, **{f"{k}_saving": 1 - first[k] / joint[k] for k in COSTS}})
    return pd.DataFrame(rows)


def final_scores(curves: pd.DataFrame) -> dict[str, object]:
    """Scores at the last evaluation, per (algo, mode): arrays over seeds for ``stats.summarize``."""
    last = curves[curves.step == curves.step.max()]
    return {
        f"{a.upper()} {m}": g.score.to_numpy()
        for (a, m), g in last.groupby(["algo", "mode"], sort=False)
    }


def verdict(final: pd.DataFrame, algo: str, statistic: str = "iqm") -> str:
    """One sentence comparing guidance-first with joint for ``algo`` in a ``summarize`` table.

    The table's rows are named ``"<ALGO> joint"`` and ``"<ALGO> guidance_first"`` (``final_scores``);
    the sentence says which scored higher and whether the confidence intervals overlap.
    """
    joint, first = final.loc[f"{algo.upper()} joint"], final.loc[f"{algo.upper()} guidance_first"]
    if round(first[statistic], 1) == round(joint[statistic], 1):
        higher = "both schedules scored the same"
    else:
        who = "guidance-first" if first[statistic] > joint[statistic] else "joint training"
        higher = f"{who} scored higher"
    apart = (
        first[f"{statistic}_low"] > joint[f"{statistic}_high"]
        or joint[f"{statistic}_low"] > first[f"{statistic}_high"]
    )
    ci = "do not overlap" if apart else "overlap, so these runs do not separate the two"
    return (
        f"{higher} ({statistic.upper()} {first[statistic]:.1f} guidance-first vs "
        f"{joint[statistic]:.1f} joint); the 95% intervals {ci}"
    )
