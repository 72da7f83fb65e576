"""Command line of the datasets: ``python -m mdpt_lib.data build [ID ...]``.

build   build datasets into the cache ($MDPT_DATA_DIR) from the committed behaviour snapshots

Training the behaviour policies themselves, and checking the builds against the published
statistics, is the recipe's tool: ``python -m mdpt_recipe --help``.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mdpt_lib.data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build datasets into the cache")
    build.add_argument(
        "ids", nargs="*", help="dataset ids (default: every id whose snapshot exists)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.add_argument(
        "--workers", type=int, default=None, help="processes (default: one per core)"
    )

    args = parser.parse_args(argv)
    if args.command == "build":
        from mdpt_lib.data.build import MissingSnapshotError, ensure_built
        from mdpt_lib.data.registry import DATASETS

        for dataset_id in args.ids or list(DATASETS):
            try:
                path = ensure_built(dataset_id, workers=args.workers, overwrite=args.force)
                print(f"{dataset_id}: {path}", flush=True)
            except MissingSnapshotError as err:
                if args.ids:
                    raise SystemExit(str(err)) from err
                print(f"{dataset_id}: skipped, {err}", flush=True)


if __name__ == "__main__":
    main()
