"""Finding 3: cross-module transfer of guidance.

For each algorithm (IDQL, DQL), train ``seeds`` agents on one dataset, then evaluate each policy with
- its own guidance (the baseline);
- another seed's guidance ("double guidance": one guidance at training, an independently trained
  one at inference; the paper reports the IQR of scores falling by 86%);
- the other algorithm's guidance of the same seed (IDQL's IQL critic selecting for DQL's policy,
  and the reverse; the paper: comparable to the stronger native algorithm);
- a guidance trained on *another* dataset of the same task (random-policy data): the paper's
  limitation, plug-and-play assumes one data distribution;
- an untrained guidance of its own kind (finding 1's random guidance at inference: for IDQL,
  whose actor never sees its critic in training, this *is* the random-guidance condition, so it is
  read from the kept joint agents instead of being trained again).
Returns one row per evaluation episode.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd

from mdpt_lib.algos import PAPER_ALGOS
from mdpt_lib.data.build import build
from mdpt_lib.data.load import load_dataset
from mdpt_lib.data.paths import RESULTS
from mdpt_lib.evaluation import evaluate
from mdpt_lib.experiments.curves import Run
from mdpt_lib.guidance import DatasetMismatchWarning, untrained_like
from mdpt_lib.stats import REPS

MISMATCH_LEVEL = "random"
UNTRAINED = "{} + untrained guidance"
"""The swaps' method name of a policy (its algorithm, upper case) under an untrained guidance."""
SWAPS = RESULTS / "swaps"
"""Where ``python -m mdpt_lib.experiments swaps`` writes the decisive swaps, one file per dataset."""


def run(request: Run) -> pd.DataFrame:
    """Every swap of the finding, evaluated on agents trained here (one row per episode)."""
    task, scale = request.task, request.scale
    agents = {algo: request.fit(algo) for algo in PAPER_ALGOS}
    mismatch_file = build(task, MISMATCH_LEVEL, rows=scale.rows, progress=request.progress)
    mismatch_data = load_dataset(mismatch_file, task=task, verbose=False)
    mismatched = request.fit("idql", dataset=mismatch_data, task=task)
    return evaluate_swaps(
        agents, mismatched, scale.episodes, scale.max_episode_steps, request.progress
    )


def evaluate_swaps(
    agents: dict[str, list],
    mismatched: list | None,
    episodes: int,
    max_steps: int,
    progress: bool = False,
) -> pd.DataFrame:
    """Evaluate each policy of ``agents`` (algorithm -> agents, one per seed, in seed order) with
    its own guidance, the next seed's, the other algorithm's of the same seed (where that
    algorithm has the seed), an untrained one of its own kind (``untrained_like``, drawn from the
    seed) and (IDQL) the ``mismatched`` guidance of its seed trained on another dataset of the
    task (matched by seed). Agents trained by any job serve (loaded, compact ones
    too): nothing is trained here. One row per episode; ``progress`` shows a bar of evaluations."""
    from tqdm.auto import tqdm

    rows = []
    bar = tqdm(desc="swaps", unit="evaluation", disable=not progress)

    def record(method: str, algo: str, agent, guidance=None) -> None:
        seed = agent.results["seed"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DatasetMismatchWarning)  # the mismatch is the point
            res = evaluate(
                agent,
                episodes=episodes,
                seed=1000 * (seed + 1),
                guidance=guidance,
                max_steps=max_steps,
            )
        bar.update(1)
        for e, (ret, score) in enumerate(zip(res.returns, res.scores, strict=True)):
            rows.append(
                {
                    "method": method,
                    "policy": algo,
                    "seed": seed,
                    "episode": e,
                    "return": float(ret),
                    "score": float(score),
                }
            )

    by_seed = {a: {agent.results["seed"]: agent for agent in group} for a, group in agents.items()}
    mismatched_by_seed = {agent.results["seed"]: agent for agent in mismatched or []}
    for algo, group in agents.items():
        others = [a for a in agents if a != algo]
        for k, agent in enumerate(group):
            seed = agent.results["seed"]
            record(f"{algo.upper()} (own guidance)", algo, agent)
            if len(group) > 1:
                nxt = group[(k + 1) % len(group)].guidance
                record(f"{algo.upper()} + another seed's guidance", algo, agent, nxt)
            for other in others:
                if seed in by_seed[other]:
                    lent = by_seed[other][seed].guidance
                    record(f"{algo.upper()} policy + {other.upper()} guidance", algo, agent, lent)
            record(
                UNTRAINED.format(algo.upper()), algo, agent, untrained_like(agent.guidance, seed)
            )
            if algo == "idql" and seed in mismatched_by_seed:
                lent = mismatched_by_seed[seed].guidance
                record(f"IDQL + guidance from {MISMATCH_LEVEL} data", algo, agent, lent)
    bar.close()
    return pd.DataFrame(rows)


def decisive_swaps(
    dataset_id: str,
    seeds=range(5),
    episodes: int = 10,
    max_steps: int = 1000,
    folders=None,
    missing_ok: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """``evaluate_swaps`` on the agents the decisive runs trained (joint training, each algorithm at
    its findings scale), loaded from the cache or ``results/agents``: nothing is trained. One row
    per episode, as ``evaluate_swaps``; the mismatched guidance is IDQL's critics of the same seeds
    trained alone on the task's ``MISMATCH_LEVEL`` data at the same scale, where there are any
    (``mismatch_command``). With ``missing_ok`` each algorithm uses those of ``seeds`` it has
    agents of (the cross-algorithm swaps then the seeds both have); else a missing agent is an
    error."""
    from mdpt_lib.data.registry import dataset_id as registry_id
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.critic_settling import GUIDANCE_ALONE
    from mdpt_lib.experiments.grid import load_cell_agents

    task = get_dataset_spec(dataset_id).task
    scales = agent_scales(dataset_id)
    agents = {
        algo: load_cell_agents(
            dataset_id,
            algo,
            "joint",
            scales[algo],
            list(seeds),
            folders,
            missing_ok=missing_ok,
        )
        for algo in PAPER_ALGOS
    }
    if missing_ok and any(len(group) < 2 for group in agents.values()):
        have = {a: [g.results["seed"] for g in group] for a, group in agents.items()}
        raise FileNotFoundError(
            f"the swaps need agents of at least 2 seeds per algorithm; found seeds {have}"
        )
    mismatched = load_cell_agents(
        registry_id(task, MISMATCH_LEVEL),
        "idql",
        GUIDANCE_ALONE,
        scales["idql"],
        list(seeds),
        folders,
        missing_ok=True,
    )
    return evaluate_swaps(agents, mismatched, episodes, max_steps, progress)


def agent_scales(dataset_id: str) -> dict[str, str]:
    """Per paper algorithm, the scale of the joint agents ``decisive_swaps`` uses on
    ``dataset_id`` (its findings scale); a swaps file records them under ``scales``."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.scales import findings_scale

    task = get_dataset_spec(dataset_id).task
    return {algo: findings_scale(task, algo) for algo in PAPER_ALGOS}


def superseded_scales(record: dict) -> dict[str, tuple[str, str]]:
    """The algorithms whose agents in a swaps ``record`` were trained at another scale than their
    findings scale now: algorithm -> (the record's scale, today's). Empty where the record is
    current; its verdicts then stand, else they wait for the swaps on today's agents."""
    now = agent_scales(record["dataset"])
    return {a: (s, now[a]) for a, s in record["scales"].items() if s != now.get(a, s)}


def at_findings_scales(table: pd.DataFrame, record: dict, column: str = "verdict") -> pd.DataFrame:
    """``table`` (``swap_verdicts`` or ``untrained_guidance`` of a swaps ``record``'s rows) as the
    findings read it: each row whose ``policy`` names an algorithm whose agents in the record are at
    a superseded scale (``superseded_scales``) reads undecided in ``column``, what these swaps alone
    say in brackets; the other rows stand."""
    import re

    old = superseded_scales(record)
    if not old or table.empty:
        return table

    def read(policy: str, verdict: str) -> str:
        stale = [a for a in old if re.search(rf"\b{a.upper()}\b", policy.upper())]
        if not stale:
            return verdict
        why = "; ".join(
            f"{a.upper()}'s agents at `{old[a][0]}`, not at `{old[a][1]}`" for a in stale
        )
        return f"undecided: {why} (these swaps alone: {verdict})"

    return table.assign(
        **{column: [read(p, v) for p, v in zip(table.policy, table[column], strict=True)]}
    )


def mismatch_command(dataset_id: str, seeds=range(5)) -> str:
    """The command that trains the mismatched guidance of ``dataset_id``'s swaps and keeps it: IDQL's
    critic trained alone (``critic_settling``) on the task's ``MISMATCH_LEVEL`` data, at IDQL's
    findings scale and for as many critic steps as its joint runs there train theirs."""
    from mdpt_lib.data.registry import dataset_id as registry_id
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.scales import findings_scale, get_scale

    task = get_dataset_spec(dataset_id).task
    scale = findings_scale(task, "idql")
    return (
        "python -m mdpt_lib.experiments.critic_settling "
        f"--dataset {registry_id(task, MISMATCH_LEVEL)} --algo idql "
        f"--steps {get_scale(scale).steps} --scale {scale} --keep "
        f"--seeds {' '.join(map(str, seeds))}"
    )


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """Mean score per (method, policy, seed): the unit of the decisive statistics."""
    return df.groupby(["method", "policy", "seed"], as_index=False, sort=False).score.mean()


def iqr_change_over_seeds(df: pd.DataFrame, algo: str, reps: int = REPS, seed: int = 0) -> dict:
    """``iqr_change`` with seeds as the unit: the IQR of the per-seed mean scores under another
    seed's guidance against under the policy's own (the paper's -86%)."""
    return iqr_change(per_seed(df).assign(episode=0), algo, reps, seed)


def summary(df: pd.DataFrame, reps: int = REPS, seed: int = 0) -> pd.DataFrame:
    """Per method: mean, IQM and IQR of normalised scores (seeds x episodes pooled), 95% CIs."""
    from mdpt_lib.stats import summarize

    scores = {m: g.score.to_numpy() for m, g in df.groupby("method", sort=False)}
    return summarize(scores, statistics=("mean", "iqm", "iqr"), reps=reps, seed=seed)


def iqr_change(df: pd.DataFrame, algo: str, reps: int = REPS, seed: int = 0) -> dict:
    """Relative change of the score IQR when another seed's guidance replaces the policy's own.

    Returns the point estimate and a 95% bootstrap CI (the paper reports -86%).
    """
    from mdpt_lib.stats import bootstrap_ratio_ci, iqr, relative_change

    own = df[df.method == f"{algo.upper()} (own guidance)"].score.to_numpy()
    swapped = df[df.method == f"{algo.upper()} + another seed's guidance"].score.to_numpy()
    nan = float("nan")
    out = {"own_iqr": iqr(own), "swapped_iqr": iqr(swapped), "change": nan, "low": nan, "high": nan}
    # an IQR of 0 (identical scores, in the data or in a resample) leaves the change undefined
    with contextlib.suppress(ValueError):
        out["change"] = relative_change(out["swapped_iqr"], out["own_iqr"])
    with contextlib.suppress(ValueError):
        out["low"], out["high"] = bootstrap_ratio_ci(
            swapped, own, statistic=iqr, reps=reps, seed=seed
        )
    return out


def seed_variance_change(df: pd.DataFrame, algo: str, reps: int = REPS, seed: int = 0) -> dict:
    """The ICLR submission's "swapping seeds reduces median variance", as we read it: each seed's
    variance of its episode scores, its median over seeds under another seed's guidance against
    under the policy's own. Returns ``change`` (relative), ``change_ci`` (95%, seeds resampled
    independently per condition, as ``iqr_change``) and ``verdict``."""
    from mdpt_lib.stats import bootstrap_ratio_ci, median, relative_change

    def variances(method: str) -> np.ndarray:
        rows = df[df.method == method]
        return rows.groupby("seed").score.var(ddof=1).to_numpy()

    own = variances(f"{algo.upper()} (own guidance)")
    swapped = variances(f"{algo.upper()} + another seed's guidance")
    out = {"change": np.nan, "change_ci": (np.nan, np.nan)}
    with contextlib.suppress(ValueError):
        out["change"] = relative_change(median(swapped), median(own))
    with contextlib.suppress(ValueError):
        out["change_ci"] = bootstrap_ratio_ci(swapped, own, statistic=median, reps=reps, seed=seed)
    low, high = out["change_ci"]
    if not np.isfinite(low):
        out["verdict"] = "undecided: no interval (one seed, or a variance of 0)"
    elif high < 0:
        out["verdict"] = "reproduced"
    elif low > 0:
        out["verdict"] = "refuted"
    else:
        out["verdict"] = "undecided: the interval of the change spans 0"
    return out


EQUIVALENCE_MARGIN = 0.10
"""A swapped guidance counts as "comparable" to the stronger native algorithm when the interval of
its relative change rules out a loss larger than this (the paper gives no margin; this is ours)."""


def _against(x: np.ndarray, ref: np.ndarray, reps: int, seed: int) -> tuple[float, tuple, str]:
    """Per-seed scores ``x`` under a lent guidance against ``ref``: the relative change of the IQM,
    its 95% bootstrap interval, and where it lies: "loss" (below 0), "comparable" (it rules out a
    loss beyond ``EQUIVALENCE_MARGIN``) or "undecided: <why>"."""
    from mdpt_lib.stats import bootstrap_ratio_ci, iqm, relative_change

    value, ci = relative_change(iqm(x), iqm(ref)), (np.nan, np.nan)
    if len(x) > 1:
        ci = bootstrap_ratio_ci(x, ref, iqm, reps, seed=seed)
    if not np.isfinite(ci[0]):
        return value, ci, "undecided: one seed, no interval"
    if ci[1] < 0:
        return value, ci, "loss"
    if ci[0] > -EQUIVALENCE_MARGIN:
        return value, ci, "comparable"
    return value, ci, "undecided: the interval allows a loss beyond the margin"


def _paired(seeds: pd.DataFrame, method: str, reference: str) -> tuple | None:
    """Per-seed scores (rows of ``per_seed``) of ``method`` and of ``reference`` on the seeds both
    have, in seed order: two arrays, or None where ``method`` was not evaluated."""
    pair = seeds[seeds.method.isin([method, reference])]
    wide = pair.pivot_table(index="seed", columns="method", values="score").dropna()
    if method not in wide:
        return None
    return wide[method].to_numpy(), wide[reference].to_numpy()


def swap_verdicts(df: pd.DataFrame, reps: int = REPS, seed: int = 0) -> pd.DataFrame:
    """Finding 3's claims on rows of ``evaluate_swaps``, one row per claim and policy: the value,
    its relative change with a 95% bootstrap interval and the verdict (reproduced / refuted / undecided: why).

    - ``double_guidance_iqr``: IQR of the scores (seeds x episodes, the paper's metric) under
      another seed's guidance against under the policy's own; reproduced where the interval of
      the change lies below 0, refuted where it lies above;
    - ``seed_swap_variance`` (ICLR submission: "swapping seeds reduces median variance by 14% and
      21%"), read as the median over seeds of each seed's variance over its episodes, under another
      seed's guidance against under its own (``seed_variance_change``); reproduced where the
      interval of the change lies below 0, refuted where it lies above;
    - ``cross_algorithm``: the per-seed IQM of a policy under the other algorithm's guidance against
      the stronger native algorithm's (each policy with its own guidance); reproduced where the
      interval rules out a loss beyond ``EQUIVALENCE_MARGIN``, refuted where it lies below 0;
    - ``mismatch`` (where the swaps hold it): IDQL's per-seed IQM under a guidance trained on another
      dataset of the task against under its own; the paper's limit of plug-and-play is reproduced
      where the interval lies below 0, refuted where it rules out a loss beyond the margin.
    """
    from mdpt_lib.experiments.decide import provisional
    from mdpt_lib.stats import iqm

    rows = []
    for algo in PAPER_ALGOS:
        c = iqr_change(df, algo, reps, seed)
        n_seeds = df[df.policy == algo].seed.nunique()
        if not np.isfinite(c["low"]):
            verdict = "undecided: no interval (one seed, or an IQR of 0)"
        elif c["high"] < 0:
            verdict = "reproduced"
        elif c["low"] > 0:
            verdict = "refuted"
        else:
            verdict = "undecided: the interval of the change spans 0"
        rows.append(
            {
                "claim": "double_guidance_iqr",
                "policy": algo,
                "seeds": n_seeds,
                "change": c["change"],
                "change_ci": (c["low"], c["high"]),
                "verdict": provisional(verdict, n_seeds),
            }
        )
        rows.append(
            {
                "claim": "seed_swap_variance",
                "policy": algo,
                "seeds": n_seeds,
                **seed_variance_change(df, algo, reps, seed),
            }
        )
        rows[-1]["verdict"] = provisional(rows[-1]["verdict"], n_seeds)
    seeds = per_seed(df)
    native = {
        a: seeds[seeds.method == f"{a.upper()} (own guidance)"].sort_values("seed").score.to_numpy()
        for a in PAPER_ALGOS
    }
    stronger = max(native, key=lambda a: iqm(native[a]))
    for algo in PAPER_ALGOS:
        for other in (a for a in PAPER_ALGOS if a != algo):
            name = f"{algo.upper()} policy + {other.upper()} guidance"
            x = seeds[seeds.method == name].sort_values("seed").score.to_numpy()
            value, ci, where = _against(x, native[stronger], reps, seed)
            verdict = {"loss": "refuted", "comparable": "reproduced"}.get(where, where)
            rows.append(
                {
                    "claim": "cross_algorithm",
                    "policy": f"{name} vs {stronger.upper()} (own guidance)",
                    "seeds": len(x),
                    "change": value,
                    "change_ci": ci,
                    "verdict": provisional(verdict, len(x)),
                }
            )
    name = f"IDQL + guidance from {MISMATCH_LEVEL} data"
    paired = _paired(seeds, name, "IDQL (own guidance)")
    if paired is not None:
        x, own = paired
        value, ci, where = _against(x, own, reps, seed)
        # the paper's limit: plug-and-play breaks across data distributions
        verdict = {"loss": "reproduced", "comparable": "refuted"}.get(where, where)
        rows.append(
            {
                "claim": "mismatch",
                "policy": f"{name} vs IDQL (own guidance)",
                "seeds": len(x),
                "change": value,
                "change_ci": ci,
                "verdict": provisional(verdict, len(x)),
            }
        )
    return pd.DataFrame(rows)


def untrained_guidance(df: pd.DataFrame, reps: int = REPS, seed: int = 0) -> pd.DataFrame:
    """Finding 1's random guidance at inference, from rows of ``evaluate_swaps``: per algorithm,
    each seed's policy under an untrained guidance of its own kind against under its own trained
    guidance (per-seed means, IQM over seeds, the relative change with a 95% bootstrap interval).
    ``reading``: "needed" where the interval lies below 0 (the trained guidance is what the
    policy's score needs at inference), "not needed" where it rules out a loss beyond
    ``EQUIVALENCE_MARGIN``, else "undecided: <why>"; marked provisional below five seeds."""
    from mdpt_lib.experiments.decide import provisional
    from mdpt_lib.stats import iqm, stratified_bootstrap_ci

    seeds = per_seed(df)
    rows = []
    for algo in PAPER_ALGOS:
        paired = _paired(seeds, UNTRAINED.format(algo.upper()), f"{algo.upper()} (own guidance)")
        if paired is None:
            continue
        x, ref = paired
        value, ci, where = _against(x, ref, reps, seed)
        reading = {"loss": "needed", "comparable": "not needed"}.get(where, where)
        rows.append(
            {
                "policy": algo,
                "seeds": len(x),
                "own guidance": iqm(ref),
                "own guidance_ci": stratified_bootstrap_ci(ref, iqm, reps, seed=seed),
                "untrained guidance": iqm(x),
                "untrained guidance_ci": stratified_bootstrap_ci(x, iqm, reps, seed=seed),
                "change": value,
                "change_ci": ci,
                "reading": provisional(reading, len(x)),
            }
        )
    return pd.DataFrame(rows)


def load_swaps(dataset_id: str, folder=None) -> dict | None:
    """The committed decisive swaps of ``dataset_id`` (``results/swaps/<dataset>.json``: its rows,
    seeds per algorithm and the command that wrote it), or None where they have not been run."""
    import json
    from pathlib import Path

    path = Path(folder or SWAPS) / f"{dataset_id}.json"
    return json.loads(path.read_text()) if path.exists() else None


def swaps_command(dataset_id: str) -> str:
    """The command that writes the decisive swaps of ``dataset_id`` from the kept joint agents."""
    from mdpt_lib.data.registry import get_dataset_spec

    spec = get_dataset_spec(dataset_id)
    return (
        f"python -m mdpt_lib.experiments swaps learning --tasks {spec.task} --levels {spec.id_level} "
        "--seeds 0 1 2 3 4"
    )
