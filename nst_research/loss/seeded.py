"""The base of terms that draw at random (sampled positions, projections): reproducible draws."""

from __future__ import annotations

import zlib

import torch
from torch import Tensor

from nst_research.loss.terms import FeatureLoss


class SeededLoss(FeatureLoss):
    """A style term that draws at random, reproducibly from (run seed, iteration, layer).

    ``reseed`` (once, from ``build.check``) and ``set_step`` (every iteration, from the module)
    set the numbers; all evaluations of one iteration (an L-BFGS line search) see the same draws,
    the next iteration new ones. The draws come from a CPU ``torch.Generator``, so they are the
    same on every device.
    """

    redraws = True

    def __init__(self) -> None:
        super().__init__()
        self.seed, self.step = 0, 0

    def reseed(self, seed: int) -> None:
        self.seed = int(seed)

    def set_step(self, step: int) -> None:
        self.step = int(step)

    def generator(self, layer: str = "") -> torch.Generator:
        """The generator of this iteration and layer (a fresh one each call)."""
        key = f"{self.seed}:{self.step}:{layer}".encode()
        return torch.Generator().manual_seed(zlib.crc32(key))

    def forward(self, features: Tensor, layer: str) -> Tensor:
        return self.distance(features, self.target(layer), self.generator(layer))

    def distance(  # pragma: no cover
        self, features: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        raise NotImplementedError
