"""Split an ensemble module into its members and stack members back into one ensemble.

Every ensemble module here stores its constructor arguments in ``self.init_args`` (with the member
count under ``"ensemble"``) and keeps its members along dimension 0 of every ensemble parameter, so
member ``k`` of a module is the module rebuilt with ``ensemble=1`` and ``[k:k+1]`` of those tensors.
Training stacks seeds into one ensemble (one batched step for all); inference, saving and guidance
swaps work on single members.
"""

from __future__ import annotations

import torch
from torch import nn


class EnsembleModule(nn.Module):
    """Base class: remembers its constructor arguments so it can be rebuilt with another size."""

    init_args: dict
    extra_attributes: tuple[str, ...] = ()  # non-tensor state carried by member() and stack()

    @property
    def ensemble(self) -> int:
        return self.init_args["ensemble"]

    def rebuilt(self, ensemble: int) -> EnsembleModule:
        """A fresh module of the same class and arguments with ``ensemble`` members."""
        return type(self)(**{**self.init_args, "ensemble": ensemble})


def _members_per_row(a: torch.Tensor, na: int, b: torch.Tensor, nb: int) -> int:
    """How many rows of dim 0 each member owns in ``a`` (of ``na`` members) and ``b`` (of ``nb``).

    0 when dim 0 is not a member dimension (the tensor is shared, like a noise schedule). Twin
    critics own 2 rows per member, laid out member-major.
    """
    if na == nb or a.dim() == 0 or a.shape[1:] != b.shape[1:]:
        return 0
    if a.shape[0] % na or b.shape[0] % nb or a.shape[0] // na != b.shape[0] // nb:
        return 0
    return a.shape[0] // na


def member(module: EnsembleModule, k: int) -> EnsembleModule:
    """Member ``k`` of ``module`` as a one-member module (a copy)."""
    n = module.ensemble
    if not 0 <= k < n:
        raise IndexError(f"member {k} of an ensemble of {n}")
    out = module.rebuilt(1)
    shapes = out.state_dict()
    state = {}
    for key, v in module.state_dict().items():
        m = _members_per_row(v, n, shapes[key], 1)
        state[key] = (v[m * k : m * (k + 1)] if m else v).clone()
    out.load_state_dict(state)
    _copy_attributes(module, out)
    return out


def stack(modules: list[EnsembleModule]) -> EnsembleModule:
    """One ensemble whose members are those of ``modules`` in order (all of one class and shape)."""
    first = modules[0]
    n = sum(m.ensemble for m in modules)
    out = first.rebuilt(n)
    shapes = out.state_dict()
    states = [m.state_dict() for m in modules]
    out.load_state_dict(
        {
            key: torch.cat([s[key] for s in states])
            if _members_per_row(shapes[key], n, v, first.ensemble)
            else v.clone()
            for key, v in states[0].items()
        }
    )
    _copy_attributes(first, out)
    return out


def _copy_attributes(src: nn.Module, dst: nn.Module) -> None:
    """Carry the non-tensor state (metadata, frozen flag) that ``state_dict`` does not hold."""
    for name in getattr(src, "extra_attributes", ()):
        setattr(dst, name, getattr(src, name))


@torch.no_grad()
def clip_grad_norm_per_member(
    parameters: list[torch.nn.Parameter], ensemble: int, max_norm: float
) -> torch.Tensor:
    """``clip_grad_norm_`` for each member separately: its own norm over its own slices. -> (E,) norms.

    Every ensemble parameter keeps its members along dimension 0 (member-major when a member owns
    several rows, like twin critics), so ``grad.view(E, -1)[k]`` is member ``k``'s part.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(ensemble)
    sq = sum(g.reshape(ensemble, -1).pow(2).sum(1) for g in grads)
    norms = sq.sqrt()
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.view(ensemble, -1).mul_(coef.to(g.dtype).unsqueeze(1))
    return norms
