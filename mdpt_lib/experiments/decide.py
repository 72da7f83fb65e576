"""Deciding finding 2 (guidance-first training) on the learning benchmark's runs.

Every condition trains at the benchmark's scale and is written beside its joint runs
(``learning.DECISIVE_MODES``), so the joint runs that show a method learns are the baseline here.
A seed's final score is the mean of its last ``LAST`` checkpoints; statistics run over seeds (IQM,
stratified bootstrap intervals), never over episodes. A comparison is only made where the joint
guided policy clears the learning bar (``learning.step_table``): at behaviour-cloning level there is
nothing for guidance-first to improve, and such a dataset is reported as undecided.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mdpt_lib.stats import (
    REPS,
    bootstrap_difference_ci,
    bootstrap_ratio_ci,
    iqm,
    relative_change,
    stratified_bootstrap_ci,
)

LAST = 3
"""Checkpoints averaged per seed for its final score."""

FRACTION = 0.9
"""Diffusion steps to reach this fraction of joint's final IQM measure sample efficiency."""

PROTOCOL_SEEDS = 5
"""Seeds per condition of the decisive protocol; a verdict on fewer is marked provisional."""


def provisional(verdict: str, seeds: int) -> str:
    """``verdict`` as it stands, marked provisional where it rests on fewer than ``PROTOCOL_SEEDS``
    seeds (a bootstrap interval over two or three seeds is a rough one)."""
    if verdict.startswith("undecided") or seeds >= PROTOCOL_SEEDS:
        return verdict
    return f"{verdict} (provisional: {seeds} of {PROTOCOL_SEEDS} seeds)"


def final_per_seed(curves: pd.DataFrame, last: int = LAST) -> pd.DataFrame:
    """Per (dataset, algo, [scale,] mode, inference, seed): the mean score of its last ``last``
    checkpoints (runs of different scales are kept apart where the curves name their scale)."""
    keys = ["dataset", "algo", "mode", "inference", "seed"]
    if "scale" in curves:
        keys.insert(2, "scale")
    ranked = curves.assign(rank=curves.groupby(keys).step.rank(method="first", ascending=False))
    return ranked[ranked["rank"] <= last].groupby(keys, as_index=False).score.mean()


def steps_to(curve: pd.Series, target: float) -> float:
    """The first step (index of ``curve``: step -> IQM) at which ``curve`` reaches ``target``."""
    reached = curve[curve >= target]
    return float(reached.index.min()) if len(reached) else np.nan


def compute_per_seed(results: list[dict]) -> pd.DataFrame:
    """Per (dataset, algo, scale, mode): training core-seconds per seed over both stages and all
    jobs."""
    rows = [
        {
            "dataset": r["job"]["dataset"],
            "algo": r["job"]["algo"],
            "scale": r["job"].get("scale", ""),
            "mode": r["job"]["mode"],
            "seeds": len(r["job"]["seeds"]),
            "seconds": r["train_wall_seconds"] - r.get("eval_wall_seconds", 0.0),
        }
        for r in results
    ]
    df = pd.DataFrame(rows).groupby(["dataset", "algo", "scale", "mode"], as_index=False).sum()
    return df.assign(seconds_per_seed=df.seconds / df.seeds)


def memory_per_seed(results: list[dict]) -> pd.DataFrame:
    """Per (dataset, algo, scale, mode): the memory one seed's training needs, the median over its
    jobs, each the larger of guidance-first's two stages: by construction (``train_state_mb``: four
    copies of each trained parameter, one of each parameter only used; ``measure.training_state_bytes``)
    and as measured (``peak_mb``: the largest rise of the process's memory within a stage,
    ``measure.PeakMemory``), a job's values shared out over the seeds it trained together."""
    keys = ["dataset", "algo", "scale", "mode"]
    rows = []
    for r in results:
        job, m = r["job"], r.get("measure", {})
        if "stage2_train_state_mb" not in m:
            continue
        n = m.get("seeds_in_process", len(job["seeds"]))
        state = max(m.get("stage1_train_state_mb", 0.0), m["stage2_train_state_mb"]) / n
        peak = max(m.get("stage1_peak_mb", 0.0), m["stage2_peak_mb"]) / n
        rows.append([job["dataset"], job["algo"], job.get("scale", ""), job["mode"], state, peak])
    frame = pd.DataFrame(rows, columns=[*keys, "train_state_mb", "peak_mb"])
    return frame.groupby(keys).median()


@functools.cache
def _step_gflop(algo: str, mode: str, task: str, hparams: tuple) -> dict[str, float]:
    from mdpt_lib.measure import step_gflop

    return step_gflop(algo, mode, task, **dict(hparams))


def step_costs(results: list[dict]) -> pd.DataFrame:
    """Per (dataset, algo, scale, mode): GFLOP of one stage-1 step (``guidance_gflop``, 0 without
    stage 1) and of one stage-2 step (``diffusion_gflop``) of one seed at the sizes the jobs ran
    (``measure.step_gflop``), the stage-1 steps, and the training compute of one seed in TFLOP
    over both stages (``tflop``): the machine-independent form of the total-compute comparison.
    Results without step counts or scale (``measure``, ``scale``) are left out."""
    from mdpt_lib.data.registry import get_dataset_spec

    keys = ["dataset", "algo", "scale", "mode"]
    rows = []
    for r in (r for r in results if "measure" in r and "scale" in r):
        job, m = r["job"], r["measure"]
        overrides = r["scale"]["overrides"]
        hp = {**overrides.get("all", {}), **overrides.get(job["algo"], {})}
        task = get_dataset_spec(job["dataset"]).task
        g = _step_gflop(job["algo"], job["mode"], task, tuple(sorted(hp.items())))
        stage1 = m.get("guidance_steps", 0) if g["guidance"] else 0
        tflop = (stage1 * g["guidance"] + m["diffusion_steps"] * g["diffusion"]) / 1e3
        rows.append([job[k] for k in keys] + [g["guidance"], g["diffusion"], stage1, tflop])
    columns = [*keys, "guidance_gflop", "diffusion_gflop", "guidance_steps", "tflop"]
    return pd.DataFrame(rows, columns=columns).groupby(keys).mean()


def _tflop(costs: pd.DataFrame, key: tuple, diffusion_steps: float | None = None) -> float:
    """One seed's training TFLOP of cell ``key``: its whole run, or all of stage 1 plus
    ``diffusion_steps`` of stage 2."""
    if key not in costs.index:
        return np.nan
    c = costs.loc[key]
    if diffusion_steps is None:
        return float(c.tflop)
    return float(c.guidance_steps * c.guidance_gflop + diffusion_steps * c.diffusion_gflop) / 1e3


def joint_learns(curves: pd.DataFrame, ds: str, algo: str, reps: int, seed: int) -> bool:
    """Does the joint run of (``ds``, ``algo``) stay above the learning bar over the checkpoints
    its final score averages?"""
    from mdpt_lib.experiments.learning import step_table

    joint = curves[(curves.dataset == ds) & (curves.algo == algo) & (curves["mode"] == "joint")]
    return bool(len(joint)) and bool(step_table(joint, reps, seed).clears.iloc[-LAST:].all())


def _at(df: pd.DataFrame, scale: str | None) -> pd.DataFrame:
    return df if scale is None or "scale" not in df else df[df.scale == scale]


def compare_with_joint(
    final: pd.DataFrame,
    curves: pd.DataFrame,
    ds: str,
    algo: str,
    mode: str,
    reps: int,
    seed: int,
    joint_scale: str | None = None,
    mode_scale: str | None = None,
) -> dict:
    """``mode`` (at ``mode_scale``) against joint training (at ``joint_scale``; None: whatever
    scale the frames hold) on (``ds``, ``algo``): final guided IQMs over seeds with intervals, the
    relative change ``mode`` vs joint with its interval, and the verdict."""
    g = final[(final.dataset == ds) & (final.algo == algo) & (final.inference == "guided")]
    x = {
        m: _at(g[g["mode"] == m], sc).sort_values("seed").score.to_numpy()
        for m, sc in (("joint", joint_scale), (mode, mode_scale))
    }
    row = {"dataset": ds, "algo": algo, "mode": mode, "seeds": min(map(len, x.values()))}
    row["joint_learns"] = joint_learns(_at(curves, joint_scale), ds, algo, reps, seed)
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


def steps_per_seed(curves: pd.DataFrame, target: float) -> np.ndarray:
    """Per seed of ``curves`` (one condition's guided curve), the first step at which its score
    reaches ``target``; a seed that never does counts as one checkpoint interval past its last."""
    out = []
    for _, c in curves.groupby("seed"):
        c = c.set_index("step").score.sort_index()
        beyond = c.index.max() + (c.index[-1] - c.index[-2] if len(c) > 1 else c.index.max())
        reached = steps_to(c, target)
        out.append(reached if np.isfinite(reached) else float(beyond))
    return np.asarray(out, dtype=float)


def _primary_scale(ds: str, algo: str, joint_scales: set[str]) -> str | None:
    """The findings scale of (``ds``, ``algo``) (``scales.findings_scale``); for a dataset outside
    the registry, the joint runs' one scale."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.scales import findings_scale

    try:
        return findings_scale(get_dataset_spec(ds).task, algo)
    except (KeyError, ValueError):
        return next(iter(joint_scales)) if len(joint_scales) == 1 else None


def _same_setting(ds: str, algo: str, scale: str) -> str:
    """The scale of the joint runs in guidance-first ``scale``'s own setting
    (``scales.joint_runs_of``; ``scale`` itself for a dataset outside the registry)."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.scales import joint_runs_of

    try:
        return joint_runs_of(get_dataset_spec(ds).task, algo, scale)
    except (KeyError, ValueError):
        return scale


def guidance_first_table(
    results: list[dict], curves: pd.DataFrame, reps: int = REPS, seed: int = 0
) -> pd.DataFrame:
    """Per (dataset, algo, guidance-first scale, joint scale): ``compare_with_joint``, the
    diffusion steps each schedule needs to reach ``FRACTION`` of joint's final IQM (of the IQM
    curve, and per seed: ``diffusion_saved`` with its interval and ``efficiency_verdict``), the
    area under each IQM curve (mean over checkpoints), and the total training compute per seed of
    each schedule, in core-seconds and in TFLOP (``step_costs``): over the whole run
    (``*_tflop_per_seed``) and up to the step its IQM curve reaches the target, all of stage 1
    included (``*_tflop_to_target``), with the share of joint's that guidance-first does not spend
    (``compute_saved_per_seed``, ``compute_saved_to_target``), each schedule's memory per seed
    (``memory_per_seed``: ``*_train_state_mb``, ``*_peak_mb``) with the share guidance-first saves
    (``train_state_mb_saved``, ``peak_mb_saved``), and whether guidance-first's
    stage-1 critics had settled (``stage1_settled``; where not, both verdicts are ``unsettled``:
    the finding assumes a settled critic). Guidance-first runs of a scale are
    compared with the joint runs of the findings scale and, where there are any, with the joint
    runs of their own setting (``_same_setting``: a variant such as another critic pretraining
    form, the schedule alone with the setting held fixed; a longer stage 1 changes nothing that
    joint training has, so its own setting's joint runs are those of the scale it lengthens)."""
    if "scale" not in curves:
        curves = curves.assign(scale="")
    final = final_per_seed(curves)
    guided = curves[curves.inference == "guided"]
    compute = compute_per_seed(results).set_index(["dataset", "algo", "scale", "mode"])
    compute = compute.seconds_per_seed
    costs = step_costs(results)
    memory = memory_per_seed(results)
    settled = stage1_settled(results).set_index(["dataset", "algo", "scale"]).stage1_settled
    rows = []
    for (ds, algo), g in final.groupby(["dataset", "algo"]):
        joint_scales = set(g[g["mode"] == "joint"].scale)
        primary = _primary_scale(ds, algo, joint_scales)
        for gf_scale in sorted(set(g[g["mode"] == "guidance_first"].scale)):
            same = _same_setting(ds, algo, gf_scale)
            pairs = [sc for sc in (primary, same) if sc in joint_scales]
            for joint_scale in dict.fromkeys(pairs):
                scales = {"joint": joint_scale, "guidance_first": gf_scale}
                row = compare_with_joint(
                    final, curves, ds, algo, "guidance_first", reps, seed, joint_scale, gf_scale
                )
                row.update(joint_scale=joint_scale, guidance_first_scale=gf_scale)
                target = FRACTION * row["joint"]
                per_seed = {}
                for m, sc in scales.items():
                    c = guided[(guided.dataset == ds) & (guided.algo == algo)]
                    c = c[(c["mode"] == m) & (c.scale == sc)]
                    per_seed[m] = steps_per_seed(c, target)
                    c = c.groupby("step").score.apply(lambda v: iqm(v.to_numpy()))
                    row[f"{m}_steps_to_target"] = steps_to(c, target)
                    row[f"{m}_auc"] = float(c.mean())
                    row[f"{m}_seconds_per_seed"] = compute.get((ds, algo, sc, m), np.nan)
                    row[f"{m}_tflop_per_seed"] = _tflop(costs, (ds, algo, sc, m))
                    reached = row[f"{m}_steps_to_target"]
                    row[f"{m}_tflop_to_target"] = _tflop(costs, (ds, algo, sc, m), reached)
                    for what in ("train_state_mb", "peak_mb"):
                        known = (ds, algo, sc, m) in memory.index
                        row[f"{m}_{what}"] = (
                            memory.loc[(ds, algo, sc, m), what] if known else np.nan
                        )
                for what in ("per_seed", "to_target"):
                    ratio = row[f"guidance_first_tflop_{what}"] / row[f"joint_tflop_{what}"]
                    row[f"compute_saved_{what}"] = 1 - ratio
                for what in ("train_state_mb", "peak_mb"):
                    row[f"{what}_saved"] = 1 - row[f"guidance_first_{what}"] / row[f"joint_{what}"]
                row.update(efficiency(per_seed["guidance_first"], per_seed["joint"], reps, seed))
                row["efficiency_verdict"] = provisional(row["efficiency_verdict"], row["seeds"])
                row["verdict"] = provisional(gf_verdict(row), row["seeds"])
                # None: no stage-1 log long enough to tell
                known = settled.get((ds, algo, gf_scale))
                row["stage1_settled"] = None if known is None else bool(known)
                if row["stage1_settled"] is False:
                    for key in ("verdict", "efficiency_verdict"):
                        row[key] = unsettled(row[key])
                rows.append(row)
    return pd.DataFrame(rows)


def efficiency(gf_steps: np.ndarray, joint_steps: np.ndarray, reps: int, seed: int) -> dict:
    """The diffusion training guidance-first saves: 1 - IQM(its steps to the target) / IQM(joint's),
    seeds as the unit, with a 95% bootstrap interval, and the verdict on the paper's claim that it
    needs less (reproduced where the interval lies above 0, refuted where below)."""
    nan = float("nan")
    out = {"diffusion_saved": nan, "diffusion_saved_ci": (nan, nan)}
    if len(gf_steps) and len(joint_steps):
        out["diffusion_saved"] = -relative_change(iqm(gf_steps), iqm(joint_steps))
    if min(len(gf_steps), len(joint_steps)) > 1:
        low, high = bootstrap_ratio_ci(gf_steps, joint_steps, iqm, reps, seed=seed)
        out["diffusion_saved_ci"] = (-high, -low)
    low, high = out["diffusion_saved_ci"]
    if not np.isfinite(low):
        out["efficiency_verdict"] = "undecided: one seed, no interval"
    elif low > 0:
        out["efficiency_verdict"] = "reproduced"
    elif high < 0:
        out["efficiency_verdict"] = "refuted"
    else:
        out["efficiency_verdict"] = "undecided: the interval spans 0"
    return out


def necessity_table(curves: pd.DataFrame, reps: int = REPS, seed: int = 0) -> pd.DataFrame:
    """Finding 1, per (dataset, algo, condition other than joint): ``compare_with_joint`` (is the
    guidance, in joint's form, needed for joint's final score? marked provisional below five
    seeds), the final guided and unguided IQMs of every condition, joint's included (the mean of
    the last checkpoints per seed, intervals over seeds), and the guided-minus-unguided gap
    per seed over the first and the last third of the checkpoints (IQM, interval): how much the
    guidance at inference adds early and late in training."""
    final = final_per_seed(curves)
    rows = []
    for (ds, algo, mode), _ in final.groupby(["dataset", "algo", "mode"]):
        if mode == "joint":
            row = {"dataset": ds, "algo": algo, "mode": mode}
        else:
            row = compare_with_joint(final, curves, ds, algo, mode, reps, seed)
            row["separation"] = provisional(row["separation"], row["seeds"])
        at = final[(final.dataset == ds) & (final.algo == algo) & (final["mode"] == mode)]
        for inference in ("guided", "unguided"):
            v = at[at.inference == inference].score.to_numpy()
            row[inference] = iqm(v) if len(v) else np.nan
            row[f"{inference}_ci"] = (
                stratified_bootstrap_ci(v, iqm, reps, seed=seed) if len(v) > 1 else (np.nan,) * 2
            )
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


NECESSITY_MARGIN = 5.0
"""Normalised points: a change in what the guidance adds that is smaller than this counts as none.
The paper's necessity claim is qualitative and states no size; this margin is ours."""


def _dependence(low: float, high: float, margin: float = NECESSITY_MARGIN) -> str:
    """Where an interval of a difference lies: "differs" (excludes 0), "same" (within ±margin), or
    "unclear" (neither; no interval)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "unclear"
    if low > 0 or high < 0:
        return "differs"
    if -margin < low and high < margin:
        return "same"
    return "unclear"


def necessity_verdict(
    curves: pd.DataFrame, ds: str, reps: int = REPS, seed: int = 0
) -> tuple[pd.DataFrame, str]:
    """Finding 1 ("how much guidance helps depends on the training stage and the algorithm") on
    dataset ``ds``, from the joint runs of the paper's algorithms.

    What guidance adds is the guided minus the unguided score of the same policy (``stage_gaps``).
    Stage: per algorithm, each seed's late-minus-early gap (IQM over seeds, interval). Algorithm:
    IDQL's gap minus Diffusion-QL's at each stage (independent seeds, interval). Returns the table
    of these parts and the verdict: reproduced where the gap depends on the stage for some
    algorithm *and* on the algorithm at some stage (intervals exclude 0); refuted where every part
    is the same within ±``NECESSITY_MARGIN`` points; undecided otherwise, or where a joint run does
    not stay above the learning bar (nothing to guide). Marked provisional below five seeds."""
    from mdpt_lib.algos import PAPER_ALGOS

    gaps = {a: stage_gaps(curves, ds, a, "joint") for a in PAPER_ALGOS}
    missing = [a for a, g in gaps.items() if not g or len(g["late"]) < 2]
    if missing:
        why = ", ".join(a.upper() for a in missing)
        verb = "has" if len(missing) == 1 else "have"
        return pd.DataFrame(), f"undecided: {why} {verb} fewer than two seeds of joint runs on {ds}"
    rows = []
    for a, g in gaps.items():
        d = g["late"] - g["early"]
        ci = stratified_bootstrap_ci(d, iqm, reps, seed=seed)
        rows.append(dict(part="stage", algo=a, stage="late - early", difference=iqm(d), ci=ci))
    a, b = PAPER_ALGOS
    for stage in ("early", "late"):
        x, y = gaps[a][stage], gaps[b][stage]
        ci = bootstrap_difference_ci(x, y, iqm, reps, seed=seed)
        rows.append(
            dict(
                part="algorithm", algo=f"{a} - {b}", stage=stage, difference=iqm(x) - iqm(y), ci=ci
            )
        )
    table = pd.DataFrame(rows)
    table["reading"] = [_dependence(*ci) for ci in table.ci]
    seeds = min(len(g["late"]) for g in gaps.values())
    learns = {a: joint_learns(curves, ds, a, reps, seed) for a in PAPER_ALGOS}
    stage, algo = (table[table.part == p].reading for p in ("stage", "algorithm"))
    if not all(learns.values()):
        flat = ", ".join(a.upper() for a, ok in learns.items() if not ok)
        verdict = f"undecided: {flat} joint training does not stay above the learning bar here"
    elif (stage == "differs").any() and (algo == "differs").any():
        verdict = provisional("reproduced", seeds)
    elif (table.reading == "same").all():
        verdict = provisional("refuted", seeds)
    else:
        verdict = "undecided: " + "; ".join(
            f"{'a stage' if p == 'stage' else 'an algorithm'} dependence is not shown"
            for p, r in (("stage", stage), ("algorithm", algo))
            if not (r == "differs").any()
        )
    return table, verdict


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


def smallest_claimed_gain() -> float:
    """The smallest final-score gain of guidance-first over joint that any abstract version reports
    (a fraction: 0.12 for the ICLR submission's "up to 12%")."""
    from mdpt_lib.experiments.claims import CLAIMS

    return min(c.value for c in CLAIMS if c.key.startswith("gf_score"))


def gf_verdict(row: dict | pd.Series) -> str:
    """The paper's claim that guidance-first scores higher than joint: reproduced (the interval of
    the change lies above 0), refuted (below 0), not reproduced (it spans 0 but lies within
    ±``smallest_claimed_gain``: no gain of any size the paper reports), or undecided (why)."""
    where = separation(row)
    low, high = row["change_ci"]
    margin = smallest_claimed_gain()
    if where.startswith("undecided: the interval") and -margin < low and high < margin:
        return (
            f"not reproduced: no gain (the interval of the change lies within ±{margin:.0%}, "
            "the smallest gain the paper reports)"
        )
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
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.learning import curve_frame, findings_commands, load_findings

    if finding not in FINDING_CONDITIONS:
        raise ValueError(f"unknown finding {finding!r}: one of {', '.join(FINDING_CONDITIONS)}")
    spec = get_dataset_spec(dataset_id)
    conditions = FINDING_CONDITIONS[finding]
    variants = finding == "guidance_first"  # guidance-first is also run at variant scales
    commands = findings_commands([spec.task], list(conditions), [spec.id_level], variants)
    modes = ("joint", *conditions)  # each finding reads its own conditions, beside joint
    results, _ = load_findings(folder, modes=modes, variants=variants)
    results = [r for r in results if r["job"]["dataset"] == dataset_id]
    if finding == "necessity":  # the paper's two algorithms (the extensions run guidance-first)
        from mdpt_lib.algos import PAPER_ALGOS

        results = [r for r in results if r["job"]["algo"] in PAPER_ALGOS]
    curves = curve_frame(results)
    if curves.empty or not set(conditions) & set(curves["mode"]):
        return pd.DataFrame(), commands
    if finding == "guidance_first":
        return guidance_first_table(results, curves), commands
    return necessity_table(curves), commands


def _pct(value: float, ci: tuple[float, float]) -> str:
    if not np.isfinite(value):
        return "-"
    low, high = ci
    span = f" [{low:+.0%}, {high:+.0%}]" if np.isfinite(low) else ""
    return f"{value:+.0%}{span}"


def gf_summary(table: pd.DataFrame) -> str:
    """One Markdown sentence per row of ``guidance_first_table``: both final IQMs with intervals,
    the relative change and its verdict, the diffusion steps saved to the target and its verdict,
    and the training compute saved to the target (both stages counted)."""

    def score(value: float, ci: tuple[float, float]) -> str:
        return f"{value:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if np.isfinite(ci[0]) else "")

    lines = []
    for r in table.itertuples():
        compute = (
            f"; training compute to that point, both stages: {r.compute_saved_to_target:+.0%} saved"
            if np.isfinite(r.compute_saved_to_target)
            else ""
        )
        lines.append(
            f"- **{r.algo.upper()}**, guidance-first (`{r.guidance_first_scale}`) against joint "
            f"(`{r.joint_scale}`), {r.seeds} seed{'s' * (r.seeds != 1)}: final IQM "
            f"{score(r.guidance_first, r.guidance_first_ci)} against {score(r.joint, r.joint_ci)}, change "
            f"{_pct(r.change, r.change_ci)}: **{r.verdict}**. Diffusion steps to {FRACTION:.0%} of "
            f"joint's final IQM: {_pct(r.diffusion_saved, r.diffusion_saved_ci)} saved: "
            f"**{r.efficiency_verdict}**{compute}."
        )
    return "\n".join(lines)


def with_intervals(table: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """``table`` for reading: each column ``x`` that has an ``x_ci`` beside it shown as
    "x [low, high]" (relative changes and the diffusion saved as percentages), the ``_ci``
    columns dropped."""
    shown = table.copy()
    for col in [c for c in table if f"{c}_ci" in table]:
        pct = col in ("change", "diffusion_saved")

        def fmt(v: float, ci: tuple, pct: bool = pct) -> str:
            f = (lambda x: f"{x:+.0%}") if pct else (lambda x: f"{x:.{digits}f}")
            if not np.isfinite(v):
                return "-"
            return f(v) + (f" [{f(ci[0])}, {f(ci[1])}]" if np.isfinite(ci[0]) else " (one seed)")

        shown[col] = [fmt(v, ci) for v, ci in zip(table[col], table[f"{col}_ci"], strict=True)]
    return shown.drop(columns=[c for c in table if c.endswith("_ci")])


def stage1_settled(results: list[dict]) -> pd.DataFrame:
    """Per (dataset, algo, scale) of the guidance-first runs in ``results``: whether each run's
    stage-1 critic had settled when its stage 1 ended, read from the run's own log by
    ``critic_settling.settling`` (from some 10k-step window on, its value of the data's actions
    moves by less than a tenth of itself per window). Columns ``stage1_seeds`` (runs with a log
    long enough to read), ``stage1_settled_seeds``, ``stage1_settled`` (all of them settled) and
    ``stage1_last_move`` (the largest move of a run's last window, as a share of its value)."""
    from mdpt_lib.experiments.critic_settling import settling

    keys = ["dataset", "algo", "scale"]
    columns = [*keys, "stage1_seeds", "stage1_settled_seeds", "stage1_settled", "stage1_last_move"]
    log = stage1_log(results)
    table = settling(log) if not log.empty else pd.DataFrame()
    if table.empty:
        return pd.DataFrame(columns=columns)
    table = table.assign(
        settled=table.settled_by.notna(), move=(table.moved_before_end / table.q_end).abs()
    )
    out = table.groupby(keys, as_index=False).agg(
        stage1_seeds=("seed", "size"),
        stage1_settled_seeds=("settled", "sum"),
        stage1_last_move=("move", "max"),
    )
    out["stage1_settled"] = out.stage1_settled_seeds == out.stage1_seeds
    return out[columns]


def unsettled(verdict: str) -> str:
    """A guidance-first verdict whose stage-1 critic had not settled: the comparison is not the
    one the finding means (a critic frozen mid-way), so it decides nothing; the scores' own
    reading stays in brackets."""
    why = "stage-1 critic not settled"
    if verdict.startswith("undecided"):
        return f"{verdict}; {why}"
    return f"undecided: {why} (the scores alone: {verdict})"


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
