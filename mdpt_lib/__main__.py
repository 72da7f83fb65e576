"""Command line: ``python -m mdpt_lib <command>``."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mdpt_lib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    smoke = commands.add_parser("smoke", help="make and step each task, print a table")
    smoke.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.command == "smoke":
        from mdpt_lib.smoke import main as smoke_main

        smoke_main(seed=args.seed)


if __name__ == "__main__":
    main()
