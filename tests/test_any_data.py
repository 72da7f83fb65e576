"""A user's own data needs none of the four tasks: fit, act, save, load and swap on any sizes."""

import numpy as np
import pytest

import mdpt_lib
from mdpt_lib.data.layouts import DatasetError

SMALL = {"hidden": 32, "critic_hidden": 32, "batch_size": 32, "progress": False}


def toy(n: int = 2000, obs_dim: int = 4, act_dim: int = 2, seed: int = 0) -> dict:
    """A one-step problem of no simulator: reward = first action coordinate."""
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, (n, act_dim)).astype(np.float32)
    return {
        "observations": rng.standard_normal((n, obs_dim)).astype(np.float32),
        "actions": actions,
        "rewards": actions[:, 0].copy(),
        "next_observations": rng.standard_normal((n, obs_dim)).astype(np.float32),
        "terminals": np.ones(n, bool),
    }


def test_fit_act_save_load_and_swap_without_a_task(tmp_path):
    dql = mdpt_lib.fit(toy(), algo="dql", steps=20, seed=0, **SMALL)
    idql = mdpt_lib.fit(toy(seed=1), algo="idql", steps=20, seed=1, **SMALL)
    assert dql.task is None and dql.info.obs_dim == 4 and dql.info.act_dim == 2
    obs = np.zeros((5, 4), np.float32)
    assert dql.act(obs).shape == (5, 2) and dql.act(obs[0]).shape == (2,)
    with pytest.warns(mdpt_lib.guidance.DatasetMismatchWarning):  # other arrays, same sizes
        assert dql.act(obs, guidance=idql.guidance).shape == (5, 2)
    loaded = mdpt_lib.load(dql.save(tmp_path / "toy.pt"))
    assert loaded.task is None and loaded.act(obs).shape == (5, 2)
    with pytest.raises(ValueError, match="no known task"):
        mdpt_lib.evaluate(dql)
    with pytest.raises(ValueError, match="hopper"):  # a task of other sizes is refused too
        mdpt_lib.evaluate(dql, task="hopper")


def test_actions_outside_the_unit_box_are_refused_with_the_fix():
    data = toy()
    data["actions"] = data["actions"] * 2.0
    with pytest.raises(DatasetError, match=r"outside \[-1, 1\].*rescale"):
        mdpt_lib.fit(data, algo="dql", steps=2, **SMALL)
    data = toy()
    data["actions"][0, 0] = 1 + 1e-6  # rounding at the bound: clipped, accepted
    assert mdpt_lib.fit(data, algo="dql", steps=2, **SMALL).info.act_dim == 2
