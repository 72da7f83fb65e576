"""Does it learn? Guided policies against their own unguided diffusion model and the data's level.

Every score at the level of the data it was trained on (behaviour cloning) is a failed experiment,
not a finding. This experiment trains IDQL and Diffusion-QL jointly and evaluates each policy at
every checkpoint twice: with its guidance at inference ("guided") and without ("unguided": a plain
sample of the same diffusion model, i.e. behaviour cloning). ``learning_table`` answers, per task
and algorithm: from which diffusion step is the guided IQM over seeds above both the dataset's mean
normalised return and the unguided IQM, with a 95% bootstrap interval over seeds that excludes both?
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mdpt_lib.stats import iqm, stratified_bootstrap_ci

ALGOS = ("dql", "idql")
MODES = ("joint",)


def grid_cells() -> list[tuple[str, str]]:
    """The (algo, mode) jobs of the grid runner."""
    return [(a, m) for a in ALGOS for m in MODES]


def curve_frame(results: list[dict]) -> pd.DataFrame:
    """One row per (dataset, algo, step, seed, inference) from ``learning`` result files."""
    frames = []
    for r in results:
        df = pd.DataFrame(r["curve"])
        df["dataset"] = r["job"]["dataset"]
        df["data_score"] = r["dataset_level"]["mean_score"]
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def step_table(curves: pd.DataFrame, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (dataset, algo, step): guided and unguided IQM over seeds with 95% CIs, and the bar.

    ``clears`` is True where the guided interval lies above the dataset's mean normalised return and
    above the unguided IQM.
    """
    rows = []
    for (ds, algo, step), g in curves.groupby(["dataset", "algo", "step"]):
        row = {"dataset": ds, "algo": algo, "step": int(step), "data_score": g.data_score.iloc[0]}
        for inference in ("guided", "unguided"):
            x = g[g.inference == inference].sort_values("seed").score.to_numpy()
            row[f"{inference}_seeds"] = len(x)
            row[inference] = iqm(x) if len(x) else np.nan
            lo, hi = (
                stratified_bootstrap_ci(x, iqm, reps, seed=seed) if len(x) > 1 else (np.nan,) * 2
            )
            row[f"{inference}_low"], row[f"{inference}_high"] = lo, hi
        row["clears"] = bool(
            row["guided_low"] > row["data_score"] and row["guided_low"] > row["unguided"]
        )
        rows.append(row)
    return pd.DataFrame(rows)


def learning_table(steps: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, algo): the first step that clears the bar and stays cleared to the end.

    ``first_clear`` is the first step where the bar is cleared; ``clears_from`` the first step from
    which every later checkpoint clears it too (NaN when the run ends below the bar).
    """
    rows = []
    for (ds, algo), g in steps.groupby(["dataset", "algo"]):
        g = g.sort_values("step")
        cleared = g.clears.to_numpy()
        first = g.step[g.clears].min() if cleared.any() else np.nan
        from_ = np.nan
        if cleared[-1]:
            k = len(cleared) - 1
            while k > 0 and cleared[k - 1]:
                k -= 1
            from_ = g.step.iloc[k]
        last = g.iloc[-1]
        rows.append(
            {
                "dataset": ds,
                "algo": algo,
                "data_score": last.data_score,
                "first_clear": first,
                "clears_from": from_,
                "final_step": int(last.step),
                "final_guided": last.guided,
                "final_guided_ci": (last.guided_low, last.guided_high),
                "final_unguided": last.unguided,
                "final_unguided_ci": (last.unguided_low, last.unguided_high),
            }
        )
    return pd.DataFrame(rows)


def figure(curves: pd.DataFrame, steps: pd.DataFrame | None = None):
    """Guided and unguided score along training, one panel per (dataset, algo), data level dashed."""
    import matplotlib.pyplot as plt

    steps = step_table(curves) if steps is None else steps
    panels = list(steps.groupby(["dataset", "algo"]))
    cols = min(len(panels), 2)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax, ((ds, algo), g) in zip(axes.flat, panels, strict=False):
        g = g.sort_values("step")
        for inference, color in (("guided", "C0"), ("unguided", "C1")):
            ax.plot(g.step, g[inference], color=color, label=f"{inference} IQM")
            ax.fill_between(
                g.step, g[f"{inference}_low"], g[f"{inference}_high"], color=color, alpha=0.2
            )
            seeds = curves[
                (curves.dataset == ds) & (curves.algo == algo) & (curves.inference == inference)
            ]
            ax.scatter(seeds.step, seeds.score, color=color, s=6, alpha=0.5)
        ax.axhline(g.data_score.iloc[0], color="k", ls="--", lw=1, label="dataset mean")
        ax.set_title(f"{algo.upper()} on {ds}", fontsize=9)
        ax.set_xlabel("diffusion training step")
        ax.set_ylabel("normalised score")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
