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


def joint_learns(curves: pd.DataFrame, ds: str, algo: str, reps: int, seed: int) -> bool:
    """Does the joint run of (``ds``, ``algo``) stay above the learning bar over the checkpoints
    its final score averages?"""
    from mdpt_lib.experiments.learning import step_table

    joint = curves[(curves.dataset == ds) & (curves.algo == algo) & (curves["mode"] == "joint")]
    return bool(len(joint)) and bool(step_table(joint, reps, seed).clears.iloc[-LAST:].all())


def compare_with_joint(
    final: pd.DataFrame, curves: pd.DataFrame, ds: str, algo: str, mode: str, reps: int, seed: int
) -> dict:
    """``mode`` against joint training on (``ds``, ``algo``): final guided IQMs over seeds with
    intervals, the relative change ``mode`` vs joint with its interval, and the verdict."""
    g = final[(final.dataset == ds) & (final.algo == algo) & (final.inference == "guided")]
    x = {m: g[g["mode"] == m].sort_values("seed").score.to_numpy() for m in ("joint", mode)}
    row = {"dataset": ds, "algo": algo, "mode": mode, "seeds": min(map(len, x.values()))}
    row["joint_learns"] = joint_learns(curves, ds, algo, reps, seed)
    for name, v in (("joint", x["joint"]), (mode, x[mode])):
        row[name] = iqm(v) if len(v) else np.nan
        row[f"{name}_ci"] = (
            stratified_bootstrap_ci(v, iqm, reps, seed=seed) if len(v) > 1 else (np.nan,) * 2
        )
    comparable = row["joint_learns"] and row["seeds"] > 1
    row["change"] = relative_change(row[mode], row["joint"]) if comparable else np.nan
    row["change_ci"] = (
        bootstrap_ratio_ci(x[mode], x["joint"], iqm, reps, seed=seed)
        if comparable
        else (np.nan,) * 2
    )
    row["separation"] = separation(row)
    return row


def guidance_first_table(
    results: list[dict], curves: pd.DataFrame, reps: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Per (dataset, algo) with both joint and guidance-first runs: ``compare_with_joint``, steps
    to ``FRACTION`` of joint's final IQM, the area under each IQM curve (mean over checkpoints),
    and the total training compute per seed of each schedule."""
    final = final_per_seed(curves)
    guided = curves[curves.inference == "guided"]
    compute = compute_per_seed(results).set_index(["dataset", "algo", "mode"]).seconds_per_seed
    rows = []
    for (ds, algo), g in final.groupby(["dataset", "algo"]):
        if not {"joint", "guidance_first"} <= set(g["mode"]):
            continue
        row = compare_with_joint(final, curves, ds, algo, "guidance_first", reps, seed)
        target = FRACTION * row["joint"]
        for m in ("joint", "guidance_first"):
            c = guided[(guided.dataset == ds) & (guided.algo == algo) & (guided["mode"] == m)]
            c = c.groupby("step").score.apply(lambda s: iqm(s.to_numpy()))
            row[f"{m}_steps_to_target"] = steps_to(c, target)
            row[f"{m}_auc"] = float(c.mean())
            row[f"{m}_seconds_per_seed"] = compute.get((ds, algo, m), np.nan)
        row["diffusion_saved"] = (
            1 - row["guidance_first_steps_to_target"] / row["joint_steps_to_target"]
        )
        row["verdict"] = gf_verdict(row)
        rows.append(row)
    return pd.DataFrame(rows)


def necessity_table(curves: pd.DataFrame, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Finding 1, per (dataset, algo, condition other than joint): ``compare_with_joint`` (is the
    guidance, in joint's form, needed for joint's final score?), and the guided-minus-unguided gap
    per seed over the first and the last third of the checkpoints (IQM, interval): how much the
    guidance at inference adds early and late in training."""
    final = final_per_seed(curves)
    rows = []
    for (ds, algo, mode), _ in final.groupby(["dataset", "algo", "mode"]):
        if mode == "joint":
            row = {"dataset": ds, "algo": algo, "mode": mode}
        else:
            row = compare_with_joint(final, curves, ds, algo, mode, reps, seed)
        for stage, gap in stage_gaps(curves, ds, algo, mode).items():
            row[f"{stage}_gap"] = iqm(gap)
            row[f"{stage}_gap_ci"] = (
                stratified_bootstrap_ci(gap, iqm, reps, seed=seed)
                if len(gap) > 1
                else (np.nan,) * 2
            )
        rows.append(row)
    return pd.DataFrame(rows)


def stage_gaps(curves: pd.DataFrame, ds: str, algo: str, mode: str) -> dict[str, np.ndarray]:
    """Per seed, guided minus unguided score averaged over the first ("early") and the last
    ("late") third of the checkpoints of (``ds``, ``algo``, ``mode``): arrays over seeds."""
    c = curves[(curves.dataset == ds) & (curves.algo == algo) & (curves["mode"] == mode)]
    wide = c.pivot_table(index=["seed", "step"], columns="inference", values="score")
    if not {"guided", "unguided"} <= set(wide.columns):
        return {}
    gap = (wide["guided"] - wide["unguided"]).unstack("seed")  # steps x seeds
    third = max(1, len(gap) // 3)
    return {
        "early": gap.iloc[:third].mean().to_numpy(),
        "late": gap.iloc[-third:].mean().to_numpy(),
    }


def separation(row: dict | pd.Series) -> str:
    """Where ``row["mode"]``'s final IQM lies against joint's: "above" or "below" (the interval of
    the relative change excludes 0), or "undecided: <why>" (no interval, an interval across 0, or a
    joint run that does not stay above the learning bar, where nothing can be compared)."""
    low, high = row["change_ci"]
    if not row["joint_learns"]:
        return "undecided: joint training does not stay above the learning bar here"
    if not np.isfinite(low):
        return "undecided: one seed, no interval"
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "undecided: the interval of the change spans 0"


def gf_verdict(row: dict | pd.Series) -> str:
    """The paper's claim that guidance-first scores higher than joint: reproduced / refuted /
    undecided (with the reason)."""
    where = separation(row)
    return {"above": "reproduced", "below": "refuted"}.get(where, where)


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


FINDING_CONDITIONS: dict[str, tuple[str, ...]] = {
    "necessity": ("no_guidance", "delayed_guidance", "random_guidance"),
    "guidance_first": ("guidance_first",),
}
"""The conditions each finding compares with joint training."""


def decisive(finding: str, dataset_id: str, folder=None) -> tuple[pd.DataFrame, list[str]]:
    """The committed decisive table of ``finding`` ("necessity" or "guidance_first") for one
    registry dataset (empty where its conditions have no result files yet), and the runner commands
    that train its conditions at the findings scales (finished seeds are skipped when rerun)."""
    from mdpt_lib.data.registry import SAME_DATA, get_dataset_spec
    from mdpt_lib.experiments.learning import findings_commands, load_findings

    if finding not in FINDING_CONDITIONS:
        raise ValueError(f"unknown finding {finding!r}: one of {', '.join(FINDING_CONDITIONS)}")
    spec = get_dataset_spec(dataset_id)
    conditions = FINDING_CONDITIONS[finding]
    level = SAME_DATA.get(spec.level, spec.level)  # the runner's (D4RL) name of the level
    commands = findings_commands([spec.task], list(conditions), levels=[level])
    results, curves = load_findings(folder)
    results = [r for r in results if r["job"]["dataset"] == dataset_id]
    curves = curves[curves.dataset == dataset_id] if not curves.empty else curves
    if curves.empty or not set(conditions) & set(curves["mode"]):
        return pd.DataFrame(), commands
    if finding == "guidance_first":
        return guidance_first_table(results, curves), commands
    return necessity_table(curves), commands


def with_intervals(table: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """``table`` for reading: each column ``x`` that has an ``x_ci`` beside it shown as
    "x [low, high]" (relative changes as percentages), the ``_ci`` columns dropped."""
    shown = table.copy()
    for col in [c for c in table if f"{c}_ci" in table]:
        pct = col == "change"

        def fmt(v: float, ci: tuple, pct: bool = pct) -> str:
            f = (lambda x: f"{x:+.0%}") if pct else (lambda x: f"{x:.{digits}f}")
            if not np.isfinite(v):
                return "-"
            return f(v) + (f" [{f(ci[0])}, {f(ci[1])}]" if np.isfinite(ci[0]) else " (one seed)")

        shown[col] = [fmt(v, ci) for v, ci in zip(table[col], table[f"{col}_ci"], strict=True)]
    return shown.drop(columns=[c for c in table if c.endswith("_ci")])


def stage1_log(results: list[dict]) -> pd.DataFrame:
    """Guidance-first's stage 1, per job: the critic's loss and its mean Q of the data's actions
    beside the data's discounted return, along the critic's steps (has the critic settled, and
    on what?). One row per logged step of the first seed of each job."""
    rows = [
        {
            "dataset": r["job"]["dataset"],
            "algo": r["job"]["algo"],
            "scale": r["job"]["scale"],
            "seed": r["job"]["seeds"][0],
            **{k: row.get(k) for k in ("step", "q_loss", "q_mean", "mc_return")},
        }
        for r in results
        if r["job"]["mode"] == "guidance_first"
        for row in r.get("log", [])
        if row.get("stage") == 1
    ]
    return pd.DataFrame(rows)
