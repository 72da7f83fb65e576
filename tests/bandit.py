"""A one-step bandit with two action modes, the smallest problem where guidance must choose.

States are random hopper-sized observations; half the actions sit near ``+MODE`` (reward 1 by default),
half near ``-MODE`` (reward 0); every transition is terminal, so Q(s, a) is the reward.
"""

import numpy as np

MODE = 0.6


def bandit(
    n: int = 4000, seed: int = 0, good: float = +1.0, obs_dim: int = 15, act_dim: int = 3
) -> dict:
    """Transitions dict; ``good`` (+1 or -1) is the sign of the rewarded mode."""
    rng = np.random.default_rng(seed)
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    actions = np.clip(sign[:, None] * MODE + 0.05 * rng.standard_normal((n, act_dim)), -1, 1)
    return {
        "observations": rng.standard_normal((n, obs_dim)).astype(np.float32),
        "actions": actions.astype(np.float32),
        "rewards": (sign == good).astype(np.float32),
        "next_observations": rng.standard_normal((n, obs_dim)).astype(np.float32),
        "terminals": np.ones(n, bool),
        "timeouts": np.zeros(n, bool),
    }


def mode_fractions(actions: np.ndarray) -> tuple[float, float]:
    """(fraction near +MODE, fraction near -MODE) of actions (B, act_dim)."""
    mean = actions.mean(1)
    return float((mean > MODE / 2).mean()), float((mean < -MODE / 2).mean())


def run_interrupted(trainer, at_step: int) -> None:
    """Run ``trainer`` until its stage-2 step ``at_step``, then stop it as Ctrl-C would."""
    step = trainer.diffusion_step

    def interrupted():
        if trainer.step == at_step:
            raise KeyboardInterrupt
        return step()

    trainer.diffusion_step = interrupted
    try:
        trainer.run(progress=False)
    except KeyboardInterrupt:
        return
    raise AssertionError(f"the run ended before step {at_step}")
