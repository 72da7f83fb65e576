"""Deciding finding 2 (guidance-first training) on the learning benchmark's runs.

Every condition trains at the benchmark's scale and is written beside its joint runs
(``learning.DECISIVE_MODES``), so the joint runs that show a method learns are the baseline here.
A seed's final score is the mean of its last ``LAST`` checkpoints; statistics run over seeds (IQM,
stratified bootstrap intervals), never over episodes. A comparison is only made where the joint
guided policy clears the learning bar (``learning.step_table``): at behaviour-cloning level there is
nothing for guidance-first to improve, and such a dataset is reported as undecided.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mdpt_lib.stats import bootstrap_ratio_ci, iqm, relative_change, stratified_bootstrap_ci

LAST = 3
"""Checkpoints averaged per seed for its final score."""

FRACTION = 0.9
"""Diffusion steps to reach this fraction of joint's final IQM measure sample efficiency."""


def final_per_seed(curves: pd.DataFrame, last: int = LAST) -> pd.DataFrame:
    """Per (dataset, algo, mode, inference, seed): the mean score of its last ``last`` checkpoints."""
    keys = ["dataset", "algo", "mode", "inference", "seed"]
    ranked = curves.assign(rank=curves.groupby(keys).step.rank(method="first", ascending=False))
    return ranked[ranked["rank"] <= last].groupby(keys, as_index=False).score.mean()


def steps_to(curve: pd.Series, target: float) -> float:
    """The first step (index of ``curve``: step -> IQM) at which ``curve`` reaches ``target``."""
    reached = curve[curve >= target]
    return float(reached.index.min()) if len(reached) else np.nan


def compute_per_seed(results: list[dict]) -> pd.DataFrame:
    """Per (dataset, algo, mode): training core-seconds per seed over both stages and all jobs."""
    rows = [
        {
            "dataset": r["job"]["dataset"],
            "algo": r["job"]["algo"],
            "mode": r["job"]["mode"],
            "seeds": len(r["job"]["seeds"]),
            "seconds": r["train_wall_seconds"] - r.get("eval_wall_seconds", 0.0),
        }
        for r in results
    ]
    df = pd.DataFrame(rows).groupby(["dataset", "algo", "mode"], as_index=False).sum()
    return df.assign(seconds_per_seed=df.seconds / df.seeds)


def guidance_first_table(
    results: list[dict], curves: pd.DataFrame, reps: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Per (dataset, algo) with both joint and guidance-first runs: final guided IQMs with CIs,
    the relative change with its CI, steps to ``FRACTION`` of joint's final IQM, the area under
    each IQM curve (mean over checkpoints), total training compute per seed, and the verdict."""
    from mdpt_lib.experiments.learning import step_table

    guided = curves[curves.inference == "guided"]
    final = final_per_seed(guided)
    compute = compute_per_seed(results).set_index(["dataset", "algo", "mode"]).seconds_per_seed
    rows = []
    for (ds, algo), g in final.groupby(["dataset", "algo"]):
        if not {"joint", "guidance_first"} <= set(g["mode"]):
            continue
        x = {m: g[g["mode"] == m].sort_values("seed").score.to_numpy() for m in g["mode"]}
        joint, first = x["joint"], x["guidance_first"]
        row = {"dataset": ds, "algo": algo, "seeds": min(len(joint), len(first))}
        joint_curves = curves[
            (curves.dataset == ds) & (curves.algo == algo) & (curves["mode"] == "joint")
        ]
        # the joint run must stay above the learning bar over the checkpoints its score averages
        row["joint_learns"] = bool(step_table(joint_curves, reps, seed).clears.iloc[-LAST:].all())
        for name, v in (("joint", joint), ("guidance_first", first)):
            row[name] = iqm(v)
            row[f"{name}_ci"] = (
                stratified_bootstrap_ci(v, iqm, reps, seed=seed) if len(v) > 1 else (np.nan,) * 2
            )
        curves_iqm = {
            m: guided[(guided.dataset == ds) & (guided.algo == algo) & (guided["mode"] == m)]
            .groupby("step")
            .score.apply(lambda s: iqm(s.to_numpy()))
            for m in ("joint", "guidance_first")
        }
        comparable = row["joint_learns"] and row["seeds"] > 1
        row["change"] = (
            relative_change(row["guidance_first"], row["joint"]) if comparable else np.nan
        )
        row["change_ci"] = (
            bootstrap_ratio_ci(first, joint, iqm, reps, seed=seed) if comparable else (np.nan,) * 2
        )
        target = FRACTION * row["joint"]
        for m, c in curves_iqm.items():
            row[f"{m}_steps_to_target"] = steps_to(c, target)
            row[f"{m}_auc"] = float(c.mean())
        row["diffusion_saved"] = (
            1 - row["guidance_first_steps_to_target"] / row["joint_steps_to_target"]
        )
        for m in ("joint", "guidance_first"):
            row[f"{m}_seconds_per_seed"] = compute.get((ds, algo, m), np.nan)
        row["verdict"] = verdict(row)
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(row: dict | pd.Series) -> str:
    """The verdict: "reproduced" (guidance-first's final IQM above joint's, the change's interval
    above 0),
    "refuted" (below 0), or "undecided" with the reason (no interval, an interval across 0, or a
    joint run that does not stay above the learning bar)."""
    low, high = row["change_ci"]
    if not row["joint_learns"]:
        return "undecided: joint training does not stay above the learning bar here"
    if not np.isfinite(low):
        return "undecided: one seed, no interval"
    if low > 0:
        return "reproduced"
    if high < 0:
        return "refuted"
    return "undecided: the interval of the change spans 0"


def actor_parameter_share(algo: str, task: str, level: str = "medium-replay") -> float:
    """The diffusion actor's share of the parameters of actor plus guidance critics (target
    copies not counted) at the paper's sizes: what need not be resident while only the guidance
    trains. The paper's 38.1% is most likely this count for CleanDiffuser's networks."""
    from mdpt_lib.config import hparams
    from mdpt_lib.envs import get_task
    from mdpt_lib.guidance import make_guidance
    from mdpt_lib.measure import n_params
    from mdpt_lib.policy import DiffusionPolicy
    from mdpt_lib.replay import DataInfo

    spec = get_task(task)
    info = DataInfo(
        spec.name,
        spec.obs_dim,
        spec.act_dim,
        "parameter count",
        np.zeros(spec.obs_dim, np.float32),
        np.ones(spec.obs_dim, np.float32),
    )
    hp = hparams(algo, spec.name, level).to_dict()
    actor = n_params(DiffusionPolicy(1, info, hp, algo).model)
    guidance = make_guidance(hp["critic"], 1, info, hp)
    critics = sum(n_params(m) for name, m in guidance.named_children() if "target" not in name)
    return actor / (actor + critics)
