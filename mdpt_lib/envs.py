"""The four PyBullet locomotion tasks: the single registry of names, ids, sizes and reference returns.

Every other part of the project (data, training, notebooks, book, tests) reads task facts from
``TASKS`` here and never repeats them.

Environments come from ``pybullet_envs_gymnasium`` (Gymnasium API: ``reset(seed=)`` and the
5-tuple ``step``), a port of ``pybullet_envs`` with the same dynamics; the original
``pybullet_envs`` cannot be imported with gym >= 0.24.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_EPISODE_STEPS",
    "TASKS",
    "Task",
    "UnknownTaskError",
    "get_task",
    "make_env",
    "normalized_score",
    "quiet_bullet",
]

MAX_EPISODE_STEPS = 1000
"""Time limit of every task (steps); an episode cut here ends in a time-out, not a terminal."""


@dataclass(frozen=True)
class Task:
    """One locomotion task.

    ``random_return`` and ``expert_return`` are D4RL's reference returns for its bullet datasets;
    they define the normalised score (0 = random, 100 = expert).
    """

    name: str
    env_id: str
    obs_dim: int
    act_dim: int
    random_return: float
    expert_return: float
    terminates_early: bool


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("hopper", "HopperBulletEnv-v0", 15, 3, 20.06, 1441.81, True),
        Task("halfcheetah", "HalfCheetahBulletEnv-v0", 26, 6, -1275.77, 2381.67, False),
        Task("walker2d", "Walker2DBulletEnv-v0", 22, 6, 16.52, 1623.65, True),
        Task("ant", "AntBulletEnv-v0", 28, 8, 373.71, 2650.50, True),
    )
}


class UnknownTaskError(ValueError):
    """A task name that is not one of ``TASKS``."""


def get_task(task: str | Task) -> Task:
    """Return the ``Task`` named ``task`` (case-insensitive); raise ``UnknownTaskError`` otherwise."""
    if isinstance(task, Task):
        return task
    key = str(task).strip().lower()
    if key not in TASKS:
        valid = ", ".join(TASKS)
        raise UnknownTaskError(f"unknown task {task!r}: valid task names are {valid}")
    return TASKS[key]


@contextlib.contextmanager
def quiet_bullet() -> Iterator[None]:
    """Silence what the bullet packages print while they load and connect.

    pybullet writes its build time to C ``stderr`` on import and ``argv[0]=`` to C ``stdout`` on
    every physics-server connection, straight to file descriptors 1 and 2, so redirecting
    ``sys.stdout`` is not enough. Python exceptions raised inside still propagate normally.
    """
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        with open(os.devnull, "w") as devnull, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fd in saved:
                os.dup2(devnull.fileno(), fd)
            try:
                yield
            finally:
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                _libc_fflush()  # C stdio buffers may still hold pybullet's text: send it to devnull
                for fd, copy in saved.items():
                    os.dup2(copy, fd)
    finally:
        for copy in saved.values():
            os.close(copy)


def _libc_fflush() -> None:
    """Flush every C ``FILE*`` stream (``fflush(NULL)``), so buffered C output goes where fd 1 points now."""
    # no libc symbol table (unusual platforms): nothing to flush
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


def _register_bullet_envs() -> None:
    """Import ``pybullet_envs_gymnasium`` (which registers the ids) once, quietly."""
    if "pybullet_envs_gymnasium" in sys.modules:
        return
    with quiet_bullet():
        import pybullet_envs_gymnasium  # noqa: F401


def make_env(task: str | Task, seed: int | None = None):
    """Make the Gymnasium environment of ``task`` with a 1000-step time limit.

    The environment is reset once here (that first reset loads pybullet and connects to its physics
    server, which we keep quiet). With ``seed`` given, that reset and the action space are seeded, so
    the same seed gives the same first observation (``env.reset()`` afterwards continues that stream).
    """
    import gymnasium as gym

    spec = get_task(task)
    _register_bullet_envs()
    with quiet_bullet():
        env = gym.make(spec.env_id, max_episode_steps=MAX_EPISODE_STEPS)
        env.reset(seed=seed)  # the first reset imports pybullet and connects: keep it quiet
    if seed is not None:
        env.action_space.seed(seed)
    return env


def normalized_score(task: str | Task, returns: float | np.ndarray) -> float | np.ndarray:
    """D4RL normalised score: ``100 * (R - R_random) / (R_expert - R_random)``.

    ``returns`` are undiscounted episode returns (a scalar or an array of any shape).
    """
    spec = get_task(task)
    score = (
        100.0
        * (np.asarray(returns, dtype=np.float64) - spec.random_return)
        / (spec.expert_return - spec.random_return)
    )
    return float(score) if np.ndim(score) == 0 else score
