"""How near the machine's fp32 ceiling a training step could get at all: its own GEMMs, alone.

    python benchmarks/gemm_floor.py                    # one thread, DQL and IDQL, one seed
    python benchmarks/gemm_floor.py --threads 2 --seeds 5

The speed goal is a share of the ceiling measured on a 1024^3 matmul, but a step's matrix products
are small (batch 256, widths 256 to 1024), and small products run below that ceiling whatever else
the step does. This script records every matrix product of one diffusion step (joint mode, the
paper's sizes, halfcheetah-sized random data) with torch's profiler, forward and backward, with
their shapes; replays each of them alone, many times, with the same op; and sums their times. That
sum is the step's time if everything but its matrix products cost nothing (an optimistic floor:
a product replayed alone finds its operands in cache). Printed per algorithm: the step's measured
time, the products-only time, and each as a share of the ceiling (the step's GFLOP from torch's
counter), with the products' own share of the step's FLOPs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

import torch
from torch.profiler import ProfilerActivity, profile
from train_speed import gemm_gflops  # the ceiling every speed table of this folder uses

from mdpt_lib.agent import make_trainer
from mdpt_lib.experiments.grid import cpu_model
from mdpt_lib.measure import random_transitions, step_gflop

GEMMS = {
    "aten::mm": torch.mm,
    "aten::addmm": torch.addmm,
    "aten::bmm": torch.bmm,
    "aten::baddbmm": torch.baddbmm,
}
"""The matrix-product ops a step runs, and the function that replays each."""


def step_products(trainer) -> Counter:
    """(op, input shapes) -> how often one diffusion step runs it; products nested inside another
    (e.g. a ``matmul`` that calls ``bmm``) are counted once, at the outermost."""
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        trainer.diffusion_step()
    found: Counter = Counter()
    for e in prof.events():
        if e.name not in GEMMS:
            continue
        parent, nested = e.cpu_parent, False
        while parent is not None:
            nested |= parent.name in GEMMS
            parent = parent.cpu_parent
        if not nested:
            shapes = tuple(tuple(s) for s in e.input_shapes if s)
            found[(e.name, shapes)] += 1
    return found


def flops(op: str, shapes: tuple) -> float:
    """Multiply-adds x 2 of one product: (m, k) @ (k, n), batched where it is a bmm."""
    a, b = (shapes[1], shapes[2]) if op in ("aten::addmm", "aten::baddbmm") else shapes[:2]
    batch = a[0] if len(a) == 3 else 1
    m, k, n = a[-2], a[-1], b[-1]
    return 2.0 * batch * m * k * n


def replay_seconds(op: str, shapes: tuple, reps: int) -> float:
    """Median seconds of one call of ``op`` on random operands of ``shapes``."""
    args = [torch.randn(*s) for s in shapes]
    fn = GEMMS[op]
    for _ in range(5):
        fn(*args)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn(*args)
        times.append((time.perf_counter() - t) / reps)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["dql", "idql"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seeds", type=int, default=1, help="seeds trained together (batched)")
    p.add_argument("--steps", type=int, default=40, help="timed training steps per algorithm")
    p.add_argument("--reps", type=int, default=50, help="replays per product and round")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    ceiling = gemm_gflops()
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, {args.threads} thread(s)")
    print(f"fp32 GEMM ceiling (1024^3 matmul): {ceiling:.0f} GFLOP/s; {args.seeds} seed(s)")
    data = random_transitions(50_000, 26, 6)
    header = (
        f"{'algo':<6}{'step ms':>9}{'% ceiling':>11}{'products ms':>13}{'% ceiling':>11}"
        f"{'products % of FLOPs':>21}{'distinct products':>19}"
    )
    rows = []
    for algo in args.algos:
        trainer = make_trainer(
            data,
            algo=algo,
            mode="joint",
            steps=10**6,
            seed=list(range(args.seeds)),
            task="halfcheetah",
        )
        for _ in range(5):  # warm-up
            trainer.diffusion_step()
        t = time.perf_counter()
        for _ in range(args.steps):
            trainer.diffusion_step()
        step_s = (time.perf_counter() - t) / args.steps
        gflop = args.seeds * step_gflop(algo, "joint", "halfcheetah")["diffusion"]
        products = step_products(trainer)
        gemm_s = sum(n * replay_seconds(op, s, args.reps) for (op, s), n in products.items())
        gemm_gflop = sum(n * flops(op, s) for (op, s), n in products.items()) / 1e9
        rows.append(
            f"{algo:<6}{step_s * 1e3:>9.1f}{gflop / step_s / ceiling:>11.0%}"
            f"{gemm_s * 1e3:>13.1f}{gemm_gflop / gemm_s / ceiling:>11.0%}"
            f"{gemm_gflop / gflop:>21.0%}{len(products):>19}"
        )
    print(header)
    print("\n".join(rows))
    print(
        "products ms: the step's matrix products replayed alone (an optimistic floor); their "
        "% ceiling is the best share any step of these shapes reaches on this machine."
    )


if __name__ == "__main__":
    main()
