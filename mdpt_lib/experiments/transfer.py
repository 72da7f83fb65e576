"""Finding 3: cross-module transfer of guidance.

For each algorithm (IDQL, DQL), train ``seeds`` agents on one dataset, then evaluate each policy with
- its own guidance (the baseline);
- another seed's guidance ("double guidance": one guidance at training, an independently trained
  one at inference; the paper reports the IQR of scores falling by 86%);
- the other algorithm's guidance of the same seed (IDQL's IQL critic selecting for DQL's policy,
  and the reverse; the paper: comparable to the stronger native algorithm);
- a guidance trained on *another* dataset of the same task (random-policy data): the paper's
  limitation, plug-and-play assumes one data distribution.
Returns one row per evaluation episode.
"""

from __future__ import annotations

import contextlib
import warnings

import pandas as pd

from mdpt_lib.algos import PAPER_ALGOS
from mdpt_lib.data.build import build
from mdpt_lib.data.load import load_dataset
from mdpt_lib.data.paths import RESULTS
from mdpt_lib.evaluation import evaluate
from mdpt_lib.experiments.curves import Run
from mdpt_lib.guidance import DatasetMismatchWarning

MISMATCH_LEVEL = "random"
SWAPS = RESULTS / "swaps"
"""Where ``python -m mdpt_lib.experiments swaps`` writes the decisive swaps, one file per dataset."""


def run(request: Run) -> pd.DataFrame:
    """Every swap of the finding, evaluated on agents trained here (one row per episode)."""
    task, scale = request.task, request.scale
    agents = {algo: request.fit(algo) for algo in PAPER_ALGOS}
    mismatch_file = build(task, MISMATCH_LEVEL, rows=scale.rows, progress=request.progress)
    mismatch_data = load_dataset(mismatch_file, task=task, verbose=False)
    mismatched = request.fit("idql", dataset=mismatch_data, task=task)
    return evaluate_swaps(agents, mismatched, scale.episodes, scale.max_episode_steps)


def evaluate_swaps(
    agents: dict[str, list], mismatched: list | None, episodes: int, max_steps: int
) -> pd.DataFrame:
    """Evaluate each policy of ``agents`` (algorithm -> agents of the same seeds, in order) with
    its own guidance, the next seed's, the other algorithm's of the same seed and (IDQL) the
    ``mismatched`` guidance of its seed trained on another dataset of the task. Agents trained by
    any job serve (loaded, compact ones too): nothing is trained here. One row per episode."""
    rows = []

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

    for algo, group in agents.items():
        others = [a for a in agents if a != algo]
        for k, agent in enumerate(group):
            record(f"{algo.upper()} (own guidance)", algo, agent)
            if len(group) > 1:
                nxt = group[(k + 1) % len(group)].guidance
                record(f"{algo.upper()} + another seed's guidance", algo, agent, nxt)
            for other in others:
                lent = agents[other][k].guidance
                record(f"{algo.upper()} policy + {other.upper()} guidance", algo, agent, lent)
            if algo == "idql" and mismatched:
                lent = mismatched[k].guidance
                record(f"IDQL + guidance from {MISMATCH_LEVEL} data", algo, agent, lent)
    return pd.DataFrame(rows)


def decisive_swaps(
    dataset_id: str, seeds=range(5), episodes: int = 10, max_steps: int = 1000, folders=None
) -> pd.DataFrame:
    """``evaluate_swaps`` on the agents the decisive runs trained (joint training, each algorithm at
    its findings scale), loaded from the cache or ``results/agents``: nothing is trained. One row
    per episode, as ``evaluate_swaps`` (no mismatched guidance: that needs a critic trained on
    another dataset at the same scale)."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.grid import load_cell_agents
    from mdpt_lib.experiments.scales import findings_scale

    task = get_dataset_spec(dataset_id).task
    agents = {
        algo: load_cell_agents(
            dataset_id, algo, "joint", findings_scale(task, algo), list(seeds), folders
        )
        for algo in PAPER_ALGOS
    }
    return evaluate_swaps(agents, None, episodes, max_steps)


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """Mean score per (method, policy, seed): the unit of the decisive statistics."""
    return df.groupby(["method", "policy", "seed"], as_index=False, sort=False).score.mean()


def iqr_change_over_seeds(df: pd.DataFrame, algo: str, reps: int = 2000, seed: int = 0) -> dict:
    """``iqr_change`` with seeds as the unit: the IQR of the per-seed mean scores under another
    seed's guidance against under the policy's own (the paper's -86%)."""
    return iqr_change(per_seed(df).assign(episode=0), algo, reps, seed)


def summary(df: pd.DataFrame, reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per method: mean, IQM and IQR of normalised scores (seeds x episodes pooled), 95% CIs."""
    from mdpt_lib.stats import summarize

    scores = {m: g.score.to_numpy() for m, g in df.groupby("method", sort=False)}
    return summarize(scores, statistics=("mean", "iqm", "iqr"), reps=reps, seed=seed)


def iqr_change(df: pd.DataFrame, algo: str, reps: int = 2000, seed: int = 0) -> dict:
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
