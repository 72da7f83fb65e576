"""``python -m mdpt_recipe seeds``: how many SAC steps each seed needed to reach the mixed target.

A ``mixed`` (= ``medium-replay``) buffer is the replay buffer at the first training episode whose
return reaches ``MEDIUM_TARGET_RETURN``, so its size is one draw of a random quantity. This reads
every SAC state in the cache (``sac/<task>-seed<S>.pt``, written by ``train-behaviour --seed S``,
with or without ``--out``) and reports, per task and seed, the step of that first episode (or how
far a run stopped short of it) beside the original buffer's rows. SAC states live in one machine's
cache, so the committed study is merged, not replaced: a row of a state in the cache replaces the
committed row of the same task, lr and seed when it ran at least as far; the other committed rows
stay. Runs are made with e.g.

    python -m mdpt_recipe train-behaviour --task walker2d --seed 2 --until medium \\
        --max-steps 180000 --out /tmp/seeds
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mdpt_lib.data.paths import RESULTS, behaviour_dir, cache_dir
from mdpt_lib.data.registry import MEDIUM_TARGET_RETURN, PUBLISHED, mixed_rows_ok

COMMITTED = RESULTS / "data" / "seed_study.json"
"""The committed seed study (``seeds --save``), shown in the book."""

_STATE = re.compile(r"(?P<task>[a-z0-9]+)-seed(?P<seed>\d+)(-lr(?P<lr>[0-9.e-]+))?\.pt")


def committed_run(task: str) -> tuple[int, float] | None:
    """(seed, lr) of the SAC run whose replay buffer is committed for ``task``, from its provenance."""
    path = behaviour_dir() / task / "provenance.json"
    mixed = json.loads(path.read_text()).get("mixed") if path.exists() else None
    return (mixed["seed"], mixed["sac_config"]["lr"]) if mixed else None


def study_row(path: Path) -> dict:
    """One SAC state -> task, seed, steps run, step of the first target episode (or None), best return."""
    import torch

    match = _STATE.fullmatch(path.name)
    if match is None:
        raise ValueError(f"{path} is not a SAC state named <task>-seed<S>[-lr<lr>].pt")
    task, seed = match["task"], int(match["seed"])
    state = torch.load(path, weights_only=False, map_location="cpu")
    target = MEDIUM_TARGET_RETURN[task]
    episodes = [row for row in state["log"] if "episode_return" in row]
    first = next((i for i, row in enumerate(episodes) if row["episode_return"] >= target), None)
    reached = None if first is None else episodes[first]["step"]
    best = max((row["episode_return"] for row in episodes), default=float("nan"))
    original = PUBLISHED[(task, "mixed")].rows
    return {
        "task": task,
        "seed": seed,
        "lr": state["cfg"]["lr"],
        "target_return": target,
        "steps_run": state["step"],
        "steps_to_target": reached,
        "best_training_return": round(best, 1),
        "original_rows": original,
        "episodes_to_target": None if first is None else first + 1,
        "within_factor": first is not None and mixed_rows_ok(task, reached, first + 1),
        "committed_run": committed_run(task) == (seed, state["cfg"]["lr"]),
    }


def _key(row: dict) -> tuple[str, float, int]:
    return row["task"], row["lr"], row["seed"]


def study(folder: Path | None = None) -> list[dict]:
    """Rows of every SAC state in ``folder`` (default: the cache's ``sac/``), by task and seed."""
    paths = sorted(Path(folder or cache_dir() / "sac").glob("*-seed*.pt"))
    return sorted((study_row(p) for p in paths), key=_key)


def merge(committed: list[dict], measured: list[dict]) -> list[dict]:
    """``committed`` rows updated by ``measured`` ones of the same (task, lr, seed) that ran at least
    as far; each row says whether it was ``measured`` now, and ``committed_run`` is read afresh."""
    rows = {_key(r): {**r, "measured": False} for r in committed}
    for row in measured:
        old = rows.get(_key(row))
        if old is None or row["steps_run"] >= old["steps_run"]:
            rows[_key(row)] = {**row, "measured": True}
    for row in rows.values():
        row["committed_run"] = committed_run(row["task"]) == (row["seed"], row["lr"])
    return sorted(rows.values(), key=_key)


def format_rows(rows: list[dict]) -> str:
    head = f"{'task':<12} {'lr':>7} {'seed':>4} {'steps to target':>26} {'original rows':>14}  within x2  committed"
    lines = [head, "-" * len(head)]
    for r in rows:
        reached = (
            f"{r['steps_to_target']:,}"
            if r["steps_to_target"] is not None
            else f"> {r['steps_run']:,} (best {r['best_training_return']:.0f})"
        )
        lines.append(
            f"{r['task']:<12} {r['lr']:>7g} {r['seed']:>4} {reached:>26} {r['original_rows']:>14,}  "
            f"{'yes' if r['within_factor'] else 'no':>9}  {'yes' if r['committed_run'] else '':>9}"
        )
    return "\n".join(lines)


def main(save_to: Path | None, command: str) -> None:
    measured = study()
    if not measured:
        raise SystemExit(
            f"no SAC states in {cache_dir() / 'sac'}: run `python -m mdpt_recipe train-behaviour "
            "--task TASK --seed S --until medium --out DIR` first"
        )
    print(format_rows(measured))
    if save_to is not None:
        committed = json.loads(save_to.read_text())["rows"] if save_to.exists() else []
        rows = merge(committed, measured)
        print(
            f"{sum(not r['measured'] for r in rows)} rows of {save_to} not in this cache are kept"
        )
        from mdpt_recipe.report import save

        save(rows, save_to, command)
        print(f"saved to {save_to}")
