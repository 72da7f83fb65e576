"""The GPU path, checked in one short prepared run: tests on the device, one job's speed and memory.

    python benchmarks/gpu_check.py                       # on a CUDA machine (a few minutes)
    python benchmarks/gpu_check.py --device cpu --dry-run   # the same script on a CPU, tiny (CI)

1. runs ``tests/test_device.py`` with ``MDPT_TEST_DEVICE=<device>`` (fit, act, save/load, swaps,
   evaluation, seed independence and resume on that device);
2. trains one job of the ``learning`` benchmark's scale (the paper's networks, hopper
   medium-replay, Diffusion-QL joint, 3 seeds batched, and IDQL's 3 seeds) for ``--steps`` steps
   and prints steps/s (aggregate and per seed), time per step, and peak memory
   (``torch.cuda.max_memory_allocated`` on CUDA, the process's RSS rise on CPU), with the device's
   name (and on CPU its model and fp32 GEMM ceiling) in the same output.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_tests(device: str) -> int:
    env = {**os.environ, "MDPT_TEST_DEVICE": device}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_device.py"]
    print("+", " ".join(cmd), f"(MDPT_TEST_DEVICE={device})", flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def time_job(algo: str, device: str, steps: int, seeds: int, dry_run: bool) -> dict:
    import torch

    from mdpt_lib.agent import make_trainer
    from mdpt_lib.experiments.scales import get_scale
    from mdpt_lib.measure import PeakMemory
    from mdpt_lib.nets import use_fast_mish_for

    scale = get_scale("learn")
    data = "bullet-hopper-medium-replay-v0"
    kw = scale.hparams(algo)
    if dry_run:  # tiny networks and a synthetic dataset: the script's plumbing only
        from tests.bandit import bandit

        data, kw = bandit(), {**kw, "hidden": 32, "critic_hidden": 32, "task": "hopper"}
    trainer = make_trainer(
        data, algo=algo, steps=steps, seed=list(range(seeds)), device=device, **kw
    )
    use_fast_mish_for(10**6)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(min(10, steps)):  # warm-up (kernel selection, compilation)
        trainer.diffusion_step()
    sync()
    with PeakMemory(device) as mem:
        start = time.perf_counter()
        for _ in range(steps):
            trainer.diffusion_step()
        sync()
        seconds = time.perf_counter() - start
    return {
        "algo": algo,
        "seeds": seeds,
        "steps": steps,
        "steps_per_s": steps / seconds,
        "seed_steps_per_s": steps * seeds / seconds,
        "ms_per_step": 1000 * seconds / steps,
        "peak_mb": mem.peak_bytes / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--steps", type=int, default=500, help="timed steps per job")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dry-run", action="store_true", help="tiny networks, synthetic data")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    import torch

    from mdpt_lib.experiments.grid import cpu_model, gemm_gflops

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here: run with --device cpu (--dry-run for the CI check)")
        return 2
    if args.device == "cuda":
        print(f"device: {torch.cuda.get_device_name()} (torch {torch.__version__})")
    else:
        print(
            f"device: {cpu_model()}, {torch.get_num_threads()} threads, fp32 GEMM {gemm_gflops():.0f} GFLOP/s"
        )
    if not args.skip_tests and run_tests(args.device) != 0:
        print("device tests failed")
        return 1
    steps = min(args.steps, 20) if args.dry_run else args.steps
    print(
        f"{'algo':<5} {'seeds':>5} {'steps/s':>9} {'seed-steps/s':>13} {'ms/step':>8} {'peak MB':>8}"
    )
    for algo in ("dql", "idql"):
        r = time_job(algo, args.device, steps, args.seeds, args.dry_run)
        print(
            f"{r['algo']:<5} {r['seeds']:>5} {r['steps_per_s']:>9.1f} {r['seed_steps_per_s']:>13.1f} "
            f"{r['ms_per_step']:>8.2f} {r['peak_mb']:>8.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
