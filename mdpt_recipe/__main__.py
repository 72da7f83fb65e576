"""The behaviour-policy recipe's tool: ``python -m mdpt_recipe <command>``.

train-behaviour   train (or resume) the behaviour SAC of each task; writes the committed snapshots
stats             our datasets' statistics beside the published ones (--save: results/data/)
seeds             steps each cached SAC seed needed to reach the mixed target (--save: results/data/)

Building datasets from the committed snapshots is the library's: ``python -m mdpt_lib.data build``.
"""

from __future__ import annotations

import argparse
import sys

from mdpt_lib.envs import TASKS, UnknownTaskError, get_task


def _tasks(arg: str) -> list[str]:
    return list(TASKS) if arg == "all" else [t.strip() for t in arg.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mdpt_recipe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train-behaviour", help="train or resume the behaviour SAC runs")
    train.add_argument("--task", default="all", help="a task, a comma list, or 'all' (default)")
    train.add_argument(
        "--seed",
        type=int,
        default=None,
        help="SAC seed (default: the task's committed run, behaviour.BEHAVIOUR_SEED)",
    )
    train.add_argument(
        "--until",
        choices=["medium", "expert"],
        default="expert",
        help="reach medium for every task first, then expert (default: expert)",
    )
    train.add_argument("--max-steps", type=int, default=3_000_000, help="cap per task (env steps)")
    train.add_argument("--threads", type=int, default=1, help="torch threads (one core: 1)")
    train.add_argument(
        "--lr",
        type=float,
        default=None,
        help="SAC learning rate (default: SACConfig.lr); a run off the default keeps its own state",
    )
    train.add_argument(
        "--reselect",
        choices=["medium", "expert"],
        help="drop this snapshot and select it again as training goes on (needs --reason)",
    )
    train.add_argument("--reason", help="why --reselect drops the snapshot (kept in provenance)")
    train.add_argument(
        "--out",
        default=None,
        help="write snapshots under this folder instead of the package's committed assets "
        "(e.g. to try other seeds without touching them)",
    )

    stats = commands.add_parser(
        "stats", help="statistics of our datasets beside the published ones"
    )
    stats.add_argument("ids", nargs="*", help="dataset ids (default: all)")
    stats.add_argument("--build", action="store_true", help="build ids that are not cached yet")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.add_argument(
        "--save",
        nargs="?",
        const="committed",
        help="also write the rows with provenance as JSON (default file: results/data/stats.json)",
    )

    seeds = commands.add_parser(
        "seeds", help="steps each cached SAC seed needed to reach the mixed target"
    )
    seeds.add_argument(
        "--save",
        nargs="?",
        const="committed",
        help="also write the rows as JSON (default file: results/data/seed_study.json)",
    )

    args = parser.parse_args(argv)
    if args.command == "train-behaviour" and args.reselect and not args.reason:
        parser.error("--reselect needs --reason")
    if args.command == "stats":
        from mdpt_recipe.report import COMMITTED
        from mdpt_recipe.report import main as report

        save_to = (
            None if args.save is None else COMMITTED if args.save == "committed" else args.save
        )
        command = " ".join(["python -m mdpt_recipe", *(argv or sys.argv[1:])])
        report(args.ids or None, args.build, args.json, save_to, command)
    if args.command == "seeds":
        from pathlib import Path

        from mdpt_recipe import seed_study

        save_to = (
            None
            if args.save is None
            else seed_study.COMMITTED
            if args.save == "committed"
            else Path(args.save)
        )
        seed_study.main(save_to, " ".join(["python -m mdpt_recipe", *(argv or sys.argv[1:])]))
    if args.command == "train-behaviour":
        import torch

        from mdpt_recipe.behaviour import BEHAVIOUR_SEED, BehaviourRun
        from mdpt_recipe.sac import SACConfig

        torch.set_num_threads(args.threads)
        try:
            tasks = [get_task(t).name for t in _tasks(args.task)]
        except UnknownTaskError as err:
            parser.error(str(err))
        stages = ["medium", "expert"] if args.until == "expert" else ["medium"]
        for until in stages:  # every task reaches medium before any goes on to expert
            for task in tasks:
                seed = BEHAVIOUR_SEED[task] if args.seed is None else args.seed
                cfg = SACConfig() if args.lr is None else SACConfig(lr=args.lr)
                run = BehaviourRun(task, seed=seed, out_dir=args.out, cfg=cfg)
                if args.reselect and until == stages[0]:
                    run.try_resume()
                    run.reselect(args.reselect, args.reason)
                found = run.run(until=until, max_steps=args.max_steps)
                print(
                    f"{task}: found {found} after {run.step} steps, {run.wall / 60:.1f} min",
                    flush=True,
                )



if __name__ == "__main__":
    main()
