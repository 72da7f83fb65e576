"""Departures from the reference code, fixed: each test fails on the behaviour it replaced.

- TD next actions are sampled at initial-noise scale 1.0 (not the inference 0.5);
- the actor's EMA stays at its initialisation before ``actor_ema_start``;
- IDQL keeps the argmax of its guidance's score over the candidates (its authors' rule);
- a seed trains to the same numbers whichever group of seeds it trains in (own generators, own
  clipping norm, own critic coin);
- a swapped guidance is refused when there is only one candidate to choose from; NaN observations
  are refused with the rows named.
"""

import numpy as np
import pytest
import torch

import mdpt_lib
from mdpt_lib.agent import make_trainer
from mdpt_lib.algos import PAPER_CODE_IDQL_SELECTION
from mdpt_lib.config import hparams
from mdpt_lib.ensemble import clip_grad_norm_per_member, member
from mdpt_lib.policy import SelectionStats
from tests.bandit import bandit, run_interrupted

TINY = {"hidden": 32, "critic_hidden": 32, "batch_size": 16, "task": "hopper"}


def _equal_states(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_td_next_actions_use_the_training_noise_scale(monkeypatch):
    trainer = make_trainer(bandit(), algo="dql", steps=2, seed=0, **TINY)
    assert trainer.hp["td_noise_scale"] == 1.0 and trainer.hp["init_noise_scale"] == 0.5
    scales = []
    sample = trainer.policy.sample

    def spy(obs, n=1, **kwargs):
        scales.append(kwargs.get("init_noise_scale"))
        return sample(obs, n, **kwargs)

    monkeypatch.setattr(trainer.policy, "sample", spy)
    trainer.run(progress=False)
    assert scales == [1.0, 1.0]


def test_actor_ema_stays_at_its_initialisation_before_the_start():
    trainer = make_trainer(bandit(), algo="dql", steps=20, seed=0, actor_ema_start=1000, **TINY)
    init = {k: v.clone() for k, v in trainer.policy.ema.state_dict().items()}
    trainer.run(progress=False)
    after = trainer.policy.ema.state_dict()
    assert all(torch.equal(init[k], after[k]) for k in init)
    assert not _equal_states(trainer.policy.ema, trainer.policy.model)  # the live weights moved
    # the short-run option copies the live weights instead
    copy = make_trainer(
        bandit(), algo="dql", steps=20, seed=0, actor_ema_copy_before_start=True, **TINY
    )
    copy.run(progress=False)
    assert _equal_states(copy.policy.ema, copy.policy.model)


def test_idql_selects_the_argmax_of_its_score():
    assert hparams("idql").selection == "argmax"
    assert hparams("idql", **PAPER_CODE_IDQL_SELECTION).selection == "softmax"
    agent = mdpt_lib.fit(bandit(), algo="idql", steps=5, seed=0, progress=False, **TINY)
    obs = torch.as_tensor(np.random.default_rng(0).standard_normal((1, 7, 15)), dtype=torch.float32)
    torch.manual_seed(5)
    cand = agent.policy.sample(obs, 16)  # (1, 7, 16, act)
    scores = agent.guidance.score(
        obs.unsqueeze(2).expand(1, 7, 16, 15).reshape(1, 7 * 16, 15), cand.reshape(1, 7 * 16, -1)
    ).view(7, 16)
    torch.manual_seed(5)  # the same candidates again inside act
    stats = SelectionStats()
    chosen = agent.policy.act(obs, agent.guidance, candidates=16, stats=stats)[0]
    best = cand[0, torch.arange(7), scores.argmax(-1)]
    assert torch.equal(chosen, best)
    assert 1.0 <= stats.to_dict()["eff_candidates"] <= 16.0


def test_selection_stats_effective_candidates():
    stats = SelectionStats()
    stats.add(torch.full((3, 8), 1 / 8), torch.zeros(3, 8))  # uniform: all 8 count
    stats.add(torch.eye(8)[:1], torch.arange(8.0)[None])  # one-hot: one counts
    assert stats.to_dict()["eff_candidates"] == pytest.approx((3 * 8 + 1) / 4)
    assert stats.to_dict()["score_spread"] == pytest.approx(7 / 4)


@pytest.mark.parametrize("algo", ["dql", "idql"])
def test_a_seed_trains_the_same_in_any_group(algo):
    kw = {**TINY, "grad_clip": 1.0, "actor_ema_start": 3, "progress": False}
    group = mdpt_lib.fit(bandit(), algo=algo, steps=8, seed=[0, 1, 2], **kw)
    pair = mdpt_lib.fit(bandit(), algo=algo, steps=8, seed=[1, 2], **kw)
    alone = mdpt_lib.fit(bandit(), algo=algo, steps=8, seed=1, **kw)
    # seed 1 is member 1 of the first group and member 0 of the second: the same numbers
    assert _equal_states(group[1].policy, pair[0].policy)
    assert _equal_states(group[1].guidance, pair[0].guidance)
    assert _equal_states(group[2].policy, pair[1].policy)
    # alone, a one-member batched matmul may take another kernel: equal to float rounding
    for a, b in ((group[1].policy, alone.policy), (group[1].guidance, alone.guidance)):
        sa, sb = a.state_dict(), b.state_dict()
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=1e-5, atol=1e-6)
    # and seeds 0 and 1 differ (each member is not a copy of the first)
    assert not _equal_states(group[0].policy, group[1].policy)


def test_grad_clipping_is_per_member():
    w = torch.nn.Parameter(torch.zeros(2, 3, 1))
    w.grad = torch.tensor([[[3.0], [4.0], [0.0]], [[0.3], [0.4], [0.0]]])  # norms 5 and 0.5
    norms = clip_grad_norm_per_member([w], 2, max_norm=1.0)
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5]))
    torch.testing.assert_close(w.grad[0].norm(), torch.tensor(1.0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(w.grad[1], torch.tensor([[0.3], [0.4], [0.0]]))  # untouched


def test_member_of_a_stack_is_its_seed():
    trainer = make_trainer(bandit(), algo="dql", steps=2, seed=[4, 7], **TINY)
    alone = make_trainer(bandit(), algo="dql", steps=2, seed=7, **TINY)
    assert _equal_states(member(trainer.policy, 1), alone.policy)


def test_swapped_guidance_with_one_candidate_is_refused():
    kw = {**TINY, "progress": False}
    a = mdpt_lib.fit(bandit(), algo="dql", steps=3, seed=0, **kw)
    b = mdpt_lib.fit(bandit(), algo="idql", steps=3, seed=1, **kw)
    obs = np.zeros((2, 15), np.float32)
    assert a.act(obs, guidance=b.guidance, candidates=4).shape == (2, 3)
    with pytest.raises(ValueError, match="candidates=1"):
        a.act(obs, guidance=b.guidance, candidates=1)


def test_nan_observations_are_refused_with_their_rows():
    agent = mdpt_lib.fit(bandit(), algo="dql", steps=2, seed=0, progress=False, **TINY)
    obs = np.zeros((4, 15), np.float32)
    obs[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"rows \[2\]"):
        agent.act(obs)


def test_guidance_first_can_unfreeze_its_guidance_after_k_steps(tmp_path):
    kw = {**TINY, "guidance_steps": 4}
    trainer = make_trainer(
        bandit(), algo="dql", mode="guidance_first", steps=10, seed=0, unfreeze_guidance_at=6, **kw
    )
    seen = []
    step = trainer.diffusion_step

    def spy():
        seen.append((trainer.step, trainer.guidance.frozen))
        return step()

    trainer.diffusion_step = spy
    trainer.run(progress=False)
    assert [f for s, f in seen if s < 6] == [True] * 6  # frozen after stage 1 ...
    assert [f for s, f in seen if s > 6] == [False] * 3  # ... trains again from step 6
    assert trainer.guidance.updates == 10 - 6
    with pytest.raises(ValueError, match="unfreeze_guidance_at"):
        make_trainer(bandit(), algo="dql", mode="joint", steps=10, unfreeze_guidance_at=5, **TINY)
    # a run interrupted after the unfreezing resumes to the same numbers
    ckpt = tmp_path / "run.ckpt"

    def unfreezing():
        return make_trainer(
            bandit(),
            algo="dql",
            mode="guidance_first",
            steps=10,
            seed=0,
            unfreeze_guidance_at=6,
            checkpoint=ckpt,
            checkpoint_every=8,
            **kw,
        )

    full = unfreezing()
    full.run(progress=False)
    ckpt.unlink()
    run_interrupted(unfreezing(), at_step=9)  # after the checkpoint of step 8
    resumed = unfreezing()
    resumed.run(progress=False)  # continues from step 8 to 10
    assert _equal_states(resumed.guidance, full.guidance)
    assert _equal_states(resumed.policy, full.policy)


def test_actor_weight_decay_switches_to_adamw():
    adam = make_trainer(bandit(), algo="dql", steps=2, seed=0, **TINY)
    adamw = make_trainer(bandit(), algo="dql", steps=2, seed=0, actor_weight_decay=0.01, **TINY)
    assert type(adam.policy.optimizer) is torch.optim.Adam
    assert type(adamw.policy.optimizer) is torch.optim.AdamW
    assert adamw.policy.optimizer.param_groups[0]["weight_decay"] == 0.01
