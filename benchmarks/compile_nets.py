"""Does torch.compile of the networks speed up a training step on this CPU?

    python benchmarks/compile_nets.py                  # one thread, DQL and IDQL, one seed
    python benchmarks/compile_nets.py --algos dql --steps 50

A step's matrix products already run near the ceiling (``gemm_floor.py``); the rest is elementwise
work that a compiler could fuse. This compiles, in place, the noise network and every critic network
(``nn.Module.compile``, Inductor, static shapes) of one trainer, with Mish written as
x tanh(softplus(x)) so that the compiler sees it, and times its diffusion steps against an eager copy
(the C++ Mish), interleaved in rounds. Printed per algorithm: the compile time, the largest parameter
difference after two steps from one state (the same math to float rounding), and each form's step
time as a share of the one-thread fp32 ceiling. Joint mode, the paper's sizes, halfcheetah-sized
random data.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from train_speed import gemm_gflops  # the ceiling every speed table of this folder uses

import mdpt_lib.nets as nets
from mdpt_lib.agent import make_trainer
from mdpt_lib.experiments.grid import cpu_model
from mdpt_lib.measure import random_transitions, step_gflop


def networks(trainer) -> list[torch.nn.Module]:
    """The noise network and the guidance's critic networks (Q, its target, IQL's V)."""
    g = trainer.guidance
    return [trainer.policy.model.net] + [
        getattr(g, n) for n in ("q", "q_target", "v") if hasattr(g, n)
    ]


def seconds_per_step(trainer, mish: str, steps: int) -> float:
    nets.use_mish(mish)
    t = time.perf_counter()
    for _ in range(steps):
        trainer.diffusion_step()
    return (time.perf_counter() - t) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["dql", "idql"])
    p.add_argument("--steps", type=int, default=30, help="timed steps per form and round")
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    torch.set_num_threads(1)
    ceiling = gemm_gflops()
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, 1 thread")
    print(f"fp32 GEMM ceiling (1024^3 matmul): {ceiling:.0f} GFLOP/s")
    data = random_transitions(50_000, 26, 6)
    rows = []
    for algo in args.algos:
        eager = make_trainer(data, algo=algo, mode="joint", steps=10**6, task="halfcheetah")
        for _ in range(3):
            eager.diffusion_step()
        compiled, reference = copy.deepcopy(eager), copy.deepcopy(eager)
        for module in networks(compiled):
            module.compile(dynamic=False)
        t = time.perf_counter()
        seconds_per_step(compiled, "softplus", 2)  # compiles
        compile_s = time.perf_counter() - t
        seconds_per_step(reference, "cpp", 2)
        diff = max(
            (a - b).abs().max().item()
            for a, b in zip(
                reference.policy.model.parameters(), compiled.policy.model.parameters(), strict=True
            )
        )
        times: dict[str, list[float]] = {"eager": [], "compiled": []}
        for _ in range(args.rounds):
            times["eager"].append(seconds_per_step(eager, "cpp", args.steps))
            times["compiled"].append(seconds_per_step(compiled, "softplus", args.steps))
        gflop = step_gflop(algo, "joint", "halfcheetah")["diffusion"]
        e, c = (statistics.median(times[k]) for k in ("eager", "compiled"))
        rows.append(
            f"{algo:<6}{compile_s:>11.1f}{diff:>11.1e}{e * 1e3:>10.1f}{gflop / e / ceiling:>8.0%}"
            f"{c * 1e3:>13.1f}{gflop / c / ceiling:>8.0%}"
        )
    print(
        f"{'algo':<6}{'compile s':>11}{'max diff':>11}{'eager ms':>10}{'share':>8}{'compiled ms':>13}{'share':>8}"
    )
    print("\n".join(rows))
    print(
        "eager: the C++ Mish, no compile; compiled: noise and critic networks compiled, Mish as "
        "x tanh(softplus(x)); max diff: largest parameter difference after 2 steps from one state; "
        "ms: median over rounds of one step; share: of the fp32 ceiling."
    )


if __name__ == "__main__":
    main()
