"""Build the book: ``python -m mdpt_lib.book [--quick] [--force]``.

First prints the environment check of ``python -m mdpt_lib smoke`` (each task's sizes and the return
of one random episode), then builds.

Runs Jupyter Book 1 on the repository with warnings as errors (``-W --keep-going``; a failing
notebook cell fails the build through ``nb_execution_raise_on_error``), executing the notebooks at
their book-size defaults (``--quick``: the CI size, via ``MDPT_QUICK=1``), and prints the path of
``index.html`` to open. ``--force`` re-executes every notebook instead of using the execution cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def vendor_mathjax() -> Path:
    """Copy MathJax 3 (from the django-static-mathjax package) into ``book/_static/mathjax``."""
    import mathjax

    target = ROOT / "book" / "_static" / "mathjax"
    if not (target / "tex-mml-chtml.js").exists():
        source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
        shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def build(quick: bool = False, force: bool = False, out: Path | None = None) -> Path:
    """Build the book into ``out`` (default ``_build``); return the path of its ``index.html``."""
    vendor_mathjax()
    out = Path(out or ROOT)
    config = ROOT / "_config.yml"
    env = dict(
        os.environ,
        MDPT_QUICK="1" if quick else os.environ.get("MDPT_QUICK", "0"),
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    with tempfile.TemporaryDirectory() as tmp:
        if force or quick:  # a quick or forced build never reuses (or pollutes) the book-size cache
            text = config.read_text().replace(
                "execute_notebooks: cache", "execute_notebooks: force"
            )
            config = Path(tmp) / "_config.yml"
            config.write_text(text)
        jb = Path(sys.executable).with_name("jupyter-book")  # the CLI installed beside this Python
        cmd = [
            str(jb),
            "build",
            str(ROOT),
            "--config",
            str(config),
            "--path-output",
            str(out),
            "-W",
            "--keep-going",
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    index = out / "_build" / "html" / "index.html"
    print(f"\nbook built in {(time.perf_counter() - start) / 60:.1f} min: open {index}")
    return index


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mdpt_lib.book", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="notebooks at their CI size")
    parser.add_argument("--force", action="store_true", help="re-execute every notebook")
    parser.add_argument("--out", type=Path, default=None, help="build folder parent (default: .)")
    args = parser.parse_args()
    from mdpt_lib.smoke import main as smoke

    print("Checking the four environments before the build:\n")
    smoke()  # a second's check that the bullet tasks make and step here
    print()
    build(args.quick, args.force, args.out)


if __name__ == "__main__":
    main()
