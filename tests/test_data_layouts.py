"""Dataset loading: both original layouts become exact D4RL-convention transitions; bad data fails
clearly. Tiny hand-made arrays and HDF5 files only."""

import sys
import types

import h5py
import numpy as np
import pytest

from mdpt_lib.data.layouts import (
    DatasetError,
    detect_layout,
    episode_count,
    episode_returns,
    from_d4rl,
    from_d4rl_pybullet,
    validate_transitions,
)
from mdpt_lib.data.load import load_dataset
from mdpt_lib.data.registry import UnknownDatasetError, dataset_id, get_dataset_spec
from mdpt_lib.envs import TASKS

OBS, ACT = TASKS["hopper"].obs_dim, TASKS["hopper"].act_dim


def states(*values, dim=OBS):
    """(len(values), dim) float32 rows, row k filled with values[k]: every state is recognisable."""
    return np.repeat(np.asarray(values, np.float32)[:, None], dim, axis=1)


def actions(*values, dim=ACT):
    return states(*values, dim=dim)


def pybullet_arrays(obs_dim=OBS, act_dim=ACT):
    """d4rl-pybullet rows (shifted) of three episodes, and the transitions they must give.

    A: falls after 3 steps (s 10..13, rewards 1, 2, 3). B: 1000 steps, the time limit (s 100..1100,
    reward 1 each). C: cut by the end of the file after storing s 5000..5002 (rewards 7, 8 stored).
    """
    b_states = 100 + np.arange(1001)
    raw_obs = np.concatenate([[10, 11, 12, 13], b_states, [5000, 5001, 5002]])
    raw_act = np.concatenate([[0.1, 0.2, 0.3, 0], 0.5 + b_states[:-1] / 1e4, [0], [0.7, 0.8, 0.9]])
    # row t: (s_t, a_t, r_{t-1}, done_{t-1}); 0 reward on first rows, extra rows (s_T, 0, r_T, 1)
    raw_rew = np.concatenate([[0, 1, 2, 3], [0], np.ones(1000), [0, 7, 8]])
    raw_done = np.zeros(len(raw_obs))
    raw_done[[3, 1004]] = 1
    arrays = {
        "observations": states(*raw_obs, dim=obs_dim),
        "actions": actions(*raw_act, dim=act_dim),
        "rewards": raw_rew.astype(np.float32)[:, None],
        "terminals": raw_done.astype(np.float32)[:, None],
    }
    s = np.concatenate([[10, 11, 12], b_states[:-1], [5000, 5001]])
    expected = {
        "observations": states(*s, dim=obs_dim),
        "actions": actions(
            *np.concatenate([[0.1, 0.2, 0.3], raw_act[4:1004], [0.7, 0.8]]), dim=act_dim
        ),
        "rewards": np.concatenate([[1, 2, 3], np.ones(1000), [7, 8]]).astype(np.float32),
        "next_observations": states(
            *np.concatenate([[11, 12, 13], b_states[1:], [5001, 5002]]), dim=obs_dim
        ),
        "terminals": np.zeros(1005, bool),
        "timeouts": np.zeros(1005, bool),
    }
    expected["terminals"][2] = True  # A falls
    expected["timeouts"][[1002, 1004]] = True  # B hits the time limit; C is cut by the file's end
    return arrays, expected


def d4rl_arrays():
    """D4RL rows of three episodes: A ends terminal, B by a time-out row, C is cut by the file end."""
    return {
        "observations": states(10, 11, 12, 20, 21, 22, 30, 31),
        "actions": actions(1, 2, 3, 4, 5, 6, 7, 8),
        "rewards": np.arange(1, 9, dtype=np.float32),
        "terminals": np.array([0, 0, 1, 0, 0, 0, 0, 0], bool),
        "timeouts": np.array([0, 0, 0, 0, 0, 1, 0, 0], bool),
    }


def assert_transitions_equal(got, expected):
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def write_hdf5(path, arrays):
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)
    return path


# ---- d4rl-pybullet layout -----------------------------------------------------------------------


def test_d4rl_pybullet_rows_are_unshifted_exactly():
    arrays, expected = pybullet_arrays()
    assert detect_layout(arrays) == "d4rl-pybullet"
    got = from_d4rl_pybullet(arrays, "hopper")
    assert_transitions_equal(got, expected)
    np.testing.assert_array_equal(episode_returns(got), [6, 1000, 15])
    assert episode_count(got) == 3


def test_d4rl_pybullet_halfcheetah_ends_are_all_timeouts():
    task = TASKS["halfcheetah"]
    arrays, expected = pybullet_arrays(task.obs_dim, task.act_dim)
    got = from_d4rl_pybullet(arrays, "halfcheetah")
    assert not got["terminals"].any()
    np.testing.assert_array_equal(np.flatnonzero(got["timeouts"]), [2, 1002, 1004])
    np.testing.assert_array_equal(got["rewards"], expected["rewards"])


def test_d4rl_pybullet_file_ending_with_extra_row_or_first_row():
    arrays, expected = pybullet_arrays()
    closed = {k: v[:1005] for k, v in arrays.items()}  # ends with B's extra row: nothing cut
    got = from_d4rl_pybullet(closed, "hopper")
    assert_transitions_equal(got, {k: v[:1003] for k, v in expected.items()})
    lone = {k: v[:1006] for k, v in arrays.items()}  # plus C's first row alone: no transition
    assert_transitions_equal(from_d4rl_pybullet(lone, "hopper"), got)


# ---- D4RL layout --------------------------------------------------------------------------------


def test_d4rl_without_next_observations_follows_qlearning_dataset():
    arrays = d4rl_arrays()
    assert detect_layout(arrays) == "d4rl"
    got = from_d4rl(arrays, "hopper")
    # A: all kept, the terminal row's s' is the next row's (D4RL); B: time-out row 22 dropped,
    # row 21 ends B as a time-out; C: last row 31 dropped (cut), row 30 ends C as a time-out.
    expected = {
        "observations": states(10, 11, 12, 20, 21, 30),
        "actions": actions(1, 2, 3, 4, 5, 7),
        "rewards": np.array([1, 2, 3, 4, 5, 7], np.float32),
        "next_observations": states(11, 12, 20, 21, 22, 31),
        "terminals": np.array([0, 0, 1, 0, 0, 0], bool),
        "timeouts": np.array([0, 0, 0, 0, 1, 1], bool),
    }
    assert_transitions_equal(got, expected)
    np.testing.assert_array_equal(episode_returns(got), [6, 9, 7])


def test_d4rl_terminal_last_row_is_kept_with_its_own_observation():
    arrays = {k: v[:3] for k, v in d4rl_arrays().items()}
    got = from_d4rl(arrays, "hopper")
    np.testing.assert_array_equal(got["next_observations"], states(11, 12, 12))
    np.testing.assert_array_equal(got["terminals"], [False, False, True])
    assert not got["timeouts"].any()


def test_d4rl_with_next_observations_keeps_every_row():
    arrays = d4rl_arrays()
    arrays["next_observations"] = arrays["observations"] + 0.5
    arrays["rewards"] = arrays["rewards"].astype(np.float64)
    arrays["timeouts"] = arrays["timeouts"].copy()
    arrays["timeouts"][2] = True  # also terminal: the true end wins
    got = from_d4rl(arrays, "hopper")
    expected = {
        "observations": arrays["observations"],
        "actions": arrays["actions"],
        "rewards": np.arange(1, 9, dtype=np.float32),
        "next_observations": arrays["observations"] + 0.5,
        "terminals": arrays["terminals"],
        "timeouts": np.array([0, 0, 0, 0, 0, 1, 0, 0], bool),
    }
    assert_transitions_equal(got, expected)
    np.testing.assert_array_equal(episode_returns(got), [6, 15, 15])  # trailing 7 + 8 counts
    assert episode_count(got) == 3


def test_d4rl_without_timeouts_cuts_episodes_at_the_time_limit():
    n = 1002
    arrays = {
        "observations": states(*range(n)),
        "actions": actions(*range(n)),
        "rewards": np.ones(n, np.float32),
        "terminals": np.zeros(n, bool),
    }
    assert detect_layout(arrays) == "d4rl"
    got = from_d4rl(arrays, "hopper")
    # row 999 is the 1000th step (a time-out row, dropped); row 1001 is the last (dropped)
    np.testing.assert_array_equal(got["observations"][:, 0], [*range(999), 1000])
    np.testing.assert_array_equal(np.flatnonzero(got["timeouts"]), [998, 999])
    assert not got["terminals"].any()


# ---- HDF5 files and ids -------------------------------------------------------------------------


def test_hdf5_round_trip_both_layouts(tmp_path):
    arrays, expected = pybullet_arrays()
    # task from the id in the file name
    path = write_hdf5(tmp_path / "hopper-bullet-mixed-v0.hdf5", arrays)
    assert_transitions_equal(load_dataset(path, verbose=False), expected)
    assert_transitions_equal(load_dataset(str(path), task="hopper"), expected)
    # task from the observation size
    d4rl = d4rl_arrays()
    path = write_hdf5(tmp_path / "data.h5", d4rl)
    assert_transitions_equal(load_dataset(path), from_d4rl(d4rl, "hopper"))
    d4rl["next_observations"] = d4rl["observations"] + 1
    path = write_hdf5(tmp_path / "with_next.hdf5", d4rl)
    assert_transitions_equal(load_dataset(path, task="hopper"), from_d4rl(d4rl, "hopper"))


def test_task_in_file_name_wins_over_observation_size(tmp_path):
    path = write_hdf5(tmp_path / "bullet-walker2d-medium-v0.hdf5", d4rl_arrays())
    with pytest.raises(DatasetError, match=r"15 dimensions but task 'walker2d' expects 22"):
        load_dataset(path)


def test_original_dir_file_is_used(tmp_path, monkeypatch, capsys):
    arrays, expected = pybullet_arrays()
    path = write_hdf5(tmp_path / "hopper-bullet-mixed-v0.hdf5", arrays)
    monkeypatch.setenv("D4RL_DATASET_DIR", str(tmp_path))
    assert_transitions_equal(load_dataset("hopper-bullet-mixed-v0"), expected)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "original file" in out and str(path) in out
    write_hdf5(tmp_path / "bullet-hopper-random-v0.h5", d4rl_arrays())
    got = load_dataset("bullet-hopper-random-v0", verbose=False)
    assert_transitions_equal(got, from_d4rl(d4rl_arrays(), "hopper"))
    assert capsys.readouterr().out == ""


def test_build_is_used_and_validated(tmp_path, monkeypatch):
    monkeypatch.delenv("D4RL_DATASET_DIR", raising=False)
    arrays = d4rl_arrays()
    arrays["next_observations"] = arrays["observations"] + 1
    good = write_hdf5(tmp_path / "good.hdf5", arrays)
    bad = write_hdf5(
        tmp_path / "bad.hdf5", arrays | {"rewards": np.where(np.arange(8) == 3, np.nan, 1)}
    )
    calls = []

    def ensure_built(dataset_id, progress=True):
        calls.append((dataset_id, progress))
        return bad if dataset_id.endswith("medium-v0") else good

    build = types.ModuleType("mdpt_lib.data.build")
    build.ensure_built = ensure_built
    monkeypatch.setitem(sys.modules, "mdpt_lib.data.build", build)
    got = load_dataset("bullet-hopper-random-v0", verbose=False)
    assert calls == [("bullet-hopper-random-v0", False)]
    assert_transitions_equal(got, from_d4rl(arrays, "hopper"))
    with pytest.raises(
        DatasetError, match=r"bad\.hdf5: rewards has NaN or inf values in 1 of 8 rows"
    ):
        load_dataset("hopper-bullet-medium-v0")


@pytest.mark.parametrize(
    "id_, level",
    [("bullet-hopper-medium-replay-v0", "medium-replay"), ("hopper-bullet-mixed-v0", "mixed")],
)
def test_id_level_names_the_level_as_its_family_does(id_, level):
    spec = get_dataset_spec(id_)
    assert spec.id_level == level
    assert dataset_id(spec.task, level, family=spec.family) == id_


# ---- errors -------------------------------------------------------------------------------------


def test_unknown_id():
    with pytest.raises(UnknownDatasetError, match="hopper-bullet-expert-v0"):
        load_dataset("hopper-bullet-expert-v0")


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "hopper-bullet-mixed-v0.hdf5"
    with pytest.raises(DatasetError, match="no such file") as info:
        load_dataset(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("damage", ["truncated", "not hdf5"])
def test_truncated_or_foreign_file(tmp_path, damage):
    path = write_hdf5(tmp_path / "hopper-bullet-mixed-v0.hdf5", pybullet_arrays()[0])
    if damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_text("observations,actions\n1,2\n")
    with pytest.raises(DatasetError, match="truncated or corrupt") as info:
        load_dataset(path)
    assert str(path) in str(info.value) and "Copy the original file again" in str(info.value)


def test_wrong_obs_dim_for_task(tmp_path):
    path = write_hdf5(tmp_path / "data.hdf5", pybullet_arrays()[0])
    with pytest.raises(DatasetError) as info:
        load_dataset(path, task="ant")
    message = str(info.value)
    assert str(path) in message and "15 dimensions" in message and "'ant' expects 28" in message
    assert "hopper" in message


def test_nan_rewards(tmp_path):
    arrays = pybullet_arrays()[0]
    arrays["rewards"][[5, 9]] = np.nan
    path = write_hdf5(tmp_path / "data.hdf5", arrays)
    with pytest.raises(
        DatasetError, match=r"rewards has NaN or inf values in 2 of 1005 rows"
    ) as info:
        load_dataset(path)
    assert str(path) in str(info.value)


def test_missing_keys(tmp_path):
    arrays = pybullet_arrays()[0]
    del arrays["actions"]
    path = write_hdf5(tmp_path / "hopper-bullet-random-v0.hdf5", arrays)
    with pytest.raises(
        DatasetError, match=r"missing actions\. The d4rl-pybullet layout needs"
    ) as info:
        load_dataset(path)
    assert str(path) in str(info.value)


def test_dict_errors():
    data = from_d4rl(d4rl_arrays(), "hopper")
    with pytest.raises(DatasetError, match=r"^dict: missing next_observations.*from_d4rl"):
        load_dataset({k: v for k, v in data.items() if k != "next_observations"})
    with pytest.raises(DatasetError, match=r"^dict: missing actions, terminals"):
        load_dataset({k: v for k, v in data.items() if k not in ("actions", "terminals")})
    with pytest.raises(DatasetError, match=r"^dict: the arrays differ in length .*rewards 5"):
        load_dataset(data | {"rewards": data["rewards"][:5]})
    with pytest.raises(DatasetError, match=r"^dict: 1 rows are marked both terminal and timeout"):
        load_dataset(data | {"timeouts": data["terminals"]})
    with pytest.raises(DatasetError, match=r"^dict: actions have 3 dimensions but task 'walker2d'"):
        load_dataset(
            data
            | {
                "observations": states(*range(6), dim=22),
                "next_observations": states(*range(6), dim=22),
            },
            task="walker2d",
        )
    with pytest.raises(DatasetError, match=r"^dict: terminals must hold booleans or 0/1"):
        load_dataset(data | {"terminals": np.full(6, 0.5)})


# ---- dicts and returns --------------------------------------------------------------------------


def test_dict_round_trip():
    data = from_d4rl(d4rl_arrays(), "hopper")
    got = load_dataset(data, task="hopper")
    assert_transitions_equal(got, data)
    assert all(np.shares_memory(got[k], data[k]) for k in data)  # right dtypes: no copies
    loose = {k: v.astype(np.float64) for k, v in data.items()} | {"extra": np.zeros(6)}
    del loose["timeouts"]
    got = validate_transitions(loose)
    assert_transitions_equal(got, data | {"timeouts": np.zeros(6, bool)})


def test_episode_returns_known_case():
    data = {
        "rewards": np.array([1, 2, 3, 10, 20, -5, 0.5], np.float32),
        "terminals": np.array([0, 0, 1, 0, 0, 0, 0], bool),
        "timeouts": np.array([0, 0, 0, 0, 1, 0, 0], bool),
    }
    np.testing.assert_allclose(episode_returns(data), [6, 30, -4.5])
    assert episode_count(data) == 3
    data["timeouts"][-1] = True
    np.testing.assert_allclose(episode_returns(data), [6, 30, -4.5])
    assert episode_count(data) == 3
