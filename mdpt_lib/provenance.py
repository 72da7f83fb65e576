"""Where a committed artifact came from: the git commit of this checkout and a UTC time stamp."""

from __future__ import annotations

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
