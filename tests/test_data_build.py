"""Building datasets from behaviour snapshots: end to end, deterministic bytes, atomic files."""

import hashlib

import numpy as np
import pytest
import torch

from mdpt_lib.data import build as build_mod
from mdpt_lib.data.buffer import compress_buffer, expand_buffer
from mdpt_lib.data.layouts import DatasetError, episode_returns
from mdpt_lib.data.load import load_dataset
from mdpt_lib.data.policies import NumpyActor, off_mean_rms
from mdpt_recipe.sac import Actor


@pytest.fixture
def snapshots(tmp_path, monkeypatch):
    """A fresh 'random' hopper actor as the only committed snapshot, and an empty cache."""
    torch.manual_seed(0)
    folder = tmp_path / "behaviour" / "hopper"
    folder.mkdir(parents=True)
    np.savez(folder / "random_actor.npz", **Actor(15, 3).to_numpy())
    monkeypatch.setattr(build_mod, "behaviour_dir", lambda: tmp_path / "behaviour")
    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    return folder


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_numpy_actor_matches_torch_actor():
    torch.manual_seed(1)
    actor = Actor(15, 3)
    fast = NumpyActor(actor.to_numpy())
    obs = np.random.default_rng(0).standard_normal((5, 15)).astype(np.float32)
    noise = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    mean, log_std = actor(torch.as_tensor(obs))
    expected = torch.tanh(mean + log_std.exp() * torch.as_tensor(noise)).detach().numpy()
    np.testing.assert_allclose(fast(obs, noise), expected, atol=1e-5)
    np.testing.assert_allclose(fast(obs), torch.tanh(mean).detach().numpy(), atol=1e-5)


def test_small_dataset_end_to_end(snapshots, tmp_path):
    path = build_mod.build("hopper", "random", rows=3000, workers=2, progress=False)
    assert path.exists() and not list(path.parent.glob("*.tmp*"))
    data = load_dataset(path, task="hopper")
    assert data["observations"].shape == (3000, 15) and data["actions"].shape == (3000, 3)
    assert np.abs(data["actions"]).max() <= 1.0
    assert not (data["terminals"] & data["timeouts"]).any()
    # within an episode, each next observation is the following row's observation
    inside = ~(data["terminals"] | data["timeouts"])[:-1]
    np.testing.assert_array_equal(
        data["next_observations"][:-1][inside], data["observations"][1:][inside]
    )
    # hopper falls: a random policy ends most episodes in a terminal, and each of the fixed
    # chunks ends in a time-out (the data stops mid-episode)
    assert data["terminals"].sum() > 50
    assert data["timeouts"].sum() >= build_mod.CHUNKS
    returns = episode_returns(data)
    assert (
        np.isfinite(returns).all()
        and len(returns) == data["terminals"].sum() + data["timeouts"].sum()
    )


def test_same_seed_same_bytes_whatever_the_worker_count(snapshots, tmp_path, monkeypatch):
    a = build_mod.build("hopper", "random", rows=2000, workers=2, progress=False)
    first = sha256(a)
    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache2"))
    b = build_mod.build("hopper", "random", rows=2000, workers=1, progress=False)
    assert a != b and sha256(b) == first
    c = build_mod.build("hopper", "random", seed=1, rows=2000, workers=2, progress=False)
    assert sha256(c) != first


def test_a_half_written_file_is_never_taken_for_a_finished_one(snapshots):
    final = build_mod.dataset_file("hopper", "random", 0, rows=1000)
    final.parent.mkdir(parents=True)
    (final.parent / (final.name + ".tmp999")).write_bytes(b"half a file")
    path = build_mod.build("hopper", "random", rows=1000, workers=1, progress=False)
    assert path == final and load_dataset(path, task="hopper")["rewards"].shape == (1000,)


def test_build_reuses_the_cached_file_unless_told_to_overwrite(snapshots):
    path = build_mod.build("hopper", "random", rows=500, workers=1, progress=False)
    path.write_bytes(b"stale")
    assert build_mod.build("hopper", "random", rows=500, workers=1, progress=False) == path
    assert path.read_bytes() == b"stale"
    build_mod.build("hopper", "random", rows=500, workers=1, progress=False, overwrite=True)
    assert load_dataset(path, task="hopper")["rewards"].shape == (500,)


def test_a_new_snapshot_is_never_served_from_the_old_ones_build(snapshots):
    old = build_mod.build("hopper", "random", rows=500, workers=1, progress=False)
    torch.manual_seed(1)  # the behaviour policy is retrained: another random actor
    np.savez(snapshots / "random_actor.npz", **Actor(15, 3).to_numpy())
    new = build_mod.build("hopper", "random", rows=500, workers=1, progress=False)
    assert new != old and sha256(new) != sha256(old)


def test_a_truncated_cached_file_is_refused_with_what_to_do(snapshots):
    path = build_mod.build("hopper", "random", rows=1000, workers=1, progress=False)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        load_dataset(path, task="hopper")


def test_missing_snapshot_says_how_to_make_it(snapshots):
    with pytest.raises(build_mod.MissingSnapshotError, match="train-behaviour --task hopper"):
        build_mod.build("hopper", "expert", rows=100, progress=False)


def test_replay_buffer_compression_round_trip():
    rng = np.random.default_rng(0)
    n = 50
    obs = rng.standard_normal((n + 1, 4)).astype(np.float32)
    terminals = np.zeros(n, bool)
    terminals[19] = True
    timeouts = np.zeros(n, bool)
    timeouts[34] = True
    next_obs = obs[1:].copy()
    next_obs[19] = rng.standard_normal(4)  # an episode end: the next row starts elsewhere
    next_obs[34] = rng.standard_normal(4)
    data = {
        "observations": obs[:n],
        "actions": rng.standard_normal((n, 2)).astype(np.float32),
        "rewards": rng.standard_normal(n).astype(np.float32),
        "next_observations": next_obs,
        "terminals": terminals,
        "timeouts": timeouts,
    }
    packed = compress_buffer(data)
    assert "next_observations" not in packed and len(packed["end_next_observations"]) == 3
    back = expand_buffer(packed)
    for key in data:
        if key == "timeouts":
            continue
        np.testing.assert_array_equal(back[key], data[key], err_msg=key)
    # the buffer stopped mid-episode: its last row becomes a time-out
    assert back["timeouts"][-1] and back["timeouts"][:-1].tolist() == timeouts[:-1].tolist()


def test_resumed_behaviour_run_forgets_snapshots_whose_files_are_gone(tmp_path, monkeypatch):
    from mdpt_recipe.behaviour import BehaviourRun

    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    run = BehaviourRun("hopper", seed=0, out_dir=tmp_path / "out")
    run.found = {"mixed", "medium", "expert"}
    run.out.mkdir(parents=True)
    for name in ("mixed.npz", "medium_actor.npz"):
        (run.out / name).write_bytes(b"")
    run.save()
    again = BehaviourRun("hopper", seed=0, out_dir=tmp_path / "out")
    assert again.try_resume() and again.found == {"mixed", "medium"}


def test_reselect_drops_a_snapshot_and_keeps_why(tmp_path, monkeypatch):
    import json

    from mdpt_recipe.behaviour import BehaviourRun

    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    run = BehaviourRun("hopper", seed=0, out_dir=tmp_path / "out")
    run.write_snapshot("medium")
    run.found.add("medium")
    run.reselect("medium", "its dataset missed the window")
    assert "medium" not in run.found and not (run.out / "medium_actor.npz").exists()
    prov = json.loads((run.out / "provenance.json").read_text())
    assert "medium" not in prov
    assert prov["reselected"][0]["reason"] == "its dataset missed the window"
    assert prov["reselected"][0]["dropped"]["seed"] == 0
    with pytest.raises(ValueError, match="medium or expert"):
        run.reselect("mixed", "no")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "cheetah"], "valid task names are hopper"),
        (["--task", "hopper", "--reselect", "medium"], "--reselect needs --reason"),
    ],
)
def test_train_behaviour_refuses_bad_arguments_clearly(args, message, capsys):
    from mdpt_recipe.__main__ import main

    with pytest.raises(SystemExit):
        main(["train-behaviour", *args])
    assert message in capsys.readouterr().err


def test_committed_snapshots_come_from_the_registered_seed():
    import json

    from mdpt_lib.data.paths import behaviour_dir
    from mdpt_recipe.behaviour import BEHAVIOUR_SEED
    from mdpt_recipe.sac import SACConfig

    for task, seed in BEHAVIOUR_SEED.items():
        prov = json.loads((behaviour_dir() / task / "provenance.json").read_text())
        levels = [k for k in prov if k != "reselected"]
        assert levels, task
        run = {(prov[k]["seed"], prov[k]["sac_config"]["lr"]) for k in levels}
        assert len(run) == 1, f"{task}: every snapshot comes from one run, not {run}"
        if run.pop()[1] == SACConfig().lr:  # runs at an old learning rate predate the seed rule
            assert all(prov[k]["seed"] == seed for k in levels), task


def test_seed_study_reads_when_each_seed_first_reached_the_target(tmp_path, monkeypatch, capsys):
    import json

    from mdpt_recipe import seed_study
    from mdpt_recipe.behaviour import BehaviourRun
    from mdpt_recipe.seed_study import study

    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    (tmp_path / "assets" / "hopper").mkdir(parents=True)  # the committed run: seed 0, lr 1e-3
    prov = {"mixed": {"seed": 0, "sac_config": {"lr": 1e-3}}}
    (tmp_path / "assets" / "hopper" / "provenance.json").write_text(json.dumps(prov))
    monkeypatch.setattr(seed_study, "behaviour_dir", lambda: tmp_path / "assets")
    # hopper's target is 1000 and the original buffer had 59,345 rows
    for seed, returns in [(0, [200.0, 1000.5, 1200.0]), (5, [200.0, 990.0])]:
        run = BehaviourRun("hopper", seed=seed, out_dir=tmp_path / "out")
        run.log = [{"step": 30_000 * (i + 1), "episode_return": r} for i, r in enumerate(returns)]
        run.log.append({"step": 70_000, "check": "medium", "mean": 5000.0})  # not an episode
        run.step = 30_000 * len(returns)
        run.save()
    first, second = study()
    assert (first["seed"], first["steps_to_target"], first["within_factor"]) == (0, 60_000, True)
    assert first["committed_run"] and not second["committed_run"]
    assert second["steps_to_target"] is None and not second["within_factor"]
    assert (second["steps_run"], second["best_training_return"]) == (60_000, 990.0)
    # a new machine's cache updates the committed study without losing the rows it lacks
    elsewhere = {**second, "seed": 7, "committed_run": True}  # stale flag, read afresh
    longer = {**second, "steps_run": 90_000}
    merged = seed_study.merge([elsewhere, longer, first], [first, second])
    assert [(r["seed"], r["measured"], r["committed_run"]) for r in merged] == [
        (0, True, True),
        (5, False, False),  # the committed row ran further than the cached state
        (7, False, False),
    ]
    (tmp_path / "cache" / "sac" / "hopper-seedX.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"hopper-seedX\.pt is not a SAC state"):
        study()


def test_a_run_with_another_learning_rate_keeps_its_own_state(tmp_path, monkeypatch):
    from mdpt_recipe.behaviour import BehaviourRun
    from mdpt_recipe.sac import SACConfig

    monkeypatch.setenv("MDPT_DATA_DIR", str(tmp_path / "cache"))
    default = BehaviourRun("hopper", seed=0, out_dir=tmp_path / "out")
    slower = BehaviourRun("hopper", seed=0, out_dir=tmp_path / "out", cfg=SACConfig(lr=3e-4))
    assert default.state_path.name == "hopper-seed0.pt"
    assert slower.state_path.name == "hopper-seed0-lr0.0003.pt"
    default.save()
    slower.state_path = default.state_path  # a state made with other settings is never resumed
    with pytest.raises(ValueError, match="resume it with its own settings"):
        slower.try_resume()


def test_stats_flag_data_made_before_the_learning_rate_fix(tmp_path, monkeypatch):
    import json

    from mdpt_recipe import report

    (tmp_path / "hopper").mkdir()
    prov = {
        "medium": {"sac_config": {"lr": 3e-4}},
        "expert": {"sac_config": {"lr": 1e-3}},
        "mixed": {"sac_config": {"lr": 1e-3}},
    }
    (tmp_path / "hopper" / "provenance.json").write_text(json.dumps(prov))
    monkeypatch.setattr(report, "behaviour_dir", lambda: tmp_path)
    assert report.off_recipe_note("hopper", "medium") == (
        "; made with SAC lr 0.0003, the recipe's is 0.001"
    )
    assert "lr 0.0003/0.001" in report.off_recipe_note("hopper", "medium-expert")
    assert report.off_recipe_note("hopper", "mixed") == ""
    assert report.off_recipe_note("hopper", "random") == ""  # the initial actor has no lr


def test_mixed_rows_are_compared_in_the_original_layout():
    from mdpt_lib.data.registry import DATASETS, check_against_published, mixed_rows_ok

    # halfcheetah's original buffer: 178 episodes of 1,000 steps, each followed by an appended row
    assert DATASETS["halfcheetah-bullet-mixed-v0"].published.rows == 178 * 1001
    assert mixed_rows_ok("halfcheetah", 89_000, 89)  # 89,089 rows: exactly half
    assert not mixed_rows_ok("halfcheetah", 89_000, 88)
    assert mixed_rows_ok("halfcheetah", 356_000, 356) and not mixed_rows_ok(
        "halfcheetah", 356_000, 357
    )
    spec = DATASETS["bullet-halfcheetah-medium-replay-v0"]
    ok, rule = check_against_published(spec, 89_000, 300.0, 500.0, episode_ends=89)
    assert ok and rule.startswith("89,089 rows in the original layout within x2 of 178,178")
    narrow, _ = check_against_published(spec, 89_000, 300.0, 100.0, episode_ends=89)
    assert not narrow  # std below a third of the original's 498.2


def test_stats_keep_the_committed_rows_of_ids_not_built_here():
    from mdpt_recipe.report import keep_committed

    committed = {
        "git_commit": "abc",
        "written": "2026-11-25T21:00:00Z",
        "rows": [
            {"id": "a", "rows": 10, "status": "ok"},
            {"id": "b", "rows": 20, "status": "ok", "kept_from": "older"},
            {"id": "c", "status": "not reached: ..."},
        ],
    }
    now = [
        {"id": "a", "status": "not built (run with --build)"},
        {"id": "b", "status": "not built (run with --build)"},
        {"id": "c", "status": "not built (run with --build)"},
        {"id": "d", "rows": 5, "status": "FAILS"},
    ]
    written = {"a": "2026-11-20T00:00:00Z", "b": "2026-11-21T00:00:00Z"}.get
    kept = keep_committed(now, committed, lambda i: written(i, "2026-11-19T00:00:00Z"))
    assert kept[0] == {"id": "a", "rows": 10, "status": "ok", "kept_from": "abc"}
    assert kept[1]["kept_from"] == "older"  # where the numbers were measured, not where copied
    assert kept[2:] == now[2:]  # nothing measured to keep; a measured row is never replaced
    retrained = keep_committed(now, committed, lambda i: "2026-12-01T00:00:00Z")
    assert retrained == now  # snapshots newer than the record: its numbers are not theirs
    resampled = [{**r, "sampled": True} for r in now]
    assert keep_committed(resampled, committed, lambda i: "2026-11-19T00:00:00Z") == resampled


def test_d4rl_medium_samples_its_actions_and_d4rl_pybullet_medium_does_not(snapshots):
    """D4RL's collection draws each action from the actor's tanh-Gaussian; d4rl-pybullet's medium
    takes tanh(mean). The two ids of one policy are two files, told apart by their actions."""
    torch.manual_seed(2)
    np.savez(snapshots / "medium_actor.npz", **Actor(15, 3).to_numpy())
    from mdpt_lib.data.registry import get_dataset_spec

    d4rl, pybullet = (
        get_dataset_spec("bullet-hopper-medium-v0"),
        get_dataset_spec("hopper-bullet-medium-v0"),
    )
    assert d4rl.sampled and not pybullet.sampled
    assert "hopper-bullet-medium-v0" not in d4rl.aliases and d4rl.published is None
    assert (
        get_dataset_spec("bullet-hopper-random-v0").aliases
        == get_dataset_spec("hopper-bullet-random-v0").aliases
    )
    assert build_mod.spec_file(d4rl.id, rows=400) != build_mod.spec_file(pybullet.id, rows=400)
    assert build_mod.spec_file("bullet-hopper-random-v0") == build_mod.spec_file(
        "hopper-bullet-random-v0"
    )

    actor = NumpyActor.load(str(snapshots / "medium_actor.npz"))
    for sampled in (False, True):
        path = build_mod.build(
            "hopper", "medium", rows=400, workers=1, progress=False, sampled=sampled
        )
        assert path == build_mod.dataset_file("hopper", "medium", rows=400, sampled=sampled)
        data = build_mod.read_hdf5(path)
        off = off_mean_rms(actor, data["observations"], data["actions"])
        assert (off > 0.05) if sampled else (off < 1e-6)
