"""What a training run costs: time per step, peak memory, training-state memory.

- ``PeakMemory``: on CPU, the peak resident set size (RSS) of this process while the block runs,
  sampled by a thread every few milliseconds, reported as the rise above the RSS at entry (the
  process's lifetime peak ``ru_maxrss`` cannot be reset between conditions); on CUDA,
  ``torch.cuda.max_memory_allocated`` after a reset.
- ``training_state_bytes``: parameters, gradients and Adam moments of what is trained, plus the
  parameters of what is only used (frozen modules, EMA and target copies): the memory a method needs
  by construction, independent of the allocator.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import numpy as np
import psutil
import torch
from torch import nn


class PeakMemory:
    """Context manager: ``.peak_bytes`` = peak memory above the level at entry."""

    def __init__(self, device: str | torch.device = "cpu", interval: float = 0.005) -> None:
        self.device = torch.device(device)
        self.interval = interval
        self.peak_bytes = 0
        self._paused = False

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self._proc = psutil.Process()
        self._base = self._peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            if not self._paused:
                self._peak = max(self._peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Leave a block (an evaluation, a checkpoint) out of the measurement (CPU only)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._base
            return
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._proc.memory_info().rss)
        self.peak_bytes = self._peak - self._base


def n_params(module: nn.Module) -> int:
    """Number of parameters (scalars) of ``module``."""
    return sum(p.numel() for p in module.parameters())


def training_state_bytes(trained: list[nn.Module], used: list[nn.Module]) -> int:
    """fp32 bytes: 4 copies (weights, gradients, Adam m and v) of trained parameters, 1 of used ones."""
    return 4 * (4 * sum(n_params(m) for m in trained) + sum(n_params(m) for m in used))


class StepTimer:
    """Wall time per training step, leaving out the first ``warmup`` steps of a stage.

    The first steps of a process pay one-time costs (kernel compilation, allocator growth) that
    would otherwise bias short runs: ``with timer.step(i): ...`` times step ``i`` if ``i >= warmup``.
    """

    def __init__(self, warmup: int = 10) -> None:
        self.warmup = warmup
        self.seconds = 0.0
        self.steps = 0

    @contextlib.contextmanager
    def step(self, index: int) -> Iterator[None]:
        start = time.perf_counter()
        yield
        if index >= self.warmup:
            self.seconds += time.perf_counter() - start
            self.steps += 1

    def per_step(self) -> float:
        """Mean seconds per timed step (nan when no step was timed)."""
        return self.seconds / self.steps if self.steps else float("nan")


COUNTS = {"env_steps": 0, "train_steps": 0}
"""Environment steps taken by evaluations and gradient steps (per seed) taken by training, in this process."""


class RunClock:
    """Wall time and work of a notebook run: ``clock = RunClock()`` ... ``clock.report()``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.base = dict(COUNTS)

    def summary(self) -> dict:
        return {
            "wall_seconds": time.perf_counter() - self.start,
            **{k: COUNTS[k] - self.base[k] for k in COUNTS},
        }

    def report(self) -> dict:
        s = self.summary()
        print(
            f"wall time {s['wall_seconds'] / 60:.1f} min, {s['env_steps']:,} environment steps, "
            f"{s['train_steps']:,} training steps (summed over seeds)"
        )
        return s


def random_transitions(
    rows: int, obs_dim: int, act_dim: int, seed: int = 0, end_rate: float = 1e-3
) -> dict[str, np.ndarray]:
    """A random dataset in the library's layout (observations, actions in [-1, 1], rewards,
    next_observations, terminals, timeouts), ``rows`` transitions of the given sizes: for counting
    and timing training steps, whose cost depends on the sizes, not the values."""
    rng = np.random.default_rng(seed)
    return {
        "observations": rng.standard_normal((rows, obs_dim)).astype(np.float32),
        "actions": rng.uniform(-1, 1, (rows, act_dim)).astype(np.float32),
        "rewards": rng.standard_normal(rows).astype(np.float32),
        "next_observations": rng.standard_normal((rows, obs_dim)).astype(np.float32),
        "terminals": rng.random(rows) < end_rate,
        "timeouts": np.zeros(rows, bool),
    }


def step_gflop(algo: str, mode: str, task: str, seed: int = 0, **hparams) -> dict[str, float]:
    """GFLOP of one training step of each stage for one seed, counted by torch's FLOP counter on
    random data of ``task``'s sizes (FLOPs depend on the sizes, not the values): ``guidance`` (a
    stage-1 critic step; 0 where ``mode`` does not pretrain) and ``diffusion`` (a stage-2 step,
    with the critic's step where it still trains). Steps times these is a run's training compute,
    independent of the machine that ran it."""
    from torch.utils.flop_counter import FlopCounterMode

    from mdpt_lib.agent import make_trainer
    from mdpt_lib.envs import get_task

    spec = get_task(task)
    data = random_transitions(4096, spec.obs_dim, spec.act_dim, seed)
    trainer = make_trainer(
        data,
        algo=algo,
        mode=mode,
        steps=10,
        guidance_steps=10,
        seed=seed,
        task=spec.name,
        **hparams,
    )
    out = {"guidance": 0.0}
    if trainer.mode.pretrain:
        with FlopCounterMode(display=False) as counter:
            trainer.guidance_step()
        out["guidance"] = counter.get_total_flops() / 1e9
        trainer.guidance.freeze()
    with FlopCounterMode(display=False) as counter:
        trainer.diffusion_step()
    out["diffusion"] = counter.get_total_flops() / 1e9
    return out


def act_gflop(algo: str, task: str, states: int = 10, seed: int = 0, **hparams) -> dict[str, float]:
    """GFLOP of one batched action call for ``states`` states (one environment step of as many
    episodes run together), counted by torch's FLOP counter for an agent of ``task``'s sizes:
    ``guided`` (all candidates sampled, then scored by the guidance) and ``unguided`` (one plain
    sample). Like ``step_gflop``, independent of the machine and of the weights' values."""
    from torch.utils.flop_counter import FlopCounterMode

    from mdpt_lib.agent import fit
    from mdpt_lib.envs import get_task

    spec = get_task(task)
    data = random_transitions(4096, spec.obs_dim, spec.act_dim, seed)
    agent = fit(data, algo=algo, steps=1, seed=seed, task=spec.name, progress=False, **hparams)
    obs = np.zeros((states, spec.obs_dim), np.float32)
    out = {}
    for name, guidance in (("guided", None), ("unguided", False)):
        with FlopCounterMode(display=False) as counter:
            agent.act(obs, guidance=guidance)
        out[name] = counter.get_total_flops() / 1e9
    return out
