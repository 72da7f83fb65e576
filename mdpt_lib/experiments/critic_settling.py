"""Where guidance-first's stage-1 critic settles: the guidance trained alone, far past stage 1's length.

Guidance-first trains its critic for as many steps as the diffusion model (stage 1), then freezes it.
The decisive runs log the critic's value of the data's actions along stage 1; where that curve is
still moving when stage 1 ends, the frozen critic is not the one the method means. This check trains
stage 1 alone for ``steps`` critic steps (the same hyperparameters as the findings' runs, one diffusion
step after it) and records the same log, so the book can show where the curve levels off::

    python -m mdpt_lib.experiments.critic_settling --dataset bullet-halfcheetah-medium-replay-v0 \\
        --algo dql --steps 120000 --seeds 0

It writes ``results/critic/<dataset>__<algo>__<scale>__stage1-<steps>__seed<k>.json`` (skipped when it
exists) and resumes from its checkpoint in the cache when interrupted. With ``--keep`` it also keeps
the trained guidance in ``results/agents`` (mode ``GUIDANCE_ALONE``): the transfer study's guidance
from another dataset is IDQL's critic trained alone this way, as many critic steps as its joint runs
train theirs (IDQL's critic never reads its actor, so joint training would only add an actor that
the swaps never use).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from mdpt_lib.algos import ALGORITHMS
from mdpt_lib.data.paths import RESULTS, cache_dir
from mdpt_lib.experiments.grid import gemm_gflops, load_results, provenance, write_result
from mdpt_lib.experiments.scales import findings_scale, get_scale
from mdpt_lib.provenance import utc_stamp

FOLDER = RESULTS / "critic"
KEEP_EVERY = 500
"""Steps between the log rows kept in the result file (the trainer logs every 100)."""

GUIDANCE_ALONE = "guidance_alone"
"""The mode in the names of kept agents whose guidance was trained alone (their actor is untrained)."""


def kept_path(dataset: str, algo: str, scale: str, seed: int, folder=None) -> Path:
    """Where ``run(..., keep=True)`` keeps the agent of a guidance trained alone: named like a
    learning job's kept agents, so ``grid.load_cell_agents`` finds it by mode ``GUIDANCE_ALONE``."""
    from mdpt_lib.experiments.grid import KEPT_AGENTS

    name = f"{dataset}__{algo}__{GUIDANCE_ALONE}__seeds{seed}__{scale}__seed{seed}.pt"
    return Path(folder or KEPT_AGENTS) / name


def run(
    dataset: str,
    algo: str,
    steps: int,
    seed: int = 0,
    scale: str | None = None,
    out=FOLDER,
    keep: bool = False,
    agents=None,
) -> Path:
    """Train ``algo``'s guidance alone on ``dataset`` for ``steps`` critic steps at ``scale`` (default:
    the findings scale of the dataset's task) and write its stage-1 log; returns the file. With
    ``keep`` the trained agent is also saved, compact, at ``kept_path`` (in ``agents``)."""
    import torch

    import mdpt_lib
    from mdpt_lib.data.registry import get_dataset_spec
    from mdpt_lib.train import seconds_before_this_session

    spec = get_dataset_spec(dataset)
    scale = scale or findings_scale(spec.task, algo)
    sc = get_scale(scale)
    path = Path(out) / f"{spec.id}__{algo}__{scale}__stage1-{steps}__seed{seed}.json"
    kept = kept_path(spec.id, algo, scale, seed, agents)
    if path.exists():
        if keep and not kept.exists():
            raise FileExistsError(
                f"{path} was written without keeping its agent, which is gone with its run: to "
                "keep one, move that file away and train again"
            )
        return path
    checkpoint = cache_dir() / "experiments" / f"critic__{path.stem}.ckpt"
    torch.set_num_threads(1)
    origin = provenance() | {"gemm_fp32_gflops": gemm_gflops()}
    start = time.perf_counter()
    agent = mdpt_lib.fit(
        spec.id,
        algo=algo,
        mode="guidance_first",
        steps=1,
        guidance_steps=steps,
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_every=5000,
        **sc.hparams(algo),
    )
    log = [
        row for row in agent.results["log"] if row["stage"] == 1 and row["step"] % KEEP_EVERY == 0
    ]
    result = {
        # a guidance-first job's fields, so that ``decide.stage1_log`` reads it as it reads those
        "job": {
            "dataset": spec.id,
            "algo": algo,
            "mode": "guidance_first",
            "seeds": [seed],
            "scale": scale,
            "guidance_steps": steps,
        },
        "log": log,
        "measure": agent.results["measure"],
        "resumed": agent.results["resumed"],
        # all sessions: a resumed run's earlier ones plus this one
        "wall_seconds": time.perf_counter() - start + seconds_before_this_session(agent.results),
        "train_wall_seconds": agent.results["wall_seconds"],
        "provenance": origin | {"written": utc_stamp()},
    }
    if keep:
        kept.parent.mkdir(parents=True, exist_ok=True)
        agent.save(kept, compact=True)
    write_result(path, result)
    checkpoint.unlink(missing_ok=True)  # the result file now stands for the finished run
    return path


def load(folder=FOLDER) -> pd.DataFrame:
    """The committed stage-1 logs as ``decide.stage1_log`` rows: dataset, algo, scale, seed, step,
    q_loss, q_mean (the critic's mean value of the batch's data actions) and mc_return (their
    discounted returns)."""
    from mdpt_lib.experiments.decide import stage1_log

    return stage1_log(load_results("critic", Path(folder)))


def settling(
    frame: pd.DataFrame, window: int = 10_000, tol: float = 0.10, at: tuple[int, ...] = (30_000,)
) -> pd.DataFrame:
    """Per run of ``load``: the critic's value of the data's actions at the steps ``at`` and at its
    end (``q_end``, at ``end_step``), each the mean of the logged values over the ``window`` steps
    up to it (one batch's value is noisy), how far that mean moved from the window before, and
    ``settled_by``: the first window end from which every later move is within ``tol`` of the value
    (NaN: not settled within the run). Runs shorter than two windows are left out."""
    out = []
    for key, g in frame.groupby(["dataset", "algo", "scale", "seed"]):
        q = g.set_index("step").q_mean.sort_index()
        ends = range(window, int(q.index.max()) + 1, window)
        if len(ends) < 2:  # too short a log for one move between windows: nothing to read
            continue
        mean = pd.Series({t: q[(q.index > t - window) & (q.index <= t)].mean() for t in ends})
        moved = mean.diff()
        row = dict(zip(["dataset", "algo", "scale", "seed"], key, strict=True))
        for step in at:
            if step in moved.index:
                row[f"q_at_{step // 1000}k"] = mean[step]
                row[f"moved_before_{step // 1000}k"] = moved[step]
        row |= {"end_step": ends[-1], "q_end": mean.iloc[-1], "moved_before_end": moved.iloc[-1]}
        steady = (moved.abs() <= tol * mean.abs())[1:]
        unsettled = steady.index[~steady.to_numpy()]
        later = steady.index[steady.index > unsettled.max()] if len(unsettled) else steady.index
        row["settled_by"] = int(later.min()) if len(later) else float("nan")
        row["mc_return"] = g.mc_return.mean()
        out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--algo", required=True, choices=sorted(ALGORITHMS))
    p.add_argument("--steps", type=int, default=120_000, help="stage-1 critic steps")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed, in turn")
    p.add_argument("--scale", default=None, help="default: the findings scale of the task")
    p.add_argument(
        "--keep", action="store_true", help="also keep the trained agent in results/agents"
    )
    args = p.parse_args(argv)
    for seed in args.seeds:
        print(run(args.dataset, args.algo, args.steps, seed, args.scale, keep=args.keep))


if __name__ == "__main__":
    main()
