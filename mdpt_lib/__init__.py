"""mdpt_lib: Modular Diffusion Policy Training (arXiv:2506.03154) for offline RL on PyBullet tasks.

    agent = mdpt_lib.fit("bullet-hopper-medium-v0", algo="dql", mode="guidance_first", steps=20_000)
    result = mdpt_lib.evaluate(agent, episodes=10, seed=0)

Importing the package is cheap: torch and the bullet packages load when first used.
"""

from mdpt_lib.envs import TASKS, Task, UnknownTaskError, get_task, make_env, normalized_score

__version__ = "0.1.0"

_LAZY = {
    "fit": "mdpt_lib.agent",
    "load": "mdpt_lib.agent",
    "Agent": "mdpt_lib.agent",
    "evaluate": "mdpt_lib.evaluation",
    "EvalResult": "mdpt_lib.evaluation",
    "load_dataset": "mdpt_lib.data.load",
    "load_guidance": "mdpt_lib.guidance",
    "hparams": "mdpt_lib.config",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mdpt_lib' has no attribute {name!r}")


__all__ = [
    "TASKS",
    "Agent",
    "EvalResult",
    "Task",
    "UnknownTaskError",
    "__version__",
    "evaluate",
    "fit",
    "get_task",
    "hparams",
    "load",
    "load_dataset",
    "load_guidance",
    "make_env",
    "normalized_score",
]
