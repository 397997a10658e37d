"""``param=pixels``: the parameter is the image itself (Gatys et al. 2016)."""

from __future__ import annotations

import torch
from torch import Tensor

from nst_research.params.base import Parametrisation


class Pixels(Parametrisation):
    """The identity: ``decode`` returns the parameter object itself (no copy, no new autograd
    node), so a run with ``param=pixels`` computes exactly what it did before parametrisations."""

    def encode(self, image: Tensor) -> Tensor:
        return image

    def decode(self, param: Tensor, shape: torch.Size) -> Tensor:
        return param
