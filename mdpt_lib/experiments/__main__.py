"""Run an experiment's grid as independent, resumable jobs through Ray.

    python -m mdpt_lib.experiments run guidance_first --scale full            # this machine's cores
    python -m mdpt_lib.experiments run transfer --scale full --address auto    # an existing Ray cluster
    python -m mdpt_lib.experiments list necessity --scale book                 # the jobs, and which are done
    python -m mdpt_lib.experiments variants learning --scale learn_td05        # score saved agents again
    python -m mdpt_lib.experiments keep learning --scale learn_eta05 --tasks hopper --modes joint

Each job writes ``results/<experiment>/<job>.json``; finished jobs are skipped, so rerunning the same
command after an interruption continues the grid. Every Ray worker runs one job on one core with one
torch thread (two multi-threaded torch processes on the same cores slow each other to a crawl).
``variants`` scores the final agents of finished ``learning`` jobs under the other inference rules
(``learning.inference_variants``) where their files lack them and the agents are in this machine's
cache, and adds the scores to the files. ``keep`` saves compact (float16, acting-only) copies of
finished jobs' cached agents under ``results/agents`` to commit, so that the transfer study's swaps
can run on another machine. ``swaps`` runs the transfer study on those agents (joint training, each
algorithm at its findings scale) and writes ``results/swaps/<dataset>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm.auto import tqdm

from mdpt_lib.experiments.grid import (
    EXPERIMENTS,
    PAPER_LEVELS,
    PAPER_TASKS,
    RESULTS,
    Job,
    covered_seeds,
    jobs,
    remaining,
    run_job,
    write_result,
)
from mdpt_lib.experiments.scales import SCALES
from mdpt_lib.provenance import utc_stamp


def _run_remote(job, out: str, device: str) -> str:
    os.environ["OMP_NUM_THREADS"] = "1"
    return str(run_job(job, Path(out), device=device, threads=1))


class _Log:
    """Appends timestamped lines to ``<out>/grid.log``: the record of starts, finishes and resumes."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, message: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = utc_stamp()
        with self.path.open("a") as f:
            f.write(f"{stamp} {message}\n")


def _add_variants(grid, out: Path, argv) -> None:
    """Add ``selection_variants`` to finished learning files that lack them, from saved agents."""
    import json

    import torch

    from mdpt_lib.experiments.grid import load_job_agents
    from mdpt_lib.experiments.learning import evaluate_variants
    from mdpt_lib.provenance import git_commit

    torch.set_num_threads(1)
    cells = {j.cell for j in grid}
    for path in sorted(out.glob("*.json")):
        result = json.loads(path.read_text())
        j = Job(**{**result["job"], "seeds": tuple(result["job"]["seeds"])})
        if j.cell not in cells:
            continue
        if result.get("selection_variants") and all(
            "live_weights" in v for v in result["selection_variants"]
        ):
            print(f"has its variants: {j.id}")
            continue
        try:
            agents = load_job_agents(j.id)
        except FileNotFoundError as err:
            print(f"skipped: {err}")
            continue
        sc = result["scale"]
        result["selection_variants"] = evaluate_variants(agents, sc["steps"], sc["episodes"])
        result["selection_variants_added"] = {
            "command": " ".join(["python -m mdpt_lib.experiments", *(argv or sys.argv[1:])]),
            "git_commit": git_commit(),
            "written": utc_stamp(),
        }
        write_result(path, result)
        print(f"added variants: {j.id}")


def _keep(grid, out: Path) -> None:
    """Commit-sized copies of the agents of the finished jobs among ``grid`` (results/agents)."""
    import json

    from mdpt_lib.experiments.grid import KEPT_AGENTS, keep_agents

    cells = {j.cell for j in grid}
    for path in sorted(out.glob("*.json")):
        job = json.loads(path.read_text())["job"]
        if Job(**{**job, "seeds": tuple(job["seeds"])}).cell not in cells:
            continue
        written = keep_agents(path.stem)
        print(
            f"kept {len(written)} agent(s) of {path.stem} in {KEPT_AGENTS}"
            if written
            else f"nothing new to keep of {path.stem} (kept already, or not on this machine)"
        )


def _swaps(datasets: list[str], seeds, argv) -> None:
    """The transfer study on the decisive runs' agents, one file per dataset (results/swaps)."""
    import time

    import torch

    from mdpt_lib.experiments.grid import provenance
    from mdpt_lib.experiments.transfer import SWAPS, agent_scales, decisive_swaps

    torch.set_num_threads(1)
    seeds = list(seeds) if seeds is not None else list(range(5))
    for ds in datasets:
        start = time.perf_counter()
        try:
            # each algorithm on those of the seeds it has agents of (at least 2)
            rows = decisive_swaps(ds, seeds, missing_ok=True, progress=True)
        except FileNotFoundError as err:
            raise SystemExit(f"swaps on {ds}: {err}") from None
        have = {a: sorted(int(s) for s in set(g.seed)) for a, g in rows.groupby("policy")}
        print(f"swaps on {ds}: seeds {have}")
        path = SWAPS / f"{ds}.json"
        write_result(
            path,
            {
                "dataset": ds,
                "seeds": seeds,
                "seeds_per_algo": have,
                "scales": agent_scales(ds),
                "command": " ".join(["python -m mdpt_lib.experiments", *(argv or sys.argv[1:])]),
                "rows": rows.to_dict("records"),
                "wall_seconds": time.perf_counter() - start,
                "provenance": provenance(),
            },
        )
        print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mdpt_lib.experiments",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["run", "list", "variants", "keep", "swaps"])
    parser.add_argument("experiment", choices=EXPERIMENTS)
    parser.add_argument("--scale", default="full", choices=list(SCALES))
    parser.add_argument("--tasks", nargs="+", default=list(PAPER_TASKS))
    parser.add_argument("--levels", nargs="+", default=list(PAPER_LEVELS))
    parser.add_argument(
        "--family",
        default="d4rl",
        choices=["d4rl", "d4rl-pybullet"],
        help="dataset ids: D4RL's (bullet-hopper-medium-v0, the paper's; medium actions sampled) "
        "or d4rl-pybullet's (hopper-bullet-medium-v0; medium actions deterministic)",
    )
    parser.add_argument(
        "--seeds-per-job",
        type=int,
        default=1,
        help="seeds trained together in one job (one process, batched)",
    )
    parser.add_argument(
        "--algos", nargs="+", default=None, help="only the jobs of these algorithms (default: all)"
    )
    parser.add_argument(
        "--modes", nargs="+", default=None, help="only the jobs of these conditions (default: all)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="only the jobs that train one of these seeds (default: all the scale's seeds)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: results/<experiment>")
    parser.add_argument("--address", default=None, help="an existing Ray cluster (e.g. auto)")
    parser.add_argument("--cpus", type=int, default=None, help="local workers (default: all cores)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    out = args.out or RESULTS / args.experiment
    grid = jobs(
        args.experiment,
        args.scale,
        args.tasks,
        args.levels,
        args.seeds_per_job,
        tuple(args.algos) if args.algos else None,
        tuple(args.modes) if args.modes else None,
        args.family,
    )
    if args.seeds is not None:
        grid = [j for j in grid if set(j.seeds) & set(args.seeds)]
    if args.command == "variants":
        _add_variants(grid, out, argv)
        return
    if args.command == "keep":
        _keep(grid, out)
        return
    if args.command == "swaps":
        _swaps(sorted({j.dataset for j in grid}), args.seeds, argv)
        return
    # a seed some result file already holds is not trained again, whatever job grouped it
    todo = remaining(grid, out, args.seeds)
    print(
        f"{args.experiment} at scale {args.scale}: {len(grid)} jobs, {len(grid) - len(todo)} done, "
        f"{len(todo)} to run -> {out}"
    )
    if args.command == "list" or not todo:
        covered = covered_seeds(out)
        for j in grid:
            left = remaining([j], out, args.seeds, covered)
            if not left:
                print("done  " + j.id, flush=True)
            else:
                print(f"todo  {j.id}" + ("" if left[0] == j else f" (runs as {left[0].id})"))
        return
    log = _Log(out / "grid.log")
    log(f"start: {' '.join(['python -m mdpt_lib.experiments', *(argv or sys.argv[1:])])}")
    log(f"{len(grid)} jobs, {len(grid) - len(todo)} done, {len(todo)} to run")

    import ray

    ray.init(
        address=args.address,
        num_cpus=None if args.address else (args.cpus or os.cpu_count()),
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}},
    )
    remote = ray.remote(num_cpus=1, max_retries=0)(_run_remote)
    pending = [remote.remote(j, str(out), args.device) for j in todo]
    with tqdm(total=len(pending), desc=args.experiment, unit="job") as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                name = Path(ray.get(ref)).name
                bar.write(f"finished {name}")
                log(f"finished {name}")
                bar.update(1)
    log("grid complete")
    ray.shutdown()


if __name__ == "__main__":
    main()
