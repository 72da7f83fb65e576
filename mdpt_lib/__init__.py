"""mdpt_lib: Modular Diffusion Policy Training (arXiv:2506.03154) for offline RL on PyBullet tasks.

The package imports nothing heavy at start-up: torch, pybullet and Gymnasium load when first used.
"""

from mdpt_lib.envs import TASKS, Task, UnknownTaskError, get_task, make_env, normalized_score

__version__ = "0.1.0"

__all__ = [
    "TASKS",
    "Task",
    "UnknownTaskError",
    "__version__",
    "get_task",
    "make_env",
    "normalized_score",
]
