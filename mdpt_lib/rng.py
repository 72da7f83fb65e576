"""One random stream per ensemble member, so a seed's run does not depend on the seeds beside it.

Several seeds train together as one ensemble (a leading member dimension on every tensor). If their
random numbers came from one generator, member ``k`` of ``seed=[0, 1, 2]`` would not be the run that
``seed=1`` gives alone. ``MemberRNG`` holds one ``torch.Generator`` per member, seeded from that
member's own seed, and draws each member's slice of a tensor from its own generator: batch indices,
diffusion times and noise, dropout masks, Diffusion-QL's critic coin all go through it.
"""

from __future__ import annotations

import torch

STREAM_SALT = 7919
"""Training streams are seeded ``seed * STREAM_SALT + 17``, apart from ``torch.manual_seed(seed)``
(which initialises the weights)."""


class MemberRNG:
    """Generators for ``seeds`` on ``device``; every draw returns shape (E, *shape)."""

    def __init__(self, seeds: list[int], device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.generators = [
            torch.Generator(self.device).manual_seed(s * STREAM_SALT + 17) for s in seeds
        ]

    def __len__(self) -> int:
        return len(self.generators)

    def _stack(self, draw) -> torch.Tensor:
        return torch.stack([draw(g) for g in self.generators])

    def randn(self, *shape: int) -> torch.Tensor:
        return self._stack(lambda g: torch.randn(shape, generator=g, device=self.device))

    def rand(self, *shape: int) -> torch.Tensor:
        return self._stack(lambda g: torch.rand(shape, generator=g, device=self.device))

    def randint(self, high: int, *shape: int) -> torch.Tensor:
        return self._stack(lambda g: torch.randint(0, high, shape, generator=g, device=self.device))

    def get_state(self) -> list[torch.Tensor]:
        return [g.get_state() for g in self.generators]

    def set_state(self, states: list[torch.Tensor]) -> None:
        for g, s in zip(self.generators, states, strict=True):
            g.set_state(s)


def randn(rng: MemberRNG | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise shaped like ``like`` (E, ...): from ``rng`` per member, else global."""
    if rng is None:
        return torch.randn_like(like)
    return rng.randn(*like.shape[1:]).to(like.dtype)


def rand(rng: MemberRNG | None, like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) numbers shaped like ``like`` (E, ...): from ``rng`` per member, else global."""
    if rng is None:
        return torch.rand_like(like)
    return rng.rand(*like.shape[1:]).to(like.dtype)
