"""Network building blocks shared by the behaviour SAC, the guidance critics and the diffusion actors.

``EnsembleLinear`` holds ``E`` independent linear layers and applies them in one batched matmul:
twin critics are an ensemble of 2, and several training seeds stack into one ensemble, so one
Python-level step trains all of them.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn


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
