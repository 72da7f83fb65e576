"""The core library on a one-step bandit: guidance must pick the rewarded mode of two.

Models are small (hidden 64) so the whole file runs in about a minute on 2 cores.
"""

import os
import time

import numpy as np
import pytest
import torch

import mdpt_lib
from mdpt_lib.guidance import DatasetMismatchWarning, IncompatibleGuidanceError, expectile_loss
from tests.bandit import bandit, mode_fractions

SMALL = {
    "hidden": 64,
    "critic_hidden": 64,
    "batch_size": 128,
    "lr": 1e-3,
    "lr_decay": False,
    "actor_ema": 0.99,
    "actor_ema_start": 100,  # the reference default 1000 would keep a 1000-step run at its init
    "progress": False,
    "task": "hopper",
}
STEPS = 1000


@pytest.fixture(scope="module")
def obs():
    return np.random.default_rng(1).standard_normal((300, 15)).astype(np.float32)


@pytest.fixture(scope="module")
def idql():
    return mdpt_lib.fit(bandit(), algo="idql", steps=STEPS, seed=0, **SMALL)


@pytest.fixture(scope="module")
def idql_flipped():
    """An IDQL agent whose data rewards the other mode."""
    return mdpt_lib.fit(bandit(good=-1.0), algo="idql", steps=STEPS, seed=1, **SMALL)


@pytest.fixture(scope="module")
def dql():
    return mdpt_lib.fit(bandit(), algo="dql", steps=STEPS, seed=0, **SMALL)


def test_behaviour_cloning_keeps_both_modes(idql, obs):
    good, bad = mode_fractions(idql.act(obs, guidance=False))
    assert good > 0.25 and bad > 0.25, (good, bad)
    assert good + bad > 0.8, "samples should sit in one of the two modes"


def test_idql_selection_picks_the_rewarded_mode(idql, obs):
    good, _ = mode_fractions(idql.act(obs))
    assert good > 0.9


def test_dql_picks_the_rewarded_mode(dql, obs):
    good, _ = mode_fractions(dql.act(obs))
    assert good > 0.9
    # its actor itself learned the mode through the Q term, without selection at inference
    assert mode_fractions(dql.act(obs, guidance=False))[0] > 0.8


def test_bf16_training_still_picks_the_rewarded_mode(obs):
    agent = mdpt_lib.fit(bandit(), algo="dql", steps=STEPS, seed=0, precision="bf16", **SMALL)
    assert all(p.dtype == torch.float32 for p in agent.policy.parameters())  # weights stay fp32
    assert mode_fractions(agent.act(obs))[0] > 0.9
    assert mode_fractions(agent.act(obs, guidance=False))[0] > 0.8
    with pytest.raises(ValueError, match="precision"):
        mdpt_lib.fit(bandit(), algo="dql", steps=1, precision="fp16", **SMALL)


def test_bf16_inference_samples_near_the_fp32_candidates(dql, obs):
    """Sampling under bfloat16 autocast (``inference_precision``) moves the actions by bfloat16's
    rounding, not more; fp32 stays the default and leaves the actions as they were."""
    policy = dql.policy
    x = torch.as_tensor(obs).unsqueeze(0)
    torch.manual_seed(0)
    fp32 = policy.act(x, dql.guidance, candidates=1)
    assert policy.hp["inference_precision"] == "fp32"
    policy.hp["inference_precision"] = "bf16"
    try:
        torch.manual_seed(0)
        bf16 = policy.act(x, dql.guidance, candidates=1)
    finally:
        policy.hp["inference_precision"] = "fp32"
    assert bf16.dtype == torch.float32
    assert not torch.equal(bf16, fp32)  # it did run in bfloat16
    assert (bf16 - fp32).abs().max() < 0.1
    torch.manual_seed(0)
    assert torch.equal(policy.act(x, dql.guidance, candidates=1), fp32)
    with pytest.raises(ValueError, match="precision"):
        mdpt_lib.evaluate(dql, task="hopper", episodes=1, precision="fp16")


def test_classifier_free_variant_picks_the_rewarded_mode(obs):
    agent = mdpt_lib.fit(bandit(), algo="cfg", steps=STEPS, seed=0, **SMALL)
    guided, _ = mode_fractions(agent.act(obs))
    unconditioned, _ = mode_fractions(agent.act(obs, guidance=False))
    assert guided > 0.9
    assert guided > unconditioned + 0.2, (guided, unconditioned)


def test_swapped_guidance_changes_the_choice(idql, idql_flipped, obs):
    with pytest.warns(DatasetMismatchWarning):
        _, bad = mode_fractions(idql.act(obs, guidance=idql_flipped.guidance))
    assert bad > 0.9, "the swapped-in guidance rewards the other mode"


def test_cross_algorithm_guidance(idql, dql, obs):
    # the DQL critic selecting for the IDQL (behaviour-cloned) policy, and the reverse
    assert mode_fractions(idql.act(obs, guidance=dql.guidance))[0] > 0.9
    assert mode_fractions(dql.act(obs, guidance=idql.guidance))[0] > 0.9


def test_untrained_like_is_a_seeded_fresh_frozen_guidance_of_the_same_kind(idql, obs):
    """The paper's random guidance at inference: the trained guidance's kind, sizes and
    normalisation at a random initialisation drawn from a seed, the global random state untouched."""
    import warnings

    from mdpt_lib.guidance import untrained_like

    trained = idql.guidance
    state = torch.get_rng_state()
    a, b, c = untrained_like(trained, 0), untrained_like(trained, 0), untrained_like(trained, 1)
    assert torch.equal(state, torch.get_rng_state())
    assert a.kind == trained.kind and a.frozen and not any(p.requires_grad for p in a.parameters())
    assert torch.equal(a.obs_mean, trained.obs_mean) and torch.equal(a.obs_std, trained.obs_std)
    sa, sb, sc, st = (g.state_dict() for g in (a, b, c, trained))
    assert sa.keys() == st.keys() and all(sa[k].shape == st[k].shape for k in sa)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # the same seed, the same weights
    q = [k for k in sa if k.startswith("q.")]
    assert any(not torch.equal(sa[k], sc[k]) for k in q)  # another seed, other weights
    assert all(not torch.equal(sa[k], st[k]) for k in q if sa[k].dtype.is_floating_point)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same data: no mismatch warning
        assert idql.act(obs, guidance=a).shape == (len(obs), idql.info.act_dim)


def test_guidance_for_another_task_is_refused(idql, obs):
    data = bandit(obs_dim=26, act_dim=6)
    cheetah = mdpt_lib.fit(data, algo="idql", steps=5, seed=0, **{**SMALL, "task": "halfcheetah"})
    with pytest.raises(IncompatibleGuidanceError, match="halfcheetah"):
        idql.act(obs, guidance=cheetah.guidance)


def test_expectile_loss_hand_computed():
    diff = torch.tensor([2.0, -1.0, 0.5])
    # tau = 0.7: 0.7 * 4 = 2.8; 0.3 * 1 = 0.3; 0.7 * 0.25 = 0.175
    torch.testing.assert_close(expectile_loss(diff, 0.7), torch.tensor([2.8, 0.3, 0.175]))


def test_save_load_gives_identical_actions(idql, obs, tmp_path):
    path = idql.save(tmp_path / "agent.pt")
    loaded = mdpt_lib.load(path)
    a = idql.act(obs[:20], generator=torch.Generator().manual_seed(3))
    b = loaded.act(obs[:20], generator=torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    a = idql.act(obs[:20])
    torch.manual_seed(0)
    b = loaded.act(obs[:20])
    np.testing.assert_array_equal(a, b)
    assert loaded.guidance.info.dataset == idql.guidance.info.dataset


def test_guidance_saves_and_loads_alone(dql, obs, tmp_path):
    path = dql.guidance.save(tmp_path / "critic.pt")
    g = mdpt_lib.load_guidance(path)
    x = torch.as_tensor(obs[:10])[None]
    a = torch.zeros(1, 10, 3)
    torch.testing.assert_close(g.score(x, a), dql.guidance.score(x, a))


@pytest.mark.parametrize(("mode", "interrupt_at"), [("joint", 50), ("guidance_first", 75)])
def test_resume_equals_uninterrupted(mode, interrupt_at, tmp_path, monkeypatch):
    kwargs = {"algo": "dql", "mode": mode, "steps": 60, "seed": 5, "guidance_steps": 40, **SMALL}
    reference = mdpt_lib.fit(bandit(n=500), **kwargs)

    from mdpt_lib.train import Trainer

    original = Trainer._after_step
    calls = {"n": 0}

    def interrupt(self, *args):
        original(self, *args)
        calls["n"] += 1
        if calls["n"] == interrupt_at:  # in stage 2, past a checkpoint (every 20 steps)
            raise KeyboardInterrupt

    ckpt = tmp_path / "run.ckpt"
    monkeypatch.setattr(Trainer, "_after_step", interrupt)
    with pytest.raises(KeyboardInterrupt):
        mdpt_lib.fit(bandit(n=500), checkpoint=ckpt, checkpoint_every=20, **kwargs)
    monkeypatch.setattr(Trainer, "_after_step", original)
    resumed = mdpt_lib.fit(bandit(n=500), checkpoint=ckpt, checkpoint_every=20, **kwargs)
    assert reference.results["resumed"] == []  # the run records where it continued
    assert [(r["stage"], r["step"] % 20) for r in resumed.results["resumed"]] == [(2, 0)]
    # the total sums both sessions: the first's time up to its checkpoint is recorded at the resume
    from mdpt_lib.train import seconds_before_this_session

    assert seconds_before_this_session(reference.results) == 0
    earlier = seconds_before_this_session(resumed.results)
    assert 0 < earlier < resumed.results["wall_seconds"]
    for (k, v), w in zip(
        reference.policy.state_dict().items(), resumed.policy.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(v, w, rtol=0, atol=0, msg=k)
    for v, w in zip(
        reference.guidance.state_dict().values(),
        resumed.guidance.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(v, w, rtol=0, atol=0)


def test_every_mode_runs_and_guidance_first_holds_less_state():
    measures = {}
    for mode in ["joint", "guidance_first", "no_guidance", "random_guidance", "delayed_guidance"]:
        extra = {"guidance_from": 10} if mode == "delayed_guidance" else {}
        agent = mdpt_lib.fit(
            bandit(n=300),
            algo="dql",
            mode=mode,
            steps=20,
            guidance_steps=10,
            seed=0,
            **extra,
            **SMALL,
        )
        measures[mode] = agent.results["measure"]
        assert np.isfinite(agent.act(np.zeros(15, np.float32))).all()
    joint, first = measures["joint"], measures["guidance_first"]
    assert first["stage2_train_state_mb"] < joint["stage2_train_state_mb"]
    assert first["guidance_steps"] == 10 and joint["guidance_steps"] == 0


def test_seed_list_trains_independent_agents(obs):
    agents = mdpt_lib.fit(bandit(n=500), algo="idql", steps=30, seed=[0, 1], **SMALL)
    assert [a.results["seed"] for a in agents] == [0, 1]
    w0, w1 = (a.policy.state_dict()["model.net.out.weight"] for a in agents)
    assert not torch.equal(w0, w1)
    assert agents[0].act(obs[:4]).shape == (4, 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("rewards"), "rewards"),
        (lambda d: d.__setitem__("actions", d["actions"][:, :2]), "act"),
        (lambda d: d["rewards"].__setitem__(3, np.nan), "NaN"),
    ],
)
def test_bad_datasets_are_refused_clearly(change, message):
    data = bandit(n=100)
    change(data)
    with pytest.raises(ValueError, match=message):
        mdpt_lib.fit(data, steps=5, **SMALL)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algo": "sac"}, "idql"),
        ({"steps": 0}, "positive"),
        ({"seed": "three"}, "seed"),
        ({"mode": "alternating"}, "guidance_first"),
        ({"device": "cuda"} if not torch.cuda.is_available() else {"algo": "x"}, "cpu|idql"),
        ({"not_a_hparam": 1}, "valid ones"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        mdpt_lib.fit(bandit(n=100), **{"steps": 5, **SMALL, **kwargs})


def test_evaluate_is_reproducible(idql):
    a = mdpt_lib.evaluate(idql, episodes=2, seed=4)
    b = mdpt_lib.evaluate(idql, episodes=2, seed=4)
    assert a.returns.shape == (2,) and a.scores.shape == (2,)
    np.testing.assert_array_equal(a.returns, b.returns)
    np.testing.assert_allclose(a.scores, mdpt_lib.normalized_score("hopper", a.returns))


def test_episodes_record_how_far_the_robot_went():
    """A policy that holds every joint still goes (nearly) nowhere; one that pushes hard moves the
    base: the distances tell a long, standing episode from locomotion."""
    from mdpt_lib.evaluation import run_episodes

    still = run_episodes(
        "hopper", lambda o: np.zeros((len(o), 3), np.float32), 2, seed=0, max_steps=50
    )
    assert still.distances.shape == (2,) and np.isfinite(still.distances).all()
    assert np.abs(still.distances).max() < 0.5
    assert "distances" in still.to_dict()


def test_the_mish_implementations_agree_in_value_and_gradient():
    """x tanh(softplus(x)) in eager ops, torch's F.mish, the compiled fused kernels and the C++
    loops are one function: values and gradients agree to float rounding, large inputs too."""
    import torch.nn.functional as F

    from mdpt_lib.mish_cpp import CppMish, kernels
    from mdpt_lib.nets import _FusedMish, mish_softplus

    assert kernels() is not None, "the C++ Mish builds on this machine (gcc and ninja)"
    x = torch.cat([torch.linspace(-30, 30, 2001), torch.randn(3000)]).reshape(1, 5001)
    outs = {}
    impls = {"aten": F.mish, "softplus": mish_softplus, "fused": _FusedMish.apply}
    for name, fn in (impls | {"cpp": CppMish.apply}).items():
        xi = x.clone().requires_grad_(True)
        y = fn(xi)
        (g,) = torch.autograd.grad(y, xi, torch.ones_like(y))
        outs[name] = (y.detach(), g)
    for name in ("softplus", "fused", "cpp"):
        torch.testing.assert_close(outs[name][0], outs["aten"][0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(outs[name][1], outs["aten"][1], rtol=1e-5, atol=1e-5)


def test_auto_mish_is_eager_for_short_runs_and_cpp_for_long_ones(monkeypatch):
    import mdpt_lib.nets as nets

    monkeypatch.setattr(nets, "MISH_MODE", "auto")
    monkeypatch.setattr(nets, "_mish_in_use", "softplus")
    assert nets.use_fast_mish_for(nets.FAST_MISH_MIN_STEPS - 1) == "softplus"  # starts at once
    assert nets.use_fast_mish_for(nets.FAST_MISH_MIN_STEPS) == "cpp"  # a long run repays a build
    calls = []
    monkeypatch.setattr(nets.CppMish, "apply", lambda x: calls.append(x.dtype) or x)
    layer = nets.Mish()
    layer(torch.randn(4, 8))
    # another dtype (bf16 autocast) takes the eager form, which handles every dtype
    low = layer(torch.randn(4, 8, dtype=torch.bfloat16))
    assert calls == [torch.float32] and low.dtype == torch.bfloat16
    # where the C++ Mish cannot be built (kernels() warns why), the eager form stands in
    monkeypatch.setattr(nets, "kernels", lambda: None)
    assert nets.mish_in_use() == "softplus"


def test_use_mish_switches_the_implementation_and_refuses_unknown_names(monkeypatch):
    import mdpt_lib.nets as nets

    monkeypatch.setattr(nets, "_mish_in_use", "softplus")  # restored after the test
    nets.use_mish("aten")
    assert nets.mish_in_use() == "aten"
    for bad in ("auto", "relu"):
        with pytest.raises(ValueError, match="one of cpp, softplus, aten, fused"):
            nets.use_mish(bad)
    assert nets.mish_in_use() == "aten"


def test_the_cpp_mish_cache_name_changes_with_the_cpu(monkeypatch):
    import mdpt_lib.mish_cpp as mc

    name = mc.build_name()
    monkeypatch.setattr(mc, "_cpu_flags", lambda: "flags : sse2 avx2")
    assert mc.build_name() != name and mc.build_name().startswith("mdpt_mish_")


def test_a_build_lock_is_waited_for_while_fresh_and_removed_once_stale(tmp_path):
    import threading

    from mdpt_lib.mish_cpp import clear_stale_lock

    lock = tmp_path / "lock"
    assert clear_stale_lock(tmp_path) is False  # no lock: nothing to wait for
    lock.touch()
    threading.Timer(0.2, lock.unlink).start()  # a live build finishes and releases it
    assert clear_stale_lock(tmp_path, stale_after=30, poll=0.05) is False
    lock.touch()
    os.utime(lock, (time.time() - 3600, time.time() - 3600))  # left by a build killed an hour ago
    with pytest.warns(UserWarning, match="stale C\\+\\+ Mish build lock"):
        assert clear_stale_lock(tmp_path) is True
    assert not lock.exists()
    lock.touch()  # a build killed just now: waited for until stale, then removed
    with pytest.warns(UserWarning, match="stale"):
        assert clear_stale_lock(tmp_path, stale_after=0.3, poll=0.05) is True


def test_a_lock_left_by_a_killed_build_does_not_hang_the_next_process():
    """torch waits for a build lock forever; a job killed while building left one, and the next
    process (CI's test run) hung. Now the stale lock is removed and the extension loads."""
    import subprocess
    import sys

    from mdpt_lib.mish_cpp import build_directory

    directory = build_directory()
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / "lock"
    lock.touch()
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    code = "from mdpt_lib.mish_cpp import kernels; assert kernels() is not None"
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, timeout=300)
    assert not lock.exists()
