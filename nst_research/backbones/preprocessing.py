"""Preprocessing: an RGB image in [0, 1] to a backbone's input space, and back."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from nst_research.errors import choose


@dataclass(frozen=True)
class Preprocessing:
    """Maps an RGB image in [0, 1] to the input space of a set of weights, and back.

    ``caffe``: RGB->BGR, scale to 0..255, subtract the BGR mean (103.939, 116.779, 123.68).
    ``torchvision``: subtract the ImageNet mean and divide by its std, RGB in 0..1.
    """

    name: str
    bgr: bool
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def _stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return mean, std

    def __call__(self, rgb01: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 3, H, W) network input."""
        x = rgb01.flip(1) if self.bgr else rgb01
        mean, std = self._stats(x)
        return (x * self.scale - mean) / std

    def inverse(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) network input -> (B, 3, H, W) RGB, nominally in [0, 1] (not clamped)."""
        mean, std = self._stats(x)
        x = (x * std + mean) / self.scale
        return x.flip(1) if self.bgr else x


PREPROCESSING = {
    "caffe": Preprocessing("caffe", True, 255.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0)),
    "torchvision": Preprocessing(
        "torchvision", False, 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ),
}


def named_preprocessing(name: str, key: str = "model.preprocessing") -> Preprocessing:
    """The named preprocessing, or a one-line ConfigError listing the names."""
    return choose(PREPROCESSING, name, key)
