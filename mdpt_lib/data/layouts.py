"""The two original HDF5 layouts and their conversion to D4RL-convention transitions.

"Transitions", the convention every loader returns, is a plain dict of numpy arrays:

    observations       (N, obs_dim) float32   s_i
    actions            (N, act_dim) float32   a_i
    rewards            (N,)         float32   r_i = r(s_i, a_i), aligned with its own row
    next_observations  (N, obs_dim) float32   s'_i
    terminals          (N,)         bool      s'_i is a true end (a fall): never bootstrap from it
    timeouts           (N,)         bool      the episode stops after row i without terminating
                                              (1000-step time limit, or end of the data)

An episode ends at a row with ``terminals | timeouts``; the two are never both True, and a
time-limit end is always a time-out, never a terminal.

The originals come in two layouts (the book's chapter on offline RL on bullet, ``book/offline_rl_bullet.md``):
- d4rl-pybullet: ``rewards`` and ``terminals`` of shape (N, 1), rows shifted by one
  (row t holds ``(s_t, a_t, r_{t-1}, done_{t-1})``), no ``timeouts``: ``from_d4rl_pybullet``.
- D4RL: ``rewards``, ``terminals``, ``timeouts`` of shape (N,), no shift, ``next_observations``
  optional: ``from_d4rl``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from mdpt_lib.envs import MAX_EPISODE_STEPS, TASKS, Task, get_task

__all__ = [
    "TRANSITION_KEYS",
    "DatasetError",
    "detect_layout",
    "episode_count",
    "episode_returns",
    "from_d4rl",
    "from_d4rl_pybullet",
    "validate_transitions",
]

TRANSITION_KEYS = (
    "observations",
    "actions",
    "rewards",
    "next_observations",
    "terminals",
    "timeouts",
)
"""The keys of a transitions dict, in order."""

Layout = Literal["d4rl-pybullet", "d4rl"]


class DatasetError(ValueError):
    """A dataset that cannot be used as it is; the message names its source, the problem, the fix."""


def _require(arrays: Mapping, keys: tuple[str, ...], source: str, layout: str) -> None:
    missing = [k for k in keys if k not in arrays]
    if missing:
        found = ", ".join(sorted(arrays)) or "nothing"
        raise DatasetError(
            f"{source}: missing {', '.join(missing)}. The {layout} layout needs "
            f"{', '.join(keys)}; found {found}. Check that this is a {layout} dataset and that it "
            "was written completely."
        )


def _vector(x, key: str, source: str) -> np.ndarray:
    """``x`` as a 1-D array; an (N, 1) column is flattened to (N,)."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise DatasetError(
            f"{source}: {key} has shape {x.shape}, expected (N,) or (N, 1). "
            "Pass one value per transition."
        )
    return x


def _flags(x, key: str, source: str) -> np.ndarray:
    """``x`` as an (N,) bool array; numbers must be 0 or 1."""
    x = _vector(x, key, source)
    if x.dtype == np.bool_:
        return x
    try:
        bad = ~((x == 0) | (x == 1))
    except TypeError as exc:  # strings, objects
        raise DatasetError(f"{source}: {key} has dtype {x.dtype}, expected booleans.") from exc
    if bad.any():
        raise DatasetError(
            f"{source}: {key} must hold booleans or 0/1, but {int(bad.sum())} of {len(x)} rows "
            f"hold other values (first at row {int(np.argmax(bad))}: {x[bad][0]!r}). "
            "Repair or rebuild the dataset."
        )
    return x != 0


def _check_lengths(arrays: Mapping[str, np.ndarray], source: str) -> int:
    """The common row count of ``arrays``; raise if they differ or hold no rows."""
    for k, v in arrays.items():
        if np.ndim(v) == 0:
            raise DatasetError(f"{source}: {k} is a scalar, expected one row per transition.")
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{k} {n}" for k, n in lengths.items())
        raise DatasetError(
            f"{source}: the arrays differ in length ({listed} rows); every array needs one row "
            "per transition. The data is probably truncated or mixed from different datasets: "
            "rebuild or re-export it."
        )
    n = next(iter(lengths.values()))
    if n == 0:
        raise DatasetError(f"{source}: the dataset holds no rows. Rebuild or re-export it.")
    return n


def _step_in_segment(ends: np.ndarray) -> np.ndarray:
    """(N,) int: index of each row within its segment, a segment ending at each True of ``ends``."""
    segment = np.cumsum(ends) - ends  # ends before row i
    starts = np.concatenate(([0], np.flatnonzero(ends) + 1))
    return np.arange(len(ends)) - starts[segment]


def _task_with_obs_dim(dim: int) -> str:
    names = [t.name for t in TASKS.values() if t.obs_dim == dim]
    return f" ({dim} is the observation size of {' / '.join(names)})" if names else ""


def validate_transitions(
    data: Mapping[str, np.ndarray], task: str | Task | None = None, source: str = "dict"
) -> dict[str, np.ndarray]:
    """Check a transitions dict and return it with the convention's dtypes (copies only if needed).

    Requires ``observations`` (N, obs), ``actions`` (N, act), ``rewards`` (N,) or (N, 1),
    ``next_observations`` (N, obs), ``terminals`` (N,); ``timeouts`` may be absent (all False).
    Other keys are dropped. With ``task`` given, obs/action sizes are checked against it.
    Raises ``DatasetError`` (naming ``source``) for missing keys, bad shapes or lengths, wrong
    sizes, NaN/inf values, non-0/1 flags, and rows marked both terminal and time-out.
    """
    if not isinstance(data, Mapping):
        raise DatasetError(
            f"{source}: expected a dict of numpy arrays with keys {', '.join(TRANSITION_KEYS)}, "
            f"got {type(data).__name__}."
        )
    missing = [k for k in TRANSITION_KEYS if k != "timeouts" and k not in data]
    if missing:
        fix = f"Pass a dict with keys {', '.join(TRANSITION_KEYS)} (timeouts optional)."
        if "next_observations" in missing:
            fix += (
                " next_observations[i] is the observation after actions[i] (observations[i + 1]"
                " within an episode); a D4RL-layout dict without it can be converted with"
                " mdpt_lib.data.layouts.from_d4rl(arrays, task), which derives it as D4RL's"
                " qlearning_dataset does."
            )
        raise DatasetError(f"{source}: missing {', '.join(missing)}. {fix}")

    out: dict[str, np.ndarray] = {}
    for key in ("observations", "actions", "rewards", "next_observations"):
        x = _vector(data[key], key, source) if key == "rewards" else np.asarray(data[key])
        if key != "rewards" and x.ndim != 2:
            raise DatasetError(f"{source}: {key} has shape {x.shape}, expected (N, size).")
        try:
            out[key] = x.astype(np.float32, copy=False)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{source}: {key} has dtype {x.dtype}, expected numbers.") from exc
    out["terminals"] = _flags(data["terminals"], "terminals", source)
    if data.get("timeouts") is None:
        out["timeouts"] = np.zeros(len(out["terminals"]), dtype=bool)
    else:
        out["timeouts"] = _flags(data["timeouts"], "timeouts", source)
    n = _check_lengths(out, source)

    obs_dim, act_dim = out["observations"].shape[1], out["actions"].shape[1]
    if out["next_observations"].shape[1] != obs_dim:
        raise DatasetError(
            f"{source}: next_observations have {out['next_observations'].shape[1]} dimensions but "
            f"observations have {obs_dim}; they must match."
        )
    if task is not None:
        t = get_task(task)
        if obs_dim != t.obs_dim:
            raise DatasetError(
                f"{source}: observations have {obs_dim} dimensions but task {t.name!r} expects "
                f"{t.obs_dim}{_task_with_obs_dim(obs_dim)}. Check that the data belongs to "
                f"{t.name}, or pass the right task=."
            )
        if act_dim != t.act_dim:
            raise DatasetError(
                f"{source}: actions have {act_dim} dimensions but task {t.name!r} expects "
                f"{t.act_dim}. Check that the data belongs to {t.name}, or pass the right task=."
            )

    for key in ("observations", "actions", "rewards", "next_observations"):
        bad = ~np.isfinite(out[key]).reshape(n, -1).all(axis=1)
        if bad.any():
            raise DatasetError(
                f"{source}: {key} has NaN or inf values in {int(bad.sum())} of {n} rows (first at "
                f"row {int(np.argmax(bad))}). Remove or repair those rows, or rebuild the dataset."
            )
    both = out["terminals"] & out["timeouts"]
    if both.any():
        raise DatasetError(
            f"{source}: {int(both.sum())} rows are marked both terminal and timeout (first at row "
            f"{int(np.argmax(both))}); a row is one or the other. A true end wins: set "
            "timeouts = timeouts & ~terminals."
        )
    return out


def detect_layout(arrays: Mapping[str, np.ndarray], *, source: str = "arrays") -> Layout:
    """``"d4rl"`` if there are ``timeouts`` or ``next_observations`` or (N,) rewards;
    ``"d4rl-pybullet"`` if ``rewards`` (or ``terminals``) has shape (N, 1) and no ``timeouts``."""
    if "timeouts" in arrays or "next_observations" in arrays:
        return "d4rl"
    _require(arrays, ("rewards", "terminals"), source, "dataset")
    shapes = [np.shape(arrays[k]) for k in ("rewards", "terminals")]
    if any(len(s) == 2 and s[1] == 1 for s in shapes):
        return "d4rl-pybullet"
    if len(shapes[0]) == 1:
        return "d4rl"
    raise DatasetError(
        f"{source}: rewards has shape {shapes[0]}: expected (N, 1) (d4rl-pybullet layout) or "
        "(N,) (D4RL layout). This is not a dataset file of either family."
    )


def from_d4rl_pybullet(
    arrays: Mapping[str, np.ndarray], task: str | Task, *, source: str = "arrays"
) -> dict[str, np.ndarray]:
    """Transitions from the d4rl-pybullet layout.

    Input: ``observations`` (N, obs), ``actions`` (N, act), ``rewards`` (N, 1), ``terminals``
    (N, 1), where row t holds ``(s_t, a_t, r_{t-1}, done_{t-1})``, each episode's first row has
    reward 0 and each episode end is followed by an extra row ``(s_T, 0, r_T, True)``.

    Every row i with ``terminals[i] == 0`` and ``i + 1 < N`` gives ``(obs[i], act[i], rewards[i+1],
    obs[i+1])`` with done ``terminals[i+1]``. A done after exactly ``MAX_EPISODE_STEPS`` steps of
    its episode, and every done of a task that never terminates early (halfcheetah), is a time-out.
    A last episode cut by the end of the file (no extra row) keeps its transitions up to its last
    stored observation, the last one marked a time-out; its last row (whose reward and next
    observation are not stored) gives no transition.
    """
    t = get_task(task)
    _require(arrays, ("observations", "actions", "rewards", "terminals"), source, "d4rl-pybullet")
    obs, act = np.asarray(arrays["observations"]), np.asarray(arrays["actions"])
    rew = _vector(arrays["rewards"], "rewards", source)
    done = _flags(arrays["terminals"], "terminals", source)
    n = _check_lengths(
        {"observations": obs, "actions": act, "rewards": rew, "terminals": done}, source
    )

    i = np.flatnonzero(~done[:-1])  # rows that start a transition (not extra rows, not the last)
    ended = done[i + 1]
    at_limit = _step_in_segment(done)[i] + 1 >= MAX_EPISODE_STEPS
    timeout = ended & (at_limit | (not t.terminates_early))
    if n >= 2 and not done[-1] and not done[-2]:
        # i[-1] == n - 2 is the last transition of an episode cut by the end of the file
        timeout[-1] = True
    out = {
        "observations": obs[i],
        "actions": act[i],
        "rewards": rew[i + 1],
        "next_observations": obs[i + 1],
        "terminals": ended & ~timeout,
        "timeouts": timeout,
    }
    return validate_transitions(out, t, source)


def from_d4rl(
    arrays: Mapping[str, np.ndarray], task: str | Task, *, source: str = "arrays"
) -> dict[str, np.ndarray]:
    """Transitions from the D4RL layout.

    Input: ``observations`` (N, obs), ``actions`` (N, act), ``rewards`` (N,), ``terminals`` (N,),
    ``timeouts`` (N,), ``next_observations`` (N, obs) optional. A row marked both terminal and
    time-out counts as terminal. Without ``timeouts``, a row is a time-out when it is the
    ``MAX_EPISODE_STEPS``-th since the last end (D4RL's ``qlearning_dataset`` rule).

    With ``next_observations``: every row is kept as it is (flags too, a last unfinished row
    included).
    Without (D4RL's ``qlearning_dataset``): row i gives ``(obs[i], act[i], rewards[i], obs[i+1])``.
    - A time-out row is dropped (its next observation is not stored); the kept row before it in
      the same episode becomes the episode's last, marked a time-out.
    - A terminal row keeps ``obs[i+1]`` as next observation (the next episode's first, as in
      D4RL); it is never bootstrapped from.
    - The file's last row: kept if terminal, with next observation = its own observation (unknown,
      never bootstrapped); otherwise dropped like a time-out row (an episode cut by the end of the
      file), the row before it marked a time-out.
    """
    t = get_task(task)
    _require(arrays, ("observations", "actions", "rewards", "terminals"), source, "D4RL")
    obs, act = np.asarray(arrays["observations"]), np.asarray(arrays["actions"])
    rew = _vector(arrays["rewards"], "rewards", source)
    term = _flags(arrays["terminals"], "terminals", source)
    columns = {"observations": obs, "actions": act, "rewards": rew, "terminals": term}
    if "timeouts" in arrays:
        columns["timeouts"] = _flags(arrays["timeouts"], "timeouts", source)
    if "next_observations" in arrays:
        columns["next_observations"] = np.asarray(arrays["next_observations"])
    n = _check_lengths(columns, source)
    if "timeouts" in columns:
        timeouts = columns["timeouts"] & ~term
    else:
        timeouts = (_step_in_segment(term) % MAX_EPISODE_STEPS == MAX_EPISODE_STEPS - 1) & ~term

    if "next_observations" in columns:
        return validate_transitions({**columns, "timeouts": timeouts}, t, source)

    drop = timeouts.copy()
    drop[-1] = not term[-1]
    new_end = np.zeros(n, dtype=bool)  # kept rows followed by a dropped row of their episode
    new_end[:-1] = drop[1:] & ~(term[:-1] | timeouts[:-1])
    keep = np.flatnonzero(~drop)
    out = {
        "observations": obs[keep],
        "actions": act[keep],
        "rewards": rew[keep],
        "next_observations": obs[np.minimum(keep + 1, n - 1)],
        "terminals": term[keep],
        "timeouts": new_end[keep],
    }
    return validate_transitions(out, t, source)


def _ends(data: Mapping[str, np.ndarray]) -> np.ndarray:
    ends = np.asarray(data["terminals"], dtype=bool).reshape(-1)
    if data.get("timeouts") is not None:
        ends = ends | np.asarray(data["timeouts"], dtype=bool).reshape(-1)
    return ends


def episode_returns(data: Mapping[str, np.ndarray]) -> np.ndarray:
    """(E,) float64 undiscounted return of each episode of a transitions dict, in order.

    Episodes end at rows with ``terminals | timeouts``; rows after the last end (an unfinished
    segment) count as one more episode.
    """
    ends = _ends(data)
    if len(ends) == 0:
        return np.zeros(0)
    episode = np.cumsum(ends) - ends
    return np.bincount(episode, weights=np.asarray(data["rewards"], np.float64).reshape(-1))


def episode_count(data: Mapping[str, np.ndarray]) -> int:
    """Number of episodes of a transitions dict, counted as in ``episode_returns``."""
    ends = _ends(data)
    return int(ends.sum()) + int(len(ends) > 0 and not ends[-1])
