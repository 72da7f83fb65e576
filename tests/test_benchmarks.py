"""The benchmarks' own arithmetic (their timings are not tested: they run on demand)."""

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.mark.parametrize("algo", ["dql", "idql"])
def test_gemm_floor_finds_every_matrix_product_of_a_step(algo, monkeypatch):
    """The products the profiler records, counted once each, hold all of the step's FLOPs as torch's
    counter counts them: none missed, none counted twice through a nested call."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    gemm_floor = importlib.import_module("gemm_floor")
    from mdpt_lib.agent import make_trainer
    from mdpt_lib.measure import random_transitions, step_gflop

    data = random_transitions(2_000, 26, 6)
    trainer = make_trainer(data, algo=algo, mode="joint", steps=100, seed=0, task="halfcheetah")
    products = gemm_floor.step_products(trainer)
    gflop = sum(n * gemm_floor.flops(op, s) for (op, s), n in products.items()) / 1e9
    assert gflop == pytest.approx(step_gflop(algo, "joint", "halfcheetah")["diffusion"], rel=0.01)
    sys.modules.pop("gemm_floor", None)


@pytest.mark.parametrize("algo", ["dql", "idql"])
def test_compile_nets_compiles_every_network_a_step_trains(algo, monkeypatch):
    """The networks compile_nets.py compiles hold every parameter of the noise model and the
    guidance: a step's networks are all compiled, none left eager."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    compile_nets = importlib.import_module("compile_nets")
    from mdpt_lib.agent import make_trainer
    from mdpt_lib.measure import random_transitions

    data = random_transitions(2_000, 26, 6)
    trainer = make_trainer(data, algo=algo, mode="joint", steps=100, seed=0, task="halfcheetah")
    compiled = {id(p) for m in compile_nets.networks(trainer) for p in m.parameters()}
    wanted = [*trainer.policy.model.net.parameters(), *trainer.guidance.parameters()]
    assert all(id(p) in compiled for p in wanted)
    sys.modules.pop("compile_nets", None)
