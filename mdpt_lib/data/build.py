"""Build the bullet datasets locally from the committed behaviour-policy snapshots.

    ensure_built("bullet-hopper-medium-v0")   # -> path of the cached HDF5 file, built on first use

Rollout datasets (random, medium, expert) are ``ROWS`` environment steps of one snapshot, split into
``CHUNKS`` fixed pieces rolled out in parallel worker processes (numpy-only policy, one core each);
the pieces and their seeds do not depend on how many workers run, so the same seed gives the same
bytes on one machine (not across CPUs: rolled-out physics differs in its last bits between them).
``mixed`` (= ``medium-replay``) is the committed replay buffer; ``medium-expert`` concatenates
medium and expert.

Files are in D4RL layout with ``next_observations`` added, written under a temporary name and renamed
when complete, so a half-written file is never taken for a finished one.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing as mp
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from mdpt_lib.data.buffer import expand_buffer
from mdpt_lib.data.paths import behaviour_dir, cache_dir, snapshot_files
from mdpt_lib.data.policies import NumpyActor
from mdpt_lib.data.registry import ROWS, SAMPLED_LEVELS, get_dataset_spec
from mdpt_lib.envs import get_task, make_env

KEYS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
CHUNKS = 4
"""Fixed number of independently seeded pieces of a rollout dataset (each ends in a truncation)."""

ROLLOUT_LEVELS = {"random": False, "medium": True, "expert": True}
"""Rollout levels and whether their actor acts deterministically (``tanh(mean)``) in d4rl-pybullet's
recipe; ``sampled=True`` (D4RL's ids, ``DatasetSpec.sampled``) samples medium and expert too."""


class MissingSnapshotError(FileNotFoundError):
    """A behaviour-policy snapshot that the requested dataset needs is not in the repository."""


def dataset_file(
    task: str, level: str, seed: int = 0, rows: int = ROWS, sampled: bool = False
) -> Path:
    """Cache path of ``level`` data for ``task``; ids of both families that name the same data
    share one file (``sampled``: the D4RL rollouts, actions drawn from the actor's distribution).

    The name ends with a digest of the snapshot files the data is made from, so a new snapshot
    (a retrained or reselected behaviour policy) is never served from a build of the old one.
    """
    size = "" if rows == ROWS else f"-rows{rows}"
    digest = hashlib.sha1()
    for name in snapshot_files(level):
        digest.update(snapshot_path(task, name).read_bytes())
    if sampled and level in SAMPLED_LEVELS:  # random data is sampled in either recipe: one file
        level = f"{level}-sampled"
    stem = f"{get_task(task).name}-{level}-seed{seed}{size}-{digest.hexdigest()[:8]}"
    return cache_dir() / "datasets" / f"{stem}.hdf5"


def snapshot_path(task: str, name: str) -> Path:
    """A committed behaviour artifact (``random_actor.npz``, ``mixed.npz``, ...), or a clear error."""
    path = behaviour_dir() / get_task(task).name / name
    if not path.exists():
        raise MissingSnapshotError(
            f"{path} is missing: the behaviour policy of {task} has not reached this level yet. "
            f"Train it with `python -m mdpt_recipe train-behaviour --task {task}` (resumable), "
            "or put an original dataset file in $D4RL_DATASET_DIR."
        )
    return path


def rollout(
    task: str, actor_file: str, deterministic: bool, rows: int, seed: int, progress_queue=None
) -> dict[str, np.ndarray]:
    """``rows`` environment steps of the actor; the last episode is cut (a time-out) at ``rows``."""
    spec = get_task(task)
    actor = NumpyActor.load(actor_file)
    rng = np.random.default_rng(seed)
    env = make_env(spec.name)
    out = {
        "observations": np.empty((rows, spec.obs_dim), np.float32),
        "actions": np.empty((rows, spec.act_dim), np.float32),
        "rewards": np.empty(rows, np.float32),
        "next_observations": np.empty((rows, spec.obs_dim), np.float32),
        "terminals": np.zeros(rows, bool),
        "timeouts": np.zeros(rows, bool),
    }
    obs_buf, act_buf, rew_buf, next_buf = (out[k] for k in KEYS[:4])
    episode = 0
    obs, _ = env.reset(seed=seed * 1_000_003 + episode)
    step_fn = env.step
    report = 0
    for i in range(rows):
        noise = None if deterministic else rng.standard_normal(spec.act_dim, dtype=np.float32)
        action = actor(obs, noise)
        next_obs, reward, term, trunc, _ = step_fn(action)
        obs_buf[i], act_buf[i], rew_buf[i], next_buf[i] = obs, action, reward, next_obs
        if term or trunc:
            out["terminals"][i] = term
            out["timeouts"][i] = trunc and not term
            episode += 1
            obs, _ = env.reset(seed=seed * 1_000_003 + episode)
        else:
            obs = next_obs
        if progress_queue is not None and i - report >= 10_000:
            progress_queue.put(i - report)
            report = i
    if not (out["terminals"][-1] or out["timeouts"][-1]):
        out["timeouts"][-1] = True  # the dataset ends mid-episode: a truncation
    if progress_queue is not None:
        progress_queue.put(rows - report)
    env.close()
    return out


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Worker processes inherit one BLAS/OpenMP thread each (one worker per core, no oversubscription)."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict.fromkeys(keys, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def parallel_rollout(
    task: str,
    actor_file: Path,
    deterministic: bool,
    rows: int,
    seed: int,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "",
) -> dict[str, np.ndarray]:
    """``rows`` steps as ``CHUNKS`` seeded pieces over ``workers`` processes (default: one per core)."""
    sizes = [rows // CHUNKS + (k < rows % CHUNKS) for k in range(CHUNKS)]
    seeds = [seed * 1000 + k for k in range(CHUNKS)]
    workers = max(1, min(workers or os.cpu_count() or 1, CHUNKS))
    # fork: workers run numpy and pybullet only, and a forked worker does not re-import the caller's
    # script (spawn would, and fails in a script without an ``if __name__ == "__main__"`` guard)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with (
        _single_threaded_children(),
        ctx.Manager() as manager,
        ProcessPoolExecutor(workers, ctx) as pool,
    ):
        queue = manager.Queue()
        futures = [
            pool.submit(rollout, task, str(actor_file), deterministic, n, s, queue)
            for n, s in zip(sizes, seeds, strict=True)
        ]
        with tqdm(
            total=rows, desc=desc or f"building {task}", unit="step", disable=not progress
        ) as bar:
            done = 0
            while done < rows:
                step = queue.get()
                done += step
                bar.update(step)
        pieces = [f.result() for f in futures]
    return {k: np.concatenate([p[k] for p in pieces]) for k in KEYS}


def write_hdf5(path: Path, data: dict[str, np.ndarray], attrs: dict[str, str | int]) -> None:
    """Write D4RL-layout arrays (plus ``next_observations``) atomically; deterministic bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with h5py.File(tmp, "w", track_order=False) as f:
        for key in KEYS:
            f.create_dataset(key, data=data[key], track_times=False)
        for k, v in attrs.items():
            f.attrs[k] = v
    os.replace(tmp, path)


def read_hdf5(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in KEYS}


def build(
    task: str,
    level: str,
    seed: int = 0,
    rows: int = ROWS,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    sampled: bool = False,
) -> Path:
    """The cached file of ``level`` data for ``task``: built first if it is not there, or rebuilt
    in place when ``overwrite``. ``sampled``: medium and expert actions drawn from the actor's
    distribution (D4RL's ids) instead of its mean (d4rl-pybullet's)."""
    task = get_task(task).name
    path = dataset_file(task, level, seed, rows, sampled)
    if path.exists() and not overwrite:
        return path
    attrs = {"task": task, "level": level, "seed": seed, "builder": "mdpt_lib.data.build"}
    if level in ROLLOUT_LEVELS:
        actor = snapshot_path(task, f"{level}_actor.npz")
        deterministic = ROLLOUT_LEVELS[level] and not sampled
        attrs["actions"] = "tanh(mean)" if deterministic else "sampled"
        data = parallel_rollout(
            task,
            actor,
            deterministic,
            rows,
            seed,
            workers,
            progress,
            desc=f"{task}-{level}",
        )
    elif level == "mixed":
        with np.load(snapshot_path(task, "mixed.npz")) as f:
            data = expand_buffer(dict(f))
    elif level == "medium-expert":
        parts = [
            read_hdf5(build(task, lv, seed, rows, workers, progress, sampled=sampled))
            for lv in ("medium", "expert")
        ]
        data = {k: np.concatenate([p[k] for p in parts]) for k in KEYS}
    else:
        raise ValueError(f"unknown level {level!r}")
    write_hdf5(path, data, attrs)
    return path


def ensure_built(
    dataset_id: str, progress: bool = True, workers: int | None = None, overwrite: bool = False
) -> Path:
    """Path of the finished local build of registry id ``dataset_id`` (built on first use, or
    rebuilt when ``overwrite``)."""
    spec = get_dataset_spec(dataset_id)
    return build(
        spec.task,
        spec.level,
        workers=workers,
        progress=progress,
        overwrite=overwrite,
        sampled=spec.sampled,
    )


def spec_file(dataset_id: str, rows: int = ROWS) -> Path:
    """Cache path of registry id ``dataset_id``'s build (built or not)."""
    spec = get_dataset_spec(dataset_id)
    return dataset_file(spec.task, spec.level, rows=rows, sampled=spec.sampled)
