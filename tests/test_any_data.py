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


def test_a_compact_agent_acts_like_the_full_one_at_a_fraction_of_the_size(tmp_path):
    import torch

    agent = mdpt_lib.fit(toy(), algo="idql", steps=300, seed=0, candidates=8, **SMALL)
    full = agent.save(tmp_path / "full.pt")
    small = agent.save(tmp_path / "small.pt", compact=True)
    assert small.stat().st_size < 0.4 * full.stat().st_size
    back = mdpt_lib.load(small)
    obs = np.random.default_rng(1).standard_normal((64, 4)).astype(np.float32)
    actions = []
    for a in (agent, back):
        torch.manual_seed(0)
        actions.append(a.act(obs))
    # the same candidates to float16 precision, so nearly always the same choices
    close = np.isclose(actions[0], actions[1], atol=2e-2).all(axis=1)
    assert close.mean() > 0.9
    x, u = torch.as_tensor(obs)[None], torch.zeros(1, 64, 2)
    q_full, q_small = agent.guidance.score(x, u), back.guidance.score(x, u)
    torch.testing.assert_close(q_small, q_full, rtol=1e-2, atol=1e-2)
    assert back.results == {"seed": 0, "spec": agent.results["spec"]}


def test_kept_agents_serve_where_the_cache_has_none(tmp_path):
    """`keep` writes compact copies once; a machine without the full agents loads the copies."""
    from mdpt_lib.experiments.grid import keep_agents, load_job_agents

    cache, kept, empty = tmp_path / "cache", tmp_path / "kept", tmp_path / "empty"
    empty.mkdir()
    job = "toy__dql__joint__seeds0-1__t"
    for seed in (0, 1):
        agent = mdpt_lib.fit(toy(seed=seed), algo="dql", steps=5, seed=seed, **SMALL)
        agent.save(cache / f"{job}__seed{seed}.pt")
    written = keep_agents(job, source=cache, target=kept)
    assert [p.name for p in written] == [f"{job}__seed0.pt", f"{job}__seed1.pt"]
    assert keep_agents(job, source=cache, target=kept) == []  # kept already
    agents = load_job_agents(job, folders=(empty, kept))
    assert [a.results["seed"] for a in agents] == [0, 1]
    assert agents[0].act(np.zeros((3, 4), np.float32)).shape == (3, 2)
    with pytest.raises(FileNotFoundError, match="keep"):
        load_job_agents("other", folders=(empty, kept))


def test_the_data_fingerprint_tells_two_builds_of_the_same_name_apart():
    from mdpt_lib.data.load import data_fingerprint

    data = {**toy(), "timeouts": np.zeros(2000, bool)}
    first = data_fingerprint(data)
    assert first == data_fingerprint({k: v.copy() for k, v in data.items()})
    assert (
        first["episodes"] >= 1
        and first["min_return"] <= first["mean_return"] <= first["max_return"]
    )
    other = {k: v.copy() for k, v in data.items()}
    other["rewards"][3] += 1e-3  # one transition differs, as after a rollout on another CPU
    assert data_fingerprint(other)["sha256"] != first["sha256"]
