"""Network building blocks shared by the behaviour SAC, the guidance critics and the diffusion actors.

``EnsembleLinear`` holds ``E`` independent linear layers and applies them in one batched matmul:
twin critics are an ensemble of 2, and several training seeds stack into one ensemble, so one
Python-level step trains all of them.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from mdpt_lib.mish_cpp import CppMish, kernels
from mdpt_lib.rng import MemberRNG, rand

# --- Mish ------------------------------------------------------------------------------------
# mish(x) = x tanh(softplus(x)). Implementations of the same function, chosen by MDPT_MISH:
# - "auto" (the default on CPU): "softplus" for short runs, "cpp" for runs of FAST_MISH_MIN_STEPS
#   or more (``use_fast_mish_for``; the C++ build, 30-60 s once per machine, repays itself there and
#   a short call starts at once);
# - "cpp": one C++ loop per direction, compiled for this CPU (``mdpt_lib.mish_cpp``), float32 only
#   (other dtypes, e.g. under bf16 autocast, take "softplus"); falls back to "softplus" with a
#   warning where it cannot be built;
# - "softplus": x * tanh(softplus(x)) in eager torch, three vectorised ops, nothing to compile.
#   Measured on an Intel Xeon (AMX) with one torch thread: a Diffusion-QL step of one seed 47 ms
#   against 60 ms with ATen's mish and 60 ms with the compiled kernels below;
# - "aten": torch's own F.mish (its backward is the slow part on CPU; the step before the speed work);
# - "fused": torch.compile of the exp formulas of ``mdpt_lib.mish_cpp`` (one compiled loop per
#   direction); the compiled region's per-call overhead costs more than it saves at these sizes.
# All agree to float rounding (tests/test_core.py). On GPUs F.mish is used throughout.
# MDPT_FAST_MISH (the older switch) still works: 1 = fused, 0 = aten, auto = auto.
MISH_IMPLS = ("auto", "cpp", "softplus", "aten", "fused")
MISH_MODE = os.environ.get("MDPT_MISH") or {"1": "fused", "0": "aten", "auto": "auto"}.get(
    os.environ.get("MDPT_FAST_MISH", ""), "auto"
)
if MISH_MODE not in MISH_IMPLS:
    raise ValueError(f"MDPT_MISH={MISH_MODE!r}: one of {', '.join(MISH_IMPLS)}")
FAST_MISH_MIN_STEPS = 1000
"""Training steps from which ``MDPT_MISH=auto`` uses the C++ Mish."""
_mish_in_use = "softplus" if MISH_MODE == "auto" else MISH_MODE


def use_fast_mish_for(steps: int) -> str:
    """Under ``MDPT_MISH=auto``, switch to the C++ Mish (for the rest of the process) if a run of
    ``steps`` repays its build; returns the implementation in use."""
    global _mish_in_use
    if MISH_MODE == "auto" and steps >= FAST_MISH_MIN_STEPS:
        _mish_in_use = "cpp"
    return mish_in_use()


def use_mish(impl: str) -> None:
    """Run ``impl`` (one of ``MISH_IMPLS`` but "auto") for the rest of the process, whatever
    ``MDPT_MISH`` says (benchmarks compare the implementations in one process)."""
    global _mish_in_use
    if impl not in MISH_IMPLS or impl == "auto":
        choices = ", ".join(i for i in MISH_IMPLS if i != "auto")
        raise ValueError(f"Mish implementation {impl!r}: one of {choices}")
    _mish_in_use = impl


def mish_in_use() -> str:
    """The implementation the next CPU float32 Mish call runs ("cpp" only where it is built)."""
    if _mish_in_use == "cpp":
        return "cpp" if kernels() is not None else "softplus"
    return _mish_in_use


def _mish_forward(x: torch.Tensor) -> torch.Tensor:
    e = torch.exp(x.clamp(max=20.0))
    n = e * (e + 2)
    return torch.where(x > 20, x, x * n / (n + 2))


def _mish_backward(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    e = torch.exp(x.clamp(max=20.0))
    n = e * (e + 2)
    t = n / (n + 2)
    d = t + x * (1 - t * t) * (e / (1 + e))
    return grad * torch.where(x > 20, torch.ones_like(x), d)


_compiled: dict[str, object] = {}


def _kernel(name: str):
    """The compiled kernel ``name``; its first call (where compiling happens) hides a warning that
    torch's own internals raise (a deprecated torch.jit API), and nothing else."""
    if name not in _compiled:
        fn = {"forward": _mish_forward, "backward": _mish_backward}[name]
        compiled = torch.compile(fn, dynamic=True)

        def first_call(*args):
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore",
                    message="`torch.jit.script_method` is deprecated",
                    category=DeprecationWarning,
                )
                out = compiled(*args)
            _compiled[name] = compiled
            return out

        _compiled[name] = first_call
    return _compiled[name]


class _FusedMish(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return _kernel("forward")(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return _kernel("backward")(x, grad.contiguous())


def mish_softplus(x: torch.Tensor) -> torch.Tensor:
    """x tanh(softplus(x)), in eager ops."""
    return x * torch.tanh(F.softplus(x))


class Mish(nn.Module):
    """Mish activation, x tanh(softplus(x)): on CPU the implementation ``MDPT_MISH`` names
    (default ``auto``: eager for short runs, C++ for long ones), on other devices ``F.mish``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or _mish_in_use == "aten":
            return F.mish(x)
        if _mish_in_use == "fused":
            return _FusedMish.apply(x)
        if _mish_in_use == "cpp" and x.dtype == torch.float32 and kernels() is not None:
            return CppMish.apply(x)
        return mish_softplus(x)


class EnsembleLinear(nn.Module):
    """``E`` independent affine maps: ``x`` (E, B, in) -> (E, B, out), weights (E, in, out)."""

    def __init__(self, ensemble: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(ensemble, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(ensemble, 1, out_features))
        # the same distribution as nn.Linear's default initialisation, per member
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleMLP(nn.Module):
    """``E`` independent MLPs ``in -> hidden -> ... -> out``; input (E, B, in) or (B, in) (shared)."""

    def __init__(
        self,
        ensemble: int,
        in_features: int,
        out_features: int,
        hidden: int = 256,
        layers: int = 2,
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        sizes = [in_features] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in pairwise(sizes):
            blocks += [EnsembleLinear(ensemble, a, b), activation()]
        blocks.append(EnsembleLinear(ensemble, sizes[-1], out_features))
        self.net = nn.Sequential(*blocks)
        self.ensemble = ensemble

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # the same batch for every member
            x = x.unsqueeze(0).expand(self.ensemble, *x.shape)
        return self.net(x)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the last dimension with per-member affine parameters (E, 1, D)."""

    def __init__(self, ensemble: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ensemble, 1, dim))
        self.bias = nn.Parameter(torch.zeros(ensemble, 1, dim))
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (self.dim,)) * self.weight + self.bias


class SinusoidalTimeEmbedding(nn.Module):
    """Diffusion-QL's time features: sinusoids of the step index (dim) -> MLP -> (dim)."""

    def __init__(self, ensemble: int, dim: int = 16) -> None:
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))
        self.register_buffer("freqs", freqs)
        self.mlp = nn.Sequential(
            EnsembleLinear(ensemble, dim, 2 * dim),
            Mish(),
            EnsembleLinear(ensemble, 2 * dim, dim),
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """t: (E, B) step indices (float) -> (E, B, dim)."""
        angles = t.unsqueeze(-1) * self.freqs
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))


class FourierTimeEmbedding(nn.Module):
    """IDQL's time features: learnable Fourier features of the step index -> MLP -> (dim)."""

    def __init__(self, ensemble: int, dim: int = 64, features: int = 16) -> None:
        super().__init__()
        self.freqs = nn.Parameter(torch.randn(ensemble, 1, features // 2) * 0.2)
        self.mlp = nn.Sequential(
            EnsembleLinear(ensemble, features, 2 * dim),
            nn.SiLU(),
            EnsembleLinear(ensemble, 2 * dim, dim),
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * t.unsqueeze(-1) * self.freqs
        return self.mlp(torch.cat([angles.cos(), angles.sin()], dim=-1))


@dataclass(frozen=True)
class NoiseNetShape:
    """What every noise model is sized by: the ensemble, the data's dimensions, the hidden width,
    the label's width (0: unconditional) and the dropout rate (0: none)."""

    ensemble: int
    obs_dim: int
    act_dim: int
    hidden: int = 256
    cond_dim: int = 0
    dropout: float = 0.0


class NoiseNet(nn.Module):
    """eps_theta(x_t, t, s[, cond]): x (E, B, act), t (E, B), s (E, B, obs), cond (E, B, c) or None
    -> (E, B, act). Subclasses build ``self.time`` first, then their layers over ``in_dim`` inputs."""

    def __init__(self, shape: NoiseNetShape, time: nn.Module, time_dim: int) -> None:
        super().__init__()
        self.time = time
        self.in_dim = shape.act_dim + time_dim + shape.obs_dim + shape.cond_dim

    def inputs(self, x, t, s, cond=None) -> torch.Tensor:
        """[x_t, time features, state, (cond)]: (E, B, in_dim)."""
        return torch.cat([x, self.time(t), s] + ([cond] if cond is not None else []), dim=-1)


class DQLNoiseNet(NoiseNet):
    """Diffusion-QL's noise model: [x_t, time features, state, (cond)] -> 3 x 256 Mish -> eps."""

    def __init__(self, shape: NoiseNetShape, time_dim: int = 16) -> None:
        if shape.dropout:
            raise ValueError("Diffusion-QL's noise MLP has no dropout: use net='idql_resnet'")
        E, hidden = shape.ensemble, shape.hidden
        super().__init__(shape, SinusoidalTimeEmbedding(E, time_dim), time_dim)
        self.mid = nn.Sequential(
            EnsembleLinear(E, self.in_dim, hidden),
            Mish(),
            EnsembleLinear(E, hidden, hidden),
            Mish(),
            EnsembleLinear(E, hidden, hidden),
            Mish(),
        )
        self.out = EnsembleLinear(E, hidden, shape.act_dim)

    def forward(self, x, t, s, cond=None, rng: MemberRNG | None = None):
        return self.out(self.mid(self.inputs(x, t, s, cond)))


class EnsembleDropout(nn.Module):
    """Inverted dropout whose masks come from each member's own generator (``rng``), if given."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor, rng: MemberRNG | None = None) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = rand(rng, x) >= self.p
        return x * keep / (1 - self.p)


class ResidualBlock(nn.Module):
    """IDQL's block: h + Dense(swish(Dense_4x(LayerNorm(Dropout(h)))))."""

    def __init__(self, ensemble: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.dropout = EnsembleDropout(dropout)
        self.norm = EnsembleLayerNorm(ensemble, hidden)
        self.up = EnsembleLinear(ensemble, hidden, 4 * hidden)
        self.down = EnsembleLinear(ensemble, 4 * hidden, hidden)

    def forward(self, h: torch.Tensor, rng: MemberRNG | None = None) -> torch.Tensor:
        return h + self.down(F.silu(self.up(self.norm(self.dropout(h, rng)))))


class IDQLResNet(NoiseNet):
    """IDQL's LN-ResNet noise model: [x_t, time features, state, (cond)] -> Dense -> 3 blocks -> eps."""

    def __init__(self, shape: NoiseNetShape, time_dim: int = 64, blocks: int = 3) -> None:
        E, hidden = shape.ensemble, shape.hidden
        super().__init__(shape, FourierTimeEmbedding(E, time_dim), time_dim)
        self.inp = EnsembleLinear(E, self.in_dim, hidden)
        self.blocks = nn.ModuleList(ResidualBlock(E, hidden, shape.dropout) for _ in range(blocks))
        self.out = EnsembleLinear(E, hidden, shape.act_dim)

    def forward(self, x, t, s, cond=None, rng: MemberRNG | None = None):
        h = self.inp(self.inputs(x, t, s, cond))
        for block in self.blocks:
            h = block(h, rng)
        return self.out(F.silu(h))


NOISE_NETS = {"dql_mlp": DQLNoiseNet, "idql_resnet": IDQLResNet}
"""The diffusion actor's noise networks, by name (an algorithm's ``net`` hyperparameter)."""
