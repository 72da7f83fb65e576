"""The library on the device named by ``MDPT_TEST_DEVICE`` (default: cpu; ``cuda`` on a GPU machine).

``benchmarks/gpu_check.py`` runs this file with ``MDPT_TEST_DEVICE=cuda``; in CI it runs on the CPU.
"""

import os

import numpy as np
import pytest
import torch

import mdpt_lib
from tests.bandit import bandit, run_interrupted

DEVICE = os.environ.get("MDPT_TEST_DEVICE", "cpu")
SMALL = {"hidden": 32, "critic_hidden": 32, "batch_size": 32, "task": "hopper", "progress": False}

pytestmark = pytest.mark.skipif(
    DEVICE == "cuda" and not torch.cuda.is_available(), reason="no CUDA GPU here"
)


@pytest.mark.parametrize("algo", ["dql", "idql", "cfg"])
def test_fit_act_save_load_on_the_device(algo, tmp_path):
    agent = mdpt_lib.fit(bandit(), algo=algo, steps=10, seed=0, device=DEVICE, **SMALL)
    assert agent.device.type == DEVICE
    obs = np.zeros((4, 15), np.float32)
    assert agent.act(obs).shape == (4, 3)
    loaded = mdpt_lib.load(agent.save(tmp_path / "a.pt"), device=DEVICE)
    assert loaded.device.type == DEVICE and loaded.act(obs).shape == (4, 3)


def test_swap_and_evaluate_on_the_device():
    dql = mdpt_lib.fit(bandit(), algo="dql", steps=5, seed=0, device=DEVICE, **SMALL)
    idql = mdpt_lib.fit(bandit(), algo="idql", steps=5, seed=1, device=DEVICE, **SMALL)
    res = mdpt_lib.evaluate(dql, episodes=2, seed=0, guidance=idql.guidance, max_steps=20)
    assert len(res.scores) == 2 and res.selection["eff_candidates"] >= 1


def test_seeds_independent_of_their_group_on_the_device():
    kw = {**SMALL, "grad_clip": 1.0, "actor_ema_start": 2}
    group = mdpt_lib.fit(bandit(), algo="dql", steps=6, seed=[0, 1, 2], device=DEVICE, **kw)
    pair = mdpt_lib.fit(bandit(), algo="dql", steps=6, seed=[1, 2], device=DEVICE, **kw)
    a, b = group[1].policy.state_dict(), pair[0].policy.state_dict()
    for k in a:  # batched kernels of other sizes may round differently on a GPU
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_resume_gives_the_uninterrupted_numbers_on_the_device(tmp_path):
    from mdpt_lib.agent import make_trainer

    kw = {k: v for k, v in SMALL.items() if k != "progress"}
    ckpt = tmp_path / "run.ckpt"
    full = make_trainer(bandit(), algo="dql", steps=8, device=DEVICE, **kw)
    full.run(progress=False)

    def checkpointed():
        return make_trainer(
            bandit(), algo="dql", steps=8, device=DEVICE, checkpoint=ckpt, checkpoint_every=4, **kw
        )

    run_interrupted(checkpointed(), at_step=5)
    resumed = checkpointed()
    resumed.run(progress=False)
    a, b = full.policy.state_dict(), resumed.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
