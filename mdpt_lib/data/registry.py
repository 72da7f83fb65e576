"""The dataset registry: every dataset id of both bullet families, what it is made of, and the published
statistics it is checked against. The one place these facts live.

Two families name the same data:
- d4rl-pybullet: ``{task}-bullet-{random,medium,mixed}-v0``
- D4RL bullet:   ``bullet-{task}-{random,medium,medium-replay,expert,medium-expert}-v0``

Both come from one SAC run per task (the behaviour recipe, ``mdpt_recipe``; the book's data chapter). ``mixed`` and ``medium-replay`` are
the same replay buffer and ``random`` the same rollouts under either name. The rollouts of a trained
actor differ by family: d4rl-pybullet's ``medium`` acts deterministically (``tanh`` of the mean),
D4RL's collection script samples each action from the actor's tanh-Gaussian (``SAMPLED_LEVELS``),
so ``bullet-{task}-medium-v0`` and ``{task}-bullet-medium-v0`` are two datasets of one policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdpt_lib.envs import TASKS, get_task

LEVELS = ("random", "medium", "mixed", "medium-replay", "expert", "medium-expert")
"""Dataset levels a task can be asked for; ``mixed`` (d4rl-pybullet) = ``medium-replay`` (D4RL)."""

SAME_DATA = {"mixed": "medium-replay"}
"""Level names that denote the same data in the two families."""

SAMPLED_LEVELS = ("medium", "expert", "medium-expert")
"""Levels whose D4RL-family rollouts sample actions from the trained actor's distribution, as
D4RL's ``scripts/generation/mujoco/collect_data.py`` does (``distr.sample()``); d4rl-pybullet's
``medium`` takes the deterministic ``tanh(mean)``. Without that noise every state has one action
in the data, and an in-sample critic has no other action to compare it with."""

ROWS = 1_000_000
"""Rows of every rollout dataset (random, medium, expert); medium-expert has twice as many."""

MEDIUM_TARGET_RETURN = {"hopper": 1000.0, "halfcheetah": 800.0, "ant": 600.0, "walker2d": 1300.0}
"""d4rl-pybullet stopped its SAC at the first training episode reaching this return."""


EXPERT_TOLERANCE = 0.15
"""An expert policy's deterministic mean return lies within this fraction of D4RL's expert reference."""


@dataclass(frozen=True)
class PublishedStats:
    """Per-episode return statistics and row count of an original d4rl-pybullet dataset."""

    mean: float
    std: float
    max: float
    min: float
    rows: int


# d4rl-pybullet's published table (its README); D4RL published no statistics for its bullet sets.
PUBLISHED: dict[tuple[str, str], PublishedStats] = {
    ("hopper", "random"): PublishedStats(18.6, 3.0, 53.2, -8.6, 1_000_000),
    ("hopper", "medium"): PublishedStats(1078.4, 325.5, 1239.0, 220.2, 1_000_000),
    ("hopper", "mixed"): PublishedStats(139.1, 147.6, 1019.9, 9.2, 59_345),
    ("halfcheetah", "random"): PublishedStats(-1304.5, 99.3, -945.3, -1518.6, 1_000_000),
    ("halfcheetah", "medium"): PublishedStats(787.4, 104.3, 844.9, -522.6, 1_000_000),
    ("halfcheetah", "mixed"): PublishedStats(453.1, 498.2, 801.0, -1428.2, 178_178),
    ("ant", "random"): PublishedStats(10.4, 0.3, 13.0, 9.8, 1_000_000),
    ("ant", "medium"): PublishedStats(570.8, 104.8, 816.8, 70.9, 1_000_000),
    ("ant", "mixed"): PublishedStats(255.4, 196.2, 609.7, -32.7, 53_572),
    ("walker2d", "random"): PublishedStats(15.0, 2.9, 66.9, 5.7, 1_000_000),
    ("walker2d", "medium"): PublishedStats(1106.7, 417.8, 1394.4, 16.0, 1_000_000),
    ("walker2d", "mixed"): PublishedStats(181.5, 277.7, 1363.9, 9.5, 89_772),
}


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset id: its task, its level (canonical d4rl-pybullet name where one exists), family."""

    id: str
    task: str
    level: str  # random | medium | mixed | expert | medium-expert
    family: str  # "d4rl-pybullet" | "d4rl"

    @property
    def sampled(self) -> bool:
        """Are this id's actions drawn from the behaviour actor's distribution (D4RL's collection)
        rather than its deterministic mean (d4rl-pybullet's)? Random data is stochastic in both."""
        return self.family == "d4rl" and self.level in SAMPLED_LEVELS

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every id (both families) that names the same data."""
        return tuple(
            i
            for i, s in DATASETS.items()
            if s.task == self.task and s.level == self.level and s.sampled == self.sampled
        )

    @property
    def published(self) -> PublishedStats | None:
        """d4rl-pybullet's statistics of this data (none for sampled rollouts: they are not its)."""
        return None if self.sampled else PUBLISHED.get((self.task, self.level))

    @property
    def id_level(self) -> str:
        """The level as this id's family names it (``--levels`` of the experiment runner):
        D4RL's "medium-replay" for the mixed data of a ``bullet-*`` id."""
        return SAME_DATA.get(self.level, self.level) if self.family == "d4rl" else self.level


def _canonical(level: str) -> str:
    return {v: k for k, v in SAME_DATA.items()}.get(level, level)


def _build_registry() -> dict[str, DatasetSpec]:
    out: dict[str, DatasetSpec] = {}
    for task in TASKS:
        for level in ("random", "medium", "mixed"):
            out[f"{task}-bullet-{level}-v0"] = DatasetSpec(
                f"{task}-bullet-{level}-v0", task, level, "d4rl-pybullet"
            )
        for level in ("random", "medium", "medium-replay", "expert", "medium-expert"):
            out[f"bullet-{task}-{level}-v0"] = DatasetSpec(
                f"bullet-{task}-{level}-v0", task, _canonical(level), "d4rl"
            )
    return out


DATASETS: dict[str, DatasetSpec] = _build_registry()


class UnknownDatasetError(ValueError):
    """A dataset id that is not in ``DATASETS``."""


def get_dataset_spec(dataset_id: str) -> DatasetSpec:
    """The spec of ``dataset_id``; an unknown id raises an error listing the valid ones."""
    if dataset_id in DATASETS:
        return DATASETS[dataset_id]
    hint = ""
    for task in TASKS:
        if task in dataset_id:
            hint = (
                f" Ids for {task}: "
                + ", ".join(i for i, s in DATASETS.items() if s.task == task)
                + "."
            )
            break
    raise UnknownDatasetError(
        f"unknown dataset id {dataset_id!r}. Ids look like 'hopper-bullet-medium-v0' (d4rl-pybullet) or "
        f"'bullet-hopper-medium-v0' (D4RL); see mdpt_lib.data.DATASETS.{hint}"
    )


def dataset_id(task: str, level: str, family: str = "d4rl") -> str:
    """The id of ``level`` data for ``task`` in ``family`` ("d4rl" or "d4rl-pybullet")."""
    task = get_task(task).name
    if level not in LEVELS:
        raise ValueError(f"unknown dataset level {level!r}: valid levels are {', '.join(LEVELS)}")
    if family == "d4rl-pybullet":
        level = _canonical(level)
        if level not in ("random", "medium", "mixed"):
            raise ValueError(f"d4rl-pybullet has no {level!r} datasets: use family='d4rl'")
        return f"{task}-bullet-{level}-v0"
    if family == "d4rl":
        return f"bullet-{task}-{SAME_DATA.get(level, level)}-v0"
    raise ValueError(f"unknown dataset family {family!r}: 'd4rl' or 'd4rl-pybullet'")


# --- how close our builds must be to the originals (the data issue's acceptance) ----------------
MEDIUM_MEAN_TOLERANCE = 0.25
"""A medium dataset's mean return lies within this fraction of d4rl-pybullet's published mean."""
MIXED_ROWS_FACTOR = 2.0
"""A mixed dataset's row count lies within this factor of the original's (``mixed_rows_ok``)."""
MIXED_STD_FRACTION = 1 / 3
"""A mixed dataset's return std is at least this fraction of the original's."""


def original_layout_rows(transitions: int, episode_ends: int) -> int:
    """Rows the same data takes in d4rl-pybullet's layout, the unit of its published row counts:
    one per transition plus the row appended after every episode end (``book/data_recipe.md``)."""
    return transitions + episode_ends


def mixed_rows_ok(task: str, transitions: int, episode_ends: int) -> bool:
    """Is a replay buffer of ``transitions`` and ``episode_ends`` within ``MIXED_ROWS_FACTOR`` of the
    original buffer's published rows, both counted in the original's layout?"""
    original = PUBLISHED[(task, "mixed")].rows
    rows = original_layout_rows(transitions, episode_ends)
    return original / MIXED_ROWS_FACTOR <= rows <= original * MIXED_ROWS_FACTOR


def check_against_published(
    spec: DatasetSpec, rows: int, mean: float, std: float, episode_ends: int = 0
) -> tuple[bool, str]:
    """Does a built dataset match the original closely enough? Returns (ok, the rule applied).

    ``rows`` are transitions; ``episode_ends`` (terminals and time-outs) matter for ``mixed`` only."""
    pub = spec.published
    if spec.level == "random":
        return pub.min <= mean <= pub.max, f"mean in published [min, max] = [{pub.min}, {pub.max}]"
    if spec.level == "medium":
        ok = abs(mean - pub.mean) <= MEDIUM_MEAN_TOLERANCE * abs(pub.mean)
        return ok, f"mean within ±{MEDIUM_MEAN_TOLERANCE:.0%} of {pub.mean}"
    if spec.level == "mixed":
        ok = mixed_rows_ok(spec.task, rows, episode_ends) and std >= MIXED_STD_FRACTION * pub.std
        layout = original_layout_rows(rows, episode_ends)
        return (
            ok,
            f"{layout:,} rows in the original layout within x{MIXED_ROWS_FACTOR:g} of {pub.rows:,}, "
            f"std >= {MIXED_STD_FRACTION * pub.std:.1f}",
        )
    expert = TASKS[spec.task].expert_return
    if spec.level == "expert":
        return (
            abs(mean - expert) <= EXPERT_TOLERANCE * expert,
            f"mean within ±{EXPERT_TOLERANCE:.0%} of D4RL expert {expert}",
        )
    return True, "medium + expert concatenated"
