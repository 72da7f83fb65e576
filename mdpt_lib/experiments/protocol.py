"""The decisive protocol's bill: which training cells the findings need, how many of their seeds
have committed results (and, for the transfer study, kept agents), and what the rest will cost.

A cell is one (dataset, algorithm, scale, mode) trained at ``decide.PROTOCOL_SEEDS`` seeds by the
learning runner. The findings' tasks are ``TASKS``; each (task, algorithm) trains at its findings
scale, and guidance-first also at its variant scales (``scales.FINDINGS_VARIANTS``) beside a joint
run of the same scale. The core-hours still to spend are predicted from the committed files' own
measured time per seed (``_cost_per_seed``). The classifier-free variant (``algo="cfg"``) is in it
where ``scales.FINDINGS_EXTENSIONS`` runs it (guidance-first on hopper), and so is the transfer
study's mismatched guidance: IDQL's critic trained alone on the task's ``transfer.MISMATCH_LEVEL``
data (mode ``critic_settling.GUIDANCE_ALONE``, its result files in ``results/critic``), whose agents
are kept like the swapped ones.

A finding is only tested where the methods learn, so the bill also says whether each cell's joint
runs (of the same algorithm and setting) are seen to learn (``joint_learns``): a cell whose method
has not been seen to learn waits for two probe seeds of its joint runs, and one whose joint runs do
not learn is diagnosed, not trained further.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mdpt_lib.experiments.scales import STAGE1_AS, get_scale

TASKS: dict[str, tuple[str, ...]] = {
    "necessity": ("hopper",),
    "guidance_first": ("hopper", "halfcheetah"),
    "transfer": ("hopper",),
}
"""The tasks (medium-replay data) on which each finding is decided."""

LEVEL = "medium-replay"


def cells() -> pd.DataFrame:
    """One row per training cell the protocol needs: dataset, algo, scale, mode and the findings
    (comma-separated) that need it."""
    from mdpt_lib.algos import PAPER_ALGOS
    from mdpt_lib.data.registry import dataset_id
    from mdpt_lib.experiments.critic_settling import GUIDANCE_ALONE
    from mdpt_lib.experiments.decide import FINDING_CONDITIONS
    from mdpt_lib.experiments.learning import DECISIVE_MODES
    from mdpt_lib.experiments.scales import (
        findings_algos,
        findings_scale,
        findings_variants,
        joint_runs_of,
    )
    from mdpt_lib.experiments.transfer import MISMATCH_LEVEL

    needed: dict[tuple[str, str, str, str], list[str]] = {}
    for finding, tasks in TASKS.items():
        conditions = FINDING_CONDITIONS.get(finding, ())  # transfer: the joint agents only
        for task in tasks:
            ds = dataset_id(task, LEVEL)
            # the swaps are between the paper's two algorithms' agents
            for algo in findings_algos(task) if conditions else PAPER_ALGOS:
                own = [m for m in conditions if m in DECISIVE_MODES[algo]]
                if conditions and not own:
                    continue
                primary = findings_scale(task, algo)
                scales = [primary]
                if finding == "guidance_first":
                    scales += list(findings_variants(task, algo))
                for scale in scales:
                    joint = ("joint",) if joint_runs_of(task, algo, scale) == scale else ()
                    for mode in (*joint, *own):
                        needed.setdefault((ds, algo, scale, mode), []).append(finding)
            if finding == "transfer":  # the mismatched guidance: IDQL's critic on other data
                other = dataset_id(task, MISMATCH_LEVEL)
                needed.setdefault(
                    (other, "idql", findings_scale(task, "idql"), GUIDANCE_ALONE), []
                ).append(finding)
    return pd.DataFrame(
        [(*k, ", ".join(dict.fromkeys(v))) for k, v in needed.items()],
        columns=["dataset", "algo", "scale", "mode", "findings"],
    )


def _seconds_per_seed(results: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "dataset": r["job"]["dataset"],
            "algo": r["job"]["algo"],
            "scale": r["job"]["scale"],
            "mode": r["job"]["mode"],
            "seconds_per_seed": r["wall_seconds"] / len(r["job"]["seeds"]),
            # the steps the time was spent on: a critic trained alone's, else the diffusion steps
            "steps": r["job"].get("guidance_steps") or get_scale(r["job"]["scale"]).steps,
            # guidance-first's stage 1: its critic steps and the seconds one step took (all seeds)
            "guidance_steps": r.get("measure", {}).get("guidance_steps", 0),
            "stage1_seconds_per_step": r.get("measure", {}).get("guidance_step_seconds", np.nan)
            / len(r["job"]["seeds"]),
        }
        for r in results
    ]
    columns = ["dataset", "algo", "scale", "mode", "seconds_per_seed", "steps", "guidance_steps"]
    return pd.DataFrame(rows, columns=[*columns, "stage1_seconds_per_step"])


def _cost_per_seed(cost: pd.DataFrame, cell) -> float:
    """Core-hours per seed of ``cell``: the mean over its own files, else (a scale that changes
    guidance-first's stage-1 length) over the files of the same dataset, algorithm and mode with
    their stage 1 resized at its measured time per step, else (guidance-first of an algorithm run
    only jointly so far) its joint runs' time plus the stage-1 critic steps at the measured pace of
    the critic it trains (``scales.STAGE1_AS``), else over the files of the same algorithm
    and mode, of the same algorithm and scale, of the same algorithm, and for an algorithm with no
    files yet (an extension) of any algorithm on the dataset in that mode; files of another scale
    count in proportion to the cell's diffusion steps."""
    algo = cost[cost.algo == cell.algo]
    stage1 = get_scale(cell.scale).guidance_steps
    same = algo[(algo.dataset == cell.dataset) & (algo["mode"] == cell.mode)]
    if cell.mode == "guidance_first" and not len(same):
        joint = algo[
            (algo.dataset == cell.dataset) & (algo.scale == cell.scale) & (algo["mode"] == "joint")
        ]
        critic = cost[
            (cost.dataset == cell.dataset)
            & (cost.algo == STAGE1_AS.get(cell.algo, cell.algo))
            & (cost["mode"] == cell.mode)
        ].stage1_seconds_per_step.dropna()
        if len(joint) and len(critic):
            stage1_s = get_scale(cell.scale).stage1_steps * critic.mean()
            return float((joint.seconds_per_seed.mean() + stage1_s) / 3600)
    if stage1 is not None and cell.scale not in set(same.scale) and len(same):
        # a stage 1 of another length: the measured runs with their stage 1 resized
        resized = (
            same.seconds_per_seed + (stage1 - same.guidance_steps) * same.stage1_seconds_per_step
        )
        if resized.notna().any():
            return float(resized.mean() / 3600)
    for like in (
        algo[
            (algo.dataset == cell.dataset)
            & (algo.scale == cell.scale)
            & (algo["mode"] == cell.mode)
        ],
        algo[algo["mode"] == cell.mode],
        algo[algo.scale == cell.scale],
        algo,
        cost[(cost.dataset == cell.dataset) & (cost["mode"] == cell.mode)],
    ):
        if len(like):
            steps = get_scale(cell.scale).steps
            return float((like.seconds_per_seed * steps / like.steps).mean() / 3600)
    return np.nan


PROBE_SEEDS = 2
"""Joint seeds trained first where a method has not been seen to learn: the fewest with an interval."""


def learning_status(results: list[dict], reps: int = 500, seed: int = 0) -> dict[tuple, str]:
    """(dataset, algo, scale) -> "yes" / "no": do the joint runs of that scale stay above the
    learning bar over the checkpoints a final score averages (``decide.joint_learns``)? Only where
    at least ``PROBE_SEEDS`` seeds have curves; other keys are missing (not known yet)."""
    from mdpt_lib.experiments.decide import joint_learns
    from mdpt_lib.experiments.learning import curve_frame

    joint = [r for r in results if r["job"]["mode"] == "joint" and "curve" in r]
    status = {}
    curves = curve_frame(joint)
    for (ds, algo, scale), g in curves.groupby(["dataset", "algo", "scale"]) if len(joint) else ():
        if g.seed.nunique() >= PROBE_SEEDS:
            status[(ds, algo, scale)] = "yes" if joint_learns(g, ds, algo, reps, seed) else "no"
    return status


def _longer_stage1(table: pd.DataFrame, cell) -> str:
    """The scale of ``table``'s guidance-first cell on ``cell``'s dataset and algorithm that
    differs from ``cell``'s scale in nothing but a longer stage 1 ("" where there is none)."""
    from mdpt_lib.experiments.scales import joint_shared

    for other in table[
        (table.dataset == cell.dataset)
        & (table.algo == cell.algo)
        & (table["mode"] == "guidance_first")
    ].scale:
        longer = get_scale(other).stage1_steps > get_scale(cell.scale).stage1_steps
        if longer and joint_shared(other, cell.scale):
            return other
    return ""


def progress(
    folder=None, agents_folder=None, seeds: int | None = None, critic_folder=None
) -> pd.DataFrame:
    """Per protocol cell: the seeds with a committed result file (``seeds_done``), those still to
    train (``seeds_left``), the agents kept for the transfer study (``agents_kept``: its joint
    cells and its guidance trained alone), the measured core-hours per seed and the predicted core-hours left, and
    the command that trains the missing seeds (one job per seed, one core each). Seeds whose
    result is committed but whose agent is not kept (``agents_to_retrain``) are trained again into
    an empty ``--out`` and kept; their cost is in ``core_h_left``.

    A guidance-first cell whose committed runs' stage-1 critics had not settled
    (``decide.stage1_settled``: ``stage1`` reads "not settled"; a cell with no runs reads those of
    the algorithm whose critic its stage 1 trains, ``scales.STAGE1_AS``) decides nothing; where the protocol
    has the same cell with a longer stage 1 (``superseded_by``) it gets no more seeds.

    ``joint_learns`` ("yes" / "no" / "not yet", ``learning_status``) is read from the joint runs of
    the cell's algorithm and setting. Where it is not known yet, ``command`` trains only the joint
    cell's first ``PROBE_SEEDS`` seeds and every other seed of that setting is ``waiting``; where
    the joint runs do not learn, nothing more is trained. ``core_h_left`` counts every seed left."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.critic_settling import GUIDANCE_ALONE
    from mdpt_lib.experiments.decide import PROTOCOL_SEEDS, stage1_settled
    from mdpt_lib.experiments.grid import KEPT_AGENTS, load_results
    from mdpt_lib.experiments.scales import joint_runs_of

    seeds = seeds or PROTOCOL_SEEDS
    results = load_results("learning", folder)
    done: dict[tuple, set[int]] = {}
    for r in results:
        j = r["job"]
        done.setdefault((j["dataset"], j["algo"], j["scale"], j["mode"]), set()).update(j["seeds"])
    # guidances trained alone for as many critic steps as their scale's joint runs train theirs
    critics = load_results("critic", critic_folder)
    for r in critics:
        j = r["job"]
        if j["guidance_steps"] == get_scale(j["scale"]).steps:
            key = (j["dataset"], j["algo"], j["scale"], GUIDANCE_ALONE)
            done.setdefault(key, set()).update(j["seeds"])
    cost = _seconds_per_seed(results)
    alone_cost = _seconds_per_seed(critics)
    agents = Path(agents_folder or KEPT_AGENTS)
    settled = stage1_settled(results).set_index(["dataset", "algo", "scale"]).stage1_settled
    learns = learning_status(results)
    table = cells()
    rows = []
    for cell in table.itertuples(index=False):
        key = (cell.dataset, cell.algo, cell.scale, cell.mode)
        have = sorted(s for s in done.get(key, set()) if s < seeds)
        left = [s for s in range(seeds) if s not in have]
        stage1, superseded_by = "", ""
        # the cell's own runs, else those of the algorithm whose critic its stage 1 trains
        evidence = (
            key[:3] if key[:3] in settled.index else (*key[:1], STAGE1_AS.get(cell.algo), key[2])
        )
        if cell.mode == "guidance_first" and evidence in settled.index:
            stage1 = "settled" if settled[evidence] else "not settled"
            if stage1 == "not settled":
                superseded_by = _longer_stage1(table, cell)
                left = [] if superseded_by else left
        alone = cell.mode == GUIDANCE_ALONE
        per_seed = _cost_per_seed(alone_cost if alone else cost, cell)
        kept, retrain = None, []
        if cell.mode in ("joint", GUIDANCE_ALONE) and "transfer" in cell.findings:
            pattern = f"{cell.dataset}__{cell.algo}__{cell.mode}__seeds*__{cell.scale}__seed*.pt"
            kept = sorted({int(p.stem.rsplit("seed", 1)[1]) for p in agents.glob(pattern)})
            # a seed trained before its agent was kept is trained again for the swaps
            retrain = [s for s in have if s not in kept]
        spec = get_dataset_spec(cell.dataset)
        joint_scale = joint_runs_of(spec.task, cell.algo, cell.scale)
        if alone:  # a critic trained alone has no policy: nothing to learn first
            joint_learns = ""
        else:
            joint_learns = learns.get((cell.dataset, cell.algo, joint_scale), "not yet")
        now, waiting = left, ""
        if joint_learns == "no":
            now, waiting = [], "its joint runs do not learn at this scale: diagnose them first"
        elif joint_learns == "not yet":
            probes = PROBE_SEEDS - len(have) if cell.mode == "joint" else 0
            now = left[: max(probes, 0)]
            if now != left:
                waiting = f"until {PROBE_SEEDS} joint seeds show that {cell.algo} learns here"
        command = _command(cell, now) if now else ""
        rows.append(
            {
                **cell._asdict(),
                "seeds_done": have,
                "seeds_left": left,
                "agents_kept": kept,
                "agents_to_retrain": retrain,
                "core_h_per_seed": per_seed,
                "core_h_left": per_seed * (len(left) + len(retrain)),
                "stage1": stage1,
                "superseded_by": superseded_by,
                "joint_learns": joint_learns,
                "seeds_now": now,
                "waiting": waiting,
                "command": command,
            }
        )
    return pd.DataFrame(rows)


def _command(cell, seeds: list[int]) -> str:
    """The command line that trains ``seeds`` of ``cell`` (one job per seed, one core each); for
    the guidance trained alone on other data, ``critic_settling`` with ``--keep``."""
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.experiments.critic_settling import GUIDANCE_ALONE
    from mdpt_lib.experiments.grid import run_command
    from mdpt_lib.experiments.transfer import mismatch_command

    if cell.mode == GUIDANCE_ALONE:
        return mismatch_command(cell.dataset, seeds)
    spec = get_dataset_spec(cell.dataset)
    return run_command(
        "learning", cell.scale, spec.task, spec.id_level, cell.algo, cell.mode, 1, seeds, 1
    )


def _keep_command(cell) -> str:
    """The command that keeps compact copies of a transfer cell's new agents (results/agents)."""
    from mdpt_lib.data.registry import get_dataset_spec

    spec = get_dataset_spec(cell.dataset)
    return (
        f"python -m mdpt_lib.experiments keep learning --scale {cell.scale} --tasks {spec.task} "
        f"--levels {spec.id_level} --algos {cell.algo} --modes {cell.mode}"
    )


def single_jobs(table: pd.DataFrame) -> pd.DataFrame:
    """Every job the protocol can run now, one seed each, in the table's order (the findings'):
    cell, seed, predicted core-hours and its command line, which for a transfer cell's joint runs
    also keeps the agent, and for an agent to train again trains into an empty folder first."""
    rows = []
    for cell in table.itertuples(index=False):
        keep = cell.mode == "joint" and "transfer" in cell.findings
        jobs = [(s, _command(cell, [s])) for s in cell.seeds_now]
        # a committed seed whose agent is gone: trained again beside, not over, its result file
        jobs += [(s, _command(cell, [s]) + ' --out "$(mktemp -d)"') for s in cell.agents_to_retrain]
        for seed, command in jobs:
            rows.append(
                {
                    "dataset": cell.dataset,
                    "algo": cell.algo,
                    "scale": cell.scale,
                    "mode": cell.mode,
                    "seed": seed,
                    "core_h": cell.core_h_per_seed,
                    "command": command + (f" && {_keep_command(cell)}" if keep else ""),
                }
            )
    return pd.DataFrame(
        rows, columns=["dataset", "algo", "scale", "mode", "seed", "core_h", "command"]
    )


def session_plan(table: pd.DataFrame, cores: int, hours: float) -> pd.DataFrame:
    """Which of ``single_jobs`` to run in a session of ``hours`` on ``cores`` cores, one job per
    core at a time: in the findings' order, each job on the core that has the least work so far
    and still fits it (first fit). Jobs that fit nowhere wait for the next session; ``core`` is
    their core (1..cores), ``start_h`` and ``end_h`` the predicted hours from the session's start."""
    jobs = single_jobs(table)
    load = [0.0] * cores
    rows = []
    for job in jobs.itertuples(index=False):
        if not np.isfinite(job.core_h):
            continue
        core = min(range(cores), key=lambda c: load[c])
        if load[core] + job.core_h > hours:
            continue
        rows.append({**job._asdict(), "core": core + 1, "start_h": load[core]})
        load[core] += job.core_h
        rows[-1]["end_h"] = load[core]
    plan = pd.DataFrame(rows, columns=[*jobs.columns, "core", "start_h", "end_h"])
    return plan.sort_values(["core", "start_h"], kind="stable").reset_index(drop=True)


def summary(table: pd.DataFrame) -> str:
    """One sentence: cells complete, cells superseded by a longer stage 1, seed runs left,
    agents to retrain, core-hours left."""
    superseded = table.superseded_by != ""
    complete = int(((table.seeds_left.str.len() == 0) & ~superseded).sum())
    left = int(table.seeds_left.str.len().sum())
    retrain = int(table.agents_to_retrain.str.len().sum())
    dropped = (
        f" ({int(superseded.sum())} more superseded by a longer stage 1: their stage-1 critics "
        "had not settled)"
        if superseded.any()
        else ""
    )
    return (
        f"{complete} of {len(table)} protocol cells have all their seeds{dropped}; {left} seed runs remain "
        f"and {retrain} agent{'s are' if retrain != 1 else ' is'} to be trained again for the "
        "transfer study: about "
        f"{table.core_h_left.sum():.1f} core-hours at the measured cost per seed"
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m mdpt_lib.experiments.protocol``: the bill, then the commands of what is left;
    with ``--plan``, one session's jobs per core instead."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plan", action="store_true", help="the jobs of one session, per core")
    p.add_argument("--cores", type=int, default=2, help="cores for --plan (one job per core)")
    p.add_argument("--hours", type=float, default=2.0, help="hours per core for --plan")
    args = p.parse_args(argv)
    table = progress()
    if args.plan:
        plan = session_plan(table, args.cores, args.hours)
        print(
            f"{len(plan)} jobs for {args.cores} cores x {args.hours:g} h (predicted from the "
            "committed files' measured cost; run each core's jobs in turn, one torch thread each):"
        )
        for core, jobs in plan.groupby("core"):
            print(f"core {core}: {jobs.core_h.sum():.2f} core-hours")
            for job in jobs.itertuples():
                print(f"  [{job.start_h:.2f}-{job.end_h:.2f} h] {job.command}")
        return
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns="command").round(2).to_string(index=False))
    print(summary(table) + ".")
    for command in table.command[table.command != ""]:
        print("  " + command)
    for row in table[table.waiting != ""].itertuples():
        rest = [s for s in row.seeds_left if s not in row.seeds_now]
        print(f"  waiting {row.waiting}: {row.algo} {row.scale} {row.mode} seeds {rest}")
    lacking = table[(table.stage1 == "not settled") & (table.superseded_by == "")]
    for row in lacking.itertuples():
        print(
            f"  stage 1 not settled and no longer-stage-1 scale in the protocol: {row.dataset} "
            f"{row.algo} {row.scale} (see python -m mdpt_lib.experiments.critic_settling)"
        )
    retrain = table[table.agents_to_retrain.str.len() > 0]
    for row in retrain.itertuples():
        print(
            f"  retrain for the swaps (empty --out, then keep): {row.algo} {row.scale} joint seeds {row.agents_to_retrain}"
        )


if __name__ == "__main__":
    main()
