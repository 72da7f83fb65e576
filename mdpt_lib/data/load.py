"""Load a dataset as D4RL-convention transitions (see ``layouts``) from a dict, a file, or an id.

data = load_dataset("hopper-bullet-mixed-v0")          # original file if present, else the build
data = load_dataset("copies/hopper-bullet-mixed-v0.hdf5")  # either layout; task from the name
data = load_dataset(my_dict, task="hopper")             # checked and cast
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from mdpt_lib.data.layouts import (
    TRANSITION_KEYS,
    DatasetError,
    detect_layout,
    from_d4rl,
    from_d4rl_pybullet,
    validate_transitions,
)
from mdpt_lib.data.paths import original_dir
from mdpt_lib.data.registry import DATASETS, get_dataset_spec
from mdpt_lib.envs import TASKS, Task, get_task

__all__ = ["load_dataset"]

_FIX_USER_FILE = (
    "Copy the original file again; if it is a file of the mdpt cache, delete it and it will be "
    "rebuilt on the next load."
)


def load_dataset(
    name_or_data: str | os.PathLike | Mapping[str, np.ndarray],
    task: str | Task | None = None,
    verbose: bool = True,
) -> dict[str, np.ndarray]:
    """Transitions (plain dict of numpy arrays, see ``layouts``) from a dict, an HDF5 file or an id.

    - a dict: checked by ``validate_transitions`` (sizes checked against ``task`` if given);
    - a path (a ``Path``, an existing file, a name ending in .hdf5/.h5, or containing a '/'): an HDF5
      file of either layout; the task is ``task``, else the one of a dataset id in the file name,
      else the only task with that observation size;
    - a dataset id (``mdpt_lib.data.registry``): ``$D4RL_DATASET_DIR/<id>.hdf5`` (or ``.h5``) if
      present, else the local build (``mdpt_lib.data.build.ensure_built``, built if needed).
    """
    if isinstance(name_or_data, Mapping):
        return validate_transitions(name_or_data, task, source="dict")
    if not isinstance(name_or_data, str | os.PathLike):
        raise TypeError(
            "load_dataset takes a dataset id, a path to an HDF5 file or a dict of arrays, "
            f"got {type(name_or_data).__name__}"
        )
    if _is_path(name_or_data):
        return _load_file(Path(name_or_data).expanduser(), task, _FIX_USER_FILE)

    spec = get_dataset_spec(str(name_or_data))  # an unknown id raises UnknownDatasetError
    if task is not None and get_task(task).name != spec.task:
        raise DatasetError(
            f"{spec.id}: this is a {spec.task} dataset but task={get_task(task).name!r} was given. "
            "Leave task= out for dataset ids."
        )
    original = _original_file(spec.id)
    if original is not None:
        if verbose:
            print(f"{spec.id}: using the original file at {original}")
        fix = "Copy the original file again, or remove it to use the local build instead."
        return _load_file(original, spec.task, fix)

    from mdpt_lib.data.build import ensure_built

    path = Path(ensure_built(spec.id, progress=verbose))
    fix = f"Delete it: load_dataset({spec.id!r}) will build it again."
    return _load_file(path, spec.task, fix)


def _is_path(x: str | os.PathLike) -> bool:
    if not isinstance(x, str):
        return True
    return Path(x).expanduser().is_file() or x.endswith((".hdf5", ".h5")) or "/" in x or os.sep in x


def _original_file(dataset_id: str) -> Path | None:
    folder = original_dir()
    if folder is None:
        return None
    for suffix in (".hdf5", ".h5"):
        if (folder / f"{dataset_id}{suffix}").is_file():
            return folder / f"{dataset_id}{suffix}"
    return None


def _read_hdf5(path: Path, fix: str) -> dict[str, np.ndarray]:
    """The datasets of ``path`` that a layout uses, read into memory."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file. Check the path (and the working directory).")
    if path.is_dir():
        raise DatasetError(f"{path}: is a folder, not an HDF5 file. Give the path of the file.")
    try:
        with h5py.File(path, "r") as f:
            return {
                k: f[k][()] for k in TRANSITION_KEYS if k in f and isinstance(f[k], h5py.Dataset)
            }
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise DatasetError(
            f"{path}: cannot be read as an HDF5 file; it looks truncated or corrupt (h5py: {exc}). "
            f"{fix}"
        ) from exc


def _task_from_file(path: Path, arrays: Mapping[str, np.ndarray]) -> str:
    """The task of a dataset id in the file name, else the only task with its observation size."""
    ids = [i for i in DATASETS if i in path.name]
    if ids:
        return DATASETS[max(ids, key=len)].task
    if "observations" not in arrays or np.ndim(arrays["observations"]) != 2:
        raise DatasetError(
            f"{path}: no 'observations' dataset of shape (N, obs_dim): this is not a dataset file "
            f"of either layout (found: {', '.join(sorted(arrays)) or 'no known datasets'})."
        )
    dim = arrays["observations"].shape[1]
    matches = [t.name for t in TASKS.values() if t.obs_dim == dim]
    if len(matches) != 1:
        sizes = ", ".join(f"{t.name} {t.obs_dim}" for t in TASKS.values())
        raise DatasetError(
            f"{path}: cannot tell the task: the file name holds no dataset id and observation size "
            f"{dim} matches {' and '.join(matches) or 'no task'} ({sizes}). Pass task=."
        )
    return matches[0]


def _load_file(path: Path, task: str | Task | None, fix: str) -> dict[str, np.ndarray]:
    arrays = _read_hdf5(path, fix)
    task = get_task(task) if task is not None else _task_from_file(path, arrays)
    source = str(path)
    if detect_layout(arrays, source=source) == "d4rl-pybullet":
        return from_d4rl_pybullet(arrays, task, source=source)
    return from_d4rl(arrays, task, source=source)


def data_fingerprint(data: Mapping[str, np.ndarray]) -> dict:
    """What identifies a build's content: a digest of its transitions and the statistics that set
    the critics' reward scale. Datasets rolled out from behaviour snapshots (``medium``, ``random``)
    are not bit-identical between machines, so two files of the same name can hold different
    episodes (results/README.md gives a measured case); this tells them apart."""
    import hashlib

    from mdpt_lib.replay import episode_returns, reward_scale_factor

    digest = hashlib.sha256()
    for key in ("observations", "actions", "rewards", "terminals", "timeouts"):
        if key in data:
            digest.update(np.ascontiguousarray(data[key]).tobytes())
    returns = episode_returns(data)
    return {
        "sha256": digest.hexdigest()[:16],
        "episodes": len(returns),
        "mean_return": float(returns.mean()),
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "reward_scale": float(reward_scale_factor(data)),
    }
