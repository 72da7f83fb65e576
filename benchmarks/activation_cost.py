"""What Mish costs in a training step on CPU, and so what a faster Mish could give at most.

    python benchmarks/activation_cost.py                  # one thread, DQL and IDQL, 4 rounds
    python benchmarks/activation_cost.py --threads 2 --rounds 6 --fused

One trainer per algorithm (joint mode, the paper's sizes, halfcheetah-sized random data, one seed)
runs its diffusion step with each Mish implementation of ``mdpt_lib.nets`` in turn (``cpp``, the
default of long runs, first: its build happens before any timing), round after
round (interleaved, so a change in the machine's load hits every variant alike), and once with
ReLU in Mish's place: not the same network, only the floor an activation as cheap as ReLU would
reach. Printed: the CPU model, the process's fp32 GEMM ceiling, the median time per step of each
variant, the step's GFLOP (torch's counter) as a share of the ceiling, and Mish's share of the step
((mish - relu) / mish) for the eager and the C++ forms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from train_speed import gemm_gflops  # the ceiling every speed table of this folder uses

import mdpt_lib.nets as nets
from mdpt_lib.agent import make_trainer
from mdpt_lib.experiments.grid import cpu_model
from mdpt_lib.measure import random_transitions, step_gflop
from mdpt_lib.mish_cpp import kernels


def relu_forward(self, x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["dql", "idql"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30, help="timed steps per variant and round")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--fused", action="store_true", help="also the compiled fused Mish (compiles)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    variants = ["cpp", "softplus", "aten"] + (["fused"] * args.fused) + ["relu (floor)"]
    ceiling = gemm_gflops()
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, {args.threads} thread(s)")
    print(f"fp32 GEMM ceiling (1024^3 matmul): {ceiling:.0f} GFLOP/s")
    built = kernels() is not None  # builds the C++ Mish here (once per machine), before timing
    print(f"C++ Mish: {'built' if built else 'could not be built: its rows run the eager form'}")
    data = random_transitions(50_000, 26, 6)
    original = nets.Mish.forward
    for algo in args.algos:
        trainer = make_trainer(
            data, algo=algo, mode="joint", steps=10**6, seed=0, task="halfcheetah"
        )
        gflop = step_gflop(algo, "joint", "halfcheetah")["diffusion"]
        times: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(args.rounds):
            for v in variants:
                nets.Mish.forward = relu_forward if v.startswith("relu") else original
                nets.use_mish(v if v in nets.MISH_IMPLS else "softplus")
                for _ in range(3):  # warm-up (and the fused kernels' compilation)
                    trainer.diffusion_step()
                t = time.perf_counter()
                for _ in range(args.steps):
                    trainer.diffusion_step()
                times[v].append((time.perf_counter() - t) / args.steps)
        nets.Mish.forward = original
        nets.use_mish("softplus")
        med = {v: statistics.median(ts) for v, ts in times.items()}
        print(f"\n{algo.upper()} joint, one seed, {gflop:.2f} GFLOP per diffusion step")
        print(f"{'Mish':<14}{'ms/step':>9}{'range':>16}{'% of ceiling':>14}")
        for v, ts in times.items():
            share = gflop / med[v] / ceiling
            print(
                f"{v:<14}{med[v] * 1e3:>9.1f}{min(ts) * 1e3:>8.1f}-{max(ts) * 1e3:<7.1f}{share:>13.0%}"
            )
        for v in ("softplus", "cpp"):
            share = (med[v] - med["relu (floor)"]) / med[v]
            print(f"Mish's share of the step ({v} - relu) / {v}: {share:.0%}")


if __name__ == "__main__":
    main()
