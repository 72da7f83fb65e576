"""Mish as one C++ loop per direction, compiled for this machine's CPU on first use.

With e = exp(x) and n = e (e + 2), tanh(softplus(x)) = n / (n + 2), so

    mish(x)  = x n / (n + 2)
    mish'(x) = n / (n + 2) + x * 4 e (1 + e) / (n + 2)^2

(the second term is x sech^2(softplus(x)) sigmoid(x) written with the same e). Each direction is one
pass over memory with one exp per element, which the compiler vectorises (``-O3 -march=native``);
torch's eager composition ``x * tanh(softplus(x))`` makes three passes and its softplus runs a scalar
log1p. Above x = 20, mish(x) = x and mish'(x) = 1 to float precision, as in torch's own softplus.

The build (``torch.utils.cpp_extension.load_inline``, about 30-60 s) is cached on disk under a name
that holds a hash of this source, the compiler flags, torch's and Python's versions and the CPU's
instruction-set flags, so a cache carried to another kind of CPU is never loaded there. Where no
compiler is found or the build fails, ``kernels()`` returns None and ``mdpt_lib.nets`` keeps its
eager Mish.

torch guards a build with a ``lock`` file in the build directory and waits for it without a time
limit; a build killed part-way (a job stopped at a session's end) leaves that file behind and every
later process waited forever. ``kernels()`` therefore waits for a lock itself and removes one older
than ``STALE_LOCK_SECONDS`` (``clear_stale_lock``) before handing over to torch.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
import warnings
from functools import cache
from pathlib import Path

import torch

SOURCE = r"""
#include <torch/extension.h>
#include <cmath>

torch::Tensor mish_forward(torch::Tensor x) {
  TORCH_CHECK(x.scalar_type() == torch::kFloat32, "mish_forward: float32 only");
  auto xc = x.contiguous();
  auto y = torch::empty_like(xc);
  const float* __restrict p = xc.data_ptr<float>();
  float* __restrict q = y.data_ptr<float>();
  const int64_t size = xc.numel();
  #pragma omp simd
  for (int64_t i = 0; i < size; ++i) {
    const float v = p[i];
    const float e = expf(fminf(v, 20.f));
    const float n = e * (e + 2.f);
    q[i] = v > 20.f ? v : v * n / (n + 2.f);
  }
  return y;
}

torch::Tensor mish_backward(torch::Tensor x, torch::Tensor grad) {
  TORCH_CHECK(x.scalar_type() == torch::kFloat32, "mish_backward: float32 only");
  auto xc = x.contiguous();
  auto gc = grad.contiguous();
  auto out = torch::empty_like(xc);
  const float* __restrict p = xc.data_ptr<float>();
  const float* __restrict g = gc.data_ptr<float>();
  float* __restrict q = out.data_ptr<float>();
  const int64_t size = xc.numel();
  #pragma omp simd
  for (int64_t i = 0; i < size; ++i) {
    const float v = p[i];
    const float e = expf(fminf(v, 20.f));
    const float d = e * (e + 2.f) + 2.f;
    const float slope = (d - 2.f) / d + v * 4.f * e * (1.f + e) / (d * d);
    q[i] = g[i] * (v > 20.f ? 1.f : slope);
  }
  return out;
}
"""

FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp-simd")
STALE_LOCK_SECONDS = 300.0
"""Age (s) from which a build lock is taken as left by a killed build: a build takes 30-60 s."""


def _cpu_flags() -> str:
    """The CPU's instruction-set flags (Linux), else the processor's name."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith("flags")), platform.processor())
    except OSError:
        return platform.processor()


def build_name() -> str:
    """The extension's cache name: changes with the source, flags, torch and Python versions
    and CPU."""
    key = "|".join([SOURCE, *FLAGS, torch.__version__, sys.implementation.cache_tag, _cpu_flags()])
    return "mdpt_mish_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def build_directory() -> Path:
    """Where the extension is built and cached: ``$TORCH_EXTENSIONS_DIR`` (else torch's default
    extensions root) / ``build_name()``."""
    from torch.utils.cpp_extension import get_default_build_root

    return Path(os.environ.get("TORCH_EXTENSIONS_DIR") or get_default_build_root()) / build_name()


def clear_stale_lock(
    directory: Path, stale_after: float = STALE_LOCK_SECONDS, poll: float = 1.0
) -> bool:
    """Wait while ``directory/lock`` is held by a build in progress; remove it (with a warning)
    once it is ``stale_after`` seconds old. True where a stale lock was removed."""
    lock = Path(directory) / "lock"
    while True:
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:
            return False
        if age >= stale_after:
            lock.unlink(missing_ok=True)
            warnings.warn(
                f"removed a stale C++ Mish build lock ({lock}, {age:.0f} s old): "
                "a build was killed part-way; building again",
                stacklevel=2,
            )
            return True
        time.sleep(max(0.0, min(poll, stale_after - age)))


@cache
def kernels():
    """The compiled module (``mish_forward(x)``, ``mish_backward(x, grad)``), built once per
    machine and loaded once per process; None (with a warning) where it cannot be built."""
    from torch.utils.cpp_extension import load_inline

    try:
        directory = build_directory()
        directory.mkdir(parents=True, exist_ok=True)
        clear_stale_lock(directory)
        return load_inline(
            build_name(),
            cpp_sources=SOURCE,
            functions=["mish_forward", "mish_backward"],
            extra_cflags=list(FLAGS),
            build_directory=str(directory),
            verbose=False,
        )
    except Exception as error:  # no compiler, no ninja, a failed build: keep the eager Mish
        warnings.warn(
            f"the C++ Mish could not be built ({type(error).__name__}: {error}); "
            "using the eager softplus form (MDPT_MISH=softplus silences this)",
            stacklevel=2,
        )
        return None


class CppMish(torch.autograd.Function):
    """mish(x) with the C++ kernels: float32 CPU tensors (``kernels()`` must not be None)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return kernels().mish_forward(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return kernels().mish_backward(x, grad)
