"""Where a committed artifact came from: the git commit of this checkout and a UTC time stamp."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path


def git_commit() -> str:
    """The current git commit of the repository holding this file, or 'unknown'."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def utc_stamp() -> str:
    """Now, as ``2026-11-25T16:20:43Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def short_cpu(model: str) -> str:
    """``AMD EPYC (family 26, model 2; ...)`` -> ``AMD EPYC f26 m2``: the vendor name, family, model."""
    name = re.sub(r"\(R\)|\(TM\)| Processor", "", model.split(" (")[0]).strip()
    found = re.search(r"family (\d+), model (\d+)", model)
    return f"{name} f{found[1]} m{found[2]}" if found else name
