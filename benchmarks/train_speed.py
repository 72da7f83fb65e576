"""Training speed, FLOPs, memory and sampling latency of IDQL and DQL, joint vs guidance-first.

    python benchmarks/train_speed.py                      # the paper's sizes, halfcheetah dimensions
    python benchmarks/train_speed.py --seeds 1 4 --steps 200
    python benchmarks/train_speed.py --configs dql:joint --precision fp32 bf16   # bf16 autocast

Each configuration runs in a fresh subprocess (so its peak RSS is its own) on synthetic
halfcheetah-sized data: hidden 256, batch 256, T = 5. Printed per configuration:
- steps/s of the diffusion stage (and of the guidance-only stage 1 for guidance_first), aggregate
  over the seeds trained together in one process;
- FLOPs per step (torch's FLOP counter) and the share of the measured fp32 GEMM ceiling;
- process peak RSS and training-state memory (parameters, gradients, Adam moments of what trains,
  plus weights of what is only used);
- sampling latency of 50 candidates for 1 state and for 50 states.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

CONFIGS = [
    ("idql", "joint"),
    ("idql", "guidance_first"),
    ("dql", "joint"),
    ("dql", "guidance_first"),
]


def synthetic(rows: int = 100_000, obs_dim: int = 26, act_dim: int = 6, seed: int = 0) -> dict:
    """Halfcheetah-sized random data (the benchmark's default sizes)."""
    from mdpt_lib.measure import random_transitions

    return random_transitions(rows, obs_dim, act_dim, seed)


def gemm_gflops(n: int = 1024, reps: int = 20, dtype: str = "fp32") -> float:
    """Measured dense matmul throughput of this process (its torch threads) in fp32 or bf16."""
    import torch

    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def child(algo: str, mode: str, seeds: int, steps: int, threads: int, precision: str) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import mdpt_lib
    from mdpt_lib.agent import make_trainer

    torch.set_num_threads(threads)
    from mdpt_lib.nets import use_fast_mish_for

    use_fast_mish_for(10**6)  # what a long run gets (under MDPT_MISH=auto: the C++ Mish)
    trainer = make_trainer(
        synthetic(),
        algo=algo,
        mode=mode,
        steps=steps,
        seed=list(range(seeds)),
        task="halfcheetah",
        guidance_steps=steps,
        precision=precision,
    )
    out = {"algo": algo, "mode": mode, "seeds": seeds, "threads": threads, "precision": precision}
    stages = [("guidance", trainer.guidance_step)] if mode == "guidance_first" else []
    stages.append(("diffusion", trainer.diffusion_step))
    for name, step in stages:
        if name == "diffusion" and mode == "guidance_first":
            trainer.guidance.freeze()
        for _ in range(5):  # warm-up
            step()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        sec = (time.perf_counter() - t) / steps
        with FlopCounterMode(display=False) as counter:  # after timing: it slows what follows
            step()
        out[f"{name}_steps_per_s"] = seeds / sec
        out[f"{name}_gflop_per_step"] = counter.get_total_flops() / seeds / 1e9
        out[f"{name}_gflops"] = counter.get_total_flops() / sec / 1e9
    out["gemm_gflops"] = gemm_gflops()
    out["gemm_gflops_bf16"] = gemm_gflops(dtype="bf16")
    trainer.mode = trainer.mode  # measurement of state uses the mode's own rules
    out["train_state_mb"] = trainer._measurements()["stage2_train_state_mb"] / seeds
    if mode == "guidance_first":
        out["stage1_train_state_mb"] = trainer._measurements()["stage1_train_state_mb"] / seeds
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if seeds == 1:
        agent = mdpt_lib.Agent(trainer.policy, trainer.guidance, algo)
        for n_states in (1, 50):
            obs = np.zeros((n_states, 26), np.float32)
            agent.act(obs, candidates=50)
            t = time.perf_counter()
            for _ in range(10):
                agent.act(obs, candidates=50)
            out[f"sample_ms_{n_states}_states"] = (time.perf_counter() - t) / 10 * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=100, help="timed steps per stage")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4], help="seeds per process")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", nargs="+", default=[f"{a}:{m}" for a, m in CONFIGS])
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        algo, mode, seeds, precision = args.child.split(":")
        print(json.dumps(child(algo, mode, int(seeds), args.steps, args.threads, precision)))
        return
    rows = []
    for config in args.configs:
        for seeds, precision in [(s, p) for s in args.seeds for p in args.precision]:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                f"{config}:{seeds}:{precision}",
                "--steps",
                str(args.steps),
                "--threads",
                str(args.threads),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"{r['algo']:<5} {r['mode']:<15} {precision} seeds {r['seeds']}: "
                f"{r['diffusion_steps_per_s']:.1f} steps/s",
                file=sys.stderr,
            )
    head = (
        f"{'algo':<5} {'mode':<15} {'prec':<4} {'seeds':>5} {'steps/s':>8} {'GFLOP/step':>10} {'% GEMM':>7} "
        f"{'stage1 steps/s':>14} {'state MB/seed':>13} {'peak RSS MB':>11} {'50 cand, 1 s':>12} {'50 cand, 50 s':>13}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        share = 100 * r["diffusion_gflops"] / r["gemm_gflops"]
        s1 = f"{r['guidance_steps_per_s']:.1f}" if "guidance_steps_per_s" in r else "-"
        lat1 = f"{r['sample_ms_1_states']:.1f} ms" if "sample_ms_1_states" in r else "-"
        lat50 = f"{r['sample_ms_50_states']:.1f} ms" if "sample_ms_50_states" in r else "-"
        print(
            f"{r['algo']:<5} {r['mode']:<15} {r['precision']:<4} {r['seeds']:>5} "
            f"{r['diffusion_steps_per_s']:>8.1f} "
            f"{r['diffusion_gflop_per_step']:>10.3f} {share:>6.0f}% {s1:>14} {r['train_state_mb']:>13.2f} "
            f"{r['peak_rss_mb']:>11.0f} {lat1:>12} {lat50:>13}"
        )
    print(
        f"\nGEMM ceiling (1024^3 matmul, {args.threads} threads): fp32 {rows[0]['gemm_gflops']:.0f}, "
        f"bf16 {rows[0]['gemm_gflops_bf16']:.0f} GFLOP/s; % GEMM is against fp32's; steps/s "
        "aggregate over the seeds of one process; state = training-state memory per seed."
    )
    from mdpt_lib.nets import MISH_MODE, mish_in_use

    print(f"Mish: {MISH_MODE} (MDPT_MISH; mdpt_lib.nets), in use: {mish_in_use()}")


if __name__ == "__main__":
    main()
