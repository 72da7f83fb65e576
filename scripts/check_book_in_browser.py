"""Open the built book in headless Chromium: the index and one notebook page, check what a reader sees.

    apt-get install chromium                       # Debian's package
    python scripts/check_book_in_browser.py [_build/html] [--screenshot book.png]

Loads each page with JavaScript (MathJax, the theme) the way a browser shows it, asserts that the
index has the chapter list, that MathJax (served with the book) typesets a theory page, and that the
notebook page shows its figure and glued numbers (no "??" or unresolved glue), and saves a
screenshot of the notebook page. Exits non-zero on a failed check.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("no Chromium found: apt-get install chromium")


def run(url: str, *extra: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("html", nargs="?", default="_build/html", type=Path)
    parser.add_argument("--page", default="notebooks/03_transfer.html")
    parser.add_argument("--screenshot", default="book_screenshot.png", type=Path)
    args = parser.parse_args()
    index, page = (args.html / "index.html").resolve(), (args.html / args.page).resolve()
    failures = []

    dom = run(index.as_uri(), "--dump-dom")
    for chapter in ("Background", "The three findings", "Exercises"):
        if chapter not in dom:
            failures.append(f"index: no '{chapter}' in the navigation")

    maths = run((args.html / "book" / "diffusion_policies.html").resolve().as_uri(), "--dump-dom")
    if "mjx-container" not in maths:
        failures.append("book/diffusion_policies.html: MathJax did not typeset the equations")

    dom = run(page.as_uri(), "--dump-dom")
    if "<img" not in dom:
        failures.append(f"{args.page}: no figure")
    if "??" in dom or "glue:" in dom:
        failures.append(f"{args.page}: an unresolved reference or glue")
    conclusion = dom[dom.find('id="what-this-run-shows"') :]  # the section, not the menu link
    text = re.sub(r"<[^>]+>", " ", conclusion[: conclusion.find("</section>")])
    numbers = re.findall(r"-?\d+(?:\.\d+)?%?", text)
    if len(numbers) < 3:
        failures.append(f"{args.page}: the conclusion shows too few glued numbers ({numbers})")
    run(page.as_uri(), f"--screenshot={args.screenshot.resolve()}", "--window-size=1280,7000")
    print(
        f"index: {index}\npage: {page}\nnumbers in the conclusion: {numbers}\nscreenshot: {args.screenshot}"
    )
    if failures:
        print("\n".join(failures), file=sys.stderr)
        raise SystemExit(1)
    print("browser check passed")


if __name__ == "__main__":
    main()
