"""``python -m mdpt_recipe stats``: our datasets beside the published numbers, one row per id.

For every id: rows, episodes and per-episode return mean/std/min/max of the data ``load_dataset``
serves, the published statistics (d4rl-pybullet's table; for D4RL's ids, which have none, the
reference returns), and whether ours passes the closeness check of ``registry``. An id whose
behaviour snapshot does not exist yet is listed as such with how far its SAC run got.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mdpt_lib.data.build import ROLLOUT_LEVELS, MissingSnapshotError, spec_file
from mdpt_lib.data.layouts import episode_returns
from mdpt_lib.data.paths import RESULTS, behaviour_dir, snapshot_files
from mdpt_lib.data.policies import NumpyActor, off_mean_rms
from mdpt_lib.data.registry import DATASETS, check_against_published
from mdpt_lib.envs import TASKS
from mdpt_lib.provenance import git_commit, utc_stamp

COMMITTED = RESULTS / "data" / "stats.json"
"""The committed stats of this project's builds (``stats --save``), shown in the book."""

NOT_BUILT = "not built (run with --build)"
"""Status of an id whose 1M-row build is not in this machine's cache."""


def progress_note(task: str) -> str:
    """How far the behaviour run of ``task`` got, from its committed ``progress.json``."""
    path = behaviour_dir() / task / "progress.json"
    if not path.exists():
        return "SAC run not started"
    p = json.loads(path.read_text())
    checks = p.get("last_checks") or []
    last = (
        f", last deterministic check {checks[-1]['check']} mean {checks[-1]['mean']:.0f}"
        if checks
        else ""
    )
    return f"SAC at {p['env_steps']:,} steps ({p['wall_seconds'] / 3600:.1f} h){last}"


def off_recipe_note(task: str, level: str) -> str:
    """``"; made with SAC lr X, the recipe's is Y"`` if a snapshot of ``level`` predates the recipe."""
    from mdpt_recipe.sac import SACConfig

    path = behaviour_dir() / task / "provenance.json"
    prov = json.loads(path.read_text()) if path.exists() else {}
    levels = ["medium", "expert"] if level == "medium-expert" else [level]
    lrs = sorted({prov[lv]["sac_config"]["lr"] for lv in levels if lv in prov})
    recipe = SACConfig().lr
    if level == "random" or lrs in ([], [recipe]):  # the initial actor does not depend on the lr
        return ""
    return f"; made with SAC lr {'/'.join(f'{lr:g}' for lr in lrs)}, the recipe's is {recipe:g}"


def dataset_stats(dataset_id: str, build: bool = False) -> dict:
    """Statistics of one id (building it first when ``build`` and it is not cached)."""
    from mdpt_lib.data.load import load_dataset

    spec = DATASETS[dataset_id]
    row = {
        "id": dataset_id,
        "level": spec.level,
        "sampled": spec.sampled,
        "aliases": [a for a in spec.aliases if a != dataset_id],
    }
    needed = snapshot_files(spec.level)
    if not all((behaviour_dir() / spec.task / name).exists() for name in needed):
        row["status"] = "not reached: " + progress_note(spec.task)
        return row
    cheap = spec.level == "mixed"  # the committed replay buffer: nothing to roll out
    if not (build or cheap) and not spec_file(dataset_id).exists():
        row["status"] = NOT_BUILT
        return row
    try:
        data = load_dataset(dataset_id, verbose=False)
    except MissingSnapshotError:
        row["status"] = "not reached: " + progress_note(spec.task)
        return row
    returns = episode_returns(data)
    row |= {
        "rows": len(data["rewards"]),
        "episodes": len(returns),
        "mean": float(returns.mean()),
        "std": float(returns.std()),
        "min": float(returns.min()),
        "max": float(returns.max()),
    }
    if spec.level in ROLLOUT_LEVELS:  # how far the data's actions lie from the actor's mean action
        actor = NumpyActor.load(behaviour_dir() / spec.task / snapshot_files(spec.level)[0])
        pick = np.random.default_rng(0).choice(
            row["rows"], min(row["rows"], 100_000), replace=False
        )
        row["off_mean_rms"] = off_mean_rms(actor, data["observations"][pick], data["actions"][pick])
    # expert (a D4RL level, sampled as D4RL's is) is checked against D4RL's expert reference
    if spec.published is not None or spec.level == "expert":
        ends = int(np.count_nonzero(data["terminals"] | data["timeouts"]))
        ok, rule = check_against_published(spec, row["rows"], row["mean"], row["std"], ends)
        row["status"] = (
            ("ok" if ok else "FAILS") + f" ({rule})" + off_recipe_note(spec.task, spec.level)
        )
        if spec.level == "random":  # D4RL's own random return, a second reference
            row["status"] += f"; D4RL random reference {TASKS[spec.task].random_return}"
    else:
        row["status"] = "no published numbers" + off_recipe_note(spec.task, spec.level)
    return row


def published_text(dataset_id: str) -> str:
    """The published numbers an id is compared with: d4rl-pybullet's statistics or D4RL's refs."""
    spec = DATASETS[dataset_id]
    pub, task = spec.published, TASKS[spec.task]
    if pub:
        return f"{pub.mean:.1f} {pub.std:.1f} {pub.min:.1f} {pub.max:.1f} {pub.rows:,}"
    return f"D4RL random {task.random_return}, expert {task.expert_return}"


def format_table(rows: list[dict]) -> str:
    head = f"{'dataset id':<34} {'rows':>9} {'eps':>6} {'mean':>8} {'std':>7} {'min':>8} {'max':>8} {'off-mean':>8} | {'published (mean std min max rows) / D4RL refs':<46} | status"
    lines = [head, "-" * len(head)]
    for r in rows:
        ref = published_text(r["id"])
        if "rows" in r:
            off = f"{r['off_mean_rms']:>8.3f}" if "off_mean_rms" in r else f"{'-':>8}"
            nums = f"{r['rows']:>9,} {r['episodes']:>6} {r['mean']:>8.1f} {r['std']:>7.1f} {r['min']:>8.1f} {r['max']:>8.1f} {off}"
        else:
            nums = f"{'-':>9} {'-':>6} {'-':>8} {'-':>7} {'-':>8} {'-':>8} {'-':>8}"
        kept = f" [measured at {r['kept_from'][:7]}]" if "kept_from" in r else ""
        lines.append(f"{r['id']:<34} {nums} | {ref:<46} | {r['status']}{kept}")
    return "\n".join(lines)


def save(rows: list[dict], path: Path, command: str) -> None:
    """Write ``rows`` with their provenance (command, commit, time) as JSON, e.g. to ``COMMITTED``."""
    record = {
        "command": command,
        "git_commit": git_commit(),
        "written": utc_stamp(),
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")


def snapshots_written(dataset_id: str) -> str:
    """When the newest behaviour snapshot of ``dataset_id``'s task was written (provenance, UTC)."""
    path = behaviour_dir() / DATASETS[dataset_id].task / "provenance.json"
    entries = json.loads(path.read_text()).values()  # levels, and e.g. a list of reselected ones
    return max(e["written"] for e in entries if isinstance(e, dict) and "written" in e)


def keep_committed(rows: list[dict], committed: dict, written=snapshots_written) -> list[dict]:
    """``rows`` with each id that is not built here replaced by its row in a ``committed`` record
    (``save``'s JSON), marked ``kept_from`` that record's commit, if no snapshot of its task was
    written after that record (``written(id)``) and it was built the same way (actions sampled or
    not; rows from before the sampled D4RL builds say nothing and were not): a 1M-row build is an
    hour of CPU."""
    old = {r["id"]: r for r in committed["rows"] if "rows" in r}
    return [
        {**old[r["id"]], "kept_from": old[r["id"]].get("kept_from", committed["git_commit"])}
        if r.get("status") == NOT_BUILT
        and r["id"] in old
        and written(r["id"]) <= committed["written"]
        and old[r["id"]].get("sampled", False) == r.get("sampled", False)
        else r
        for r in rows
    ]


def main(
    ids: list[str] | None = None,
    build: bool = False,
    as_json: bool = False,
    save_to: Path | None = None,
    command: str = "",
) -> list[dict]:
    ids = ids or list(DATASETS)
    rows = [dataset_stats(i, build) for i in ids]
    if save_to and Path(save_to).exists():  # keep what this machine has not built
        rows = keep_committed(rows, json.loads(Path(save_to).read_text()))
    print(json.dumps(rows, indent=1) if as_json else format_table(rows))
    if save_to:
        save(rows, Path(save_to), command)
    if not all(np.isfinite(r.get("mean", 0.0)) for r in rows):
        raise SystemExit("non-finite returns in a dataset")
    return rows
