"""The algorithm registry: one file per algorithm, adding one is a class and a line."""

import pytest

import mdpt_lib
from mdpt_lib.algos import ALGORITHMS, PAPER_ALGOS, get_algorithm, register
from mdpt_lib.algos.dql import DQL
from mdpt_lib.config import HParams, hparams
from tests.bandit import bandit

TINY = {"hidden": 32, "critic_hidden": 32, "batch_size": 16, "task": "hopper", "progress": False}


def test_registry_holds_the_three_algorithms_and_the_paper_pair():
    assert set(ALGORITHMS) == {"idql", "dql", "cfg"} and set(PAPER_ALGOS) <= set(ALGORITHMS)
    assert hparams("dql", "hopper", "medium-replay").select_beta == 100.0
    assert hparams("dql", "walker2d", "medium").select_beta == 300.0
    with pytest.raises(ValueError, match="valid ones are idql, dql, cfg"):
        get_algorithm("edp")


def test_adding_an_algorithm_is_one_class_and_one_line():
    class HalfQ(DQL):  # Diffusion-QL with half the Q term, as a stand-in for a new algorithm
        name, title = "halfq", "half-Q"

        def actor_loss(self, policy, batch, guidance, rng):
            bc, q, logs = super().actor_loss(policy, batch, guidance, rng)
            return bc, None if q is None else q / 2, logs

    register(HalfQ())
    try:
        agent = mdpt_lib.fit(bandit(), algo="halfq", steps=3, seed=0, **TINY)
        assert agent.algo == "halfq" and agent.guidance.kind == "double_q"
    finally:
        del ALGORITHMS["halfq"]


def test_overrides_an_algorithm_cannot_run_are_refused():
    with pytest.raises(ValueError, match="behaviour cloning"):
        hparams("idql", eta=1.0)
    with pytest.raises(ValueError, match="algo='cfg'"):
        hparams("dql", cfg_weight=1.0)
    with pytest.raises(ValueError, match="critic='iql'"):
        hparams("cfg", critic="double_q")


@pytest.mark.parametrize(
    "field",
    [
        "net",
        "critic",
        "reward_scale",
        "pretrain_form",
        "precision",
        "inference_precision",
        "selection",
    ],
)
def test_every_string_hyperparameter_is_checked_in_one_place(field):
    with pytest.raises(ValueError, match=f"unknown {field} 'nope'"):
        HParams().replace(**{field: "nope"})


def test_guidance_takes_a_module_and_critic_the_kind():
    with pytest.raises(TypeError, match="critic='iql'"):
        mdpt_lib.fit(bandit(), algo="dql", steps=2, guidance="iql", **TINY)
    agent = mdpt_lib.fit(
        bandit(), algo="dql", steps=2, critic="iql", **TINY
    )  # DQL's Q term, IQL critic
    assert agent.guidance.kind == "iql"
