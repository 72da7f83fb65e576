"""The repository keeps its promises to a new user: two README commands, CI runs the same tests."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_has_exactly_two_commands():
    install, test = quick_start_commands()
    assert "pip install -r requirements.txt" in install
    assert "-m pytest" in test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "lines[1]" in ci and 'eval "$test_command"' in ci
    assert "pip install" in ci and "requirements.txt" in ci


def test_requirements_are_pinned():
    lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    ]
    packages = [line for line in lines if line and not line.startswith("-e")]
    unpinned = [line for line in packages if "==" not in line]
    assert not unpinned, f"unpinned requirements: {unpinned}"
    assert "torch==2.13.0" in packages  # the CPU wheel; unpinned torch pulls a CUDA build
    assert "-e ." in lines


def test_design_card_layout_exists():
    for path in (
        "book",
        "mdpt_lib",
        "notebooks",
        "tests",
        "_config.yml",
        "_toc.yml",
        "requirements.txt",
        "README.md",
        "pyproject.toml",
        ".ci/run",
    ):
        assert (ROOT / path).exists(), path
