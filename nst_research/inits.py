"""Where the optimised image starts (``conf/init/*.yaml``): callables of the run's images.

Each takes the (1, 3, H, W) content and style images in [0, 1] and the run's seed, and returns
a (1, 3, H, W) image of the content's size (clamped to [0, 1] by the module).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.images import image_to_tensor, load_image, resolve_image


def _resized(image: Tensor, like: Tensor) -> Tensor:
    return F.interpolate(image, size=tuple(like.shape[-2:]), mode="bilinear", antialias=True)


def from_content(content: Tensor, style: Tensor, seed: int) -> Tensor:
    """``init=content``: the content image itself (jcjohnson/neural-style's default)."""
    return content


def from_style(content: Tensor, style: Tensor, seed: int) -> Tensor:
    """``init=style``: the style image, resized to the content's size."""
    return _resized(style, content)


def white_noise(content: Tensor, style: Tensor, seed: int) -> Tensor:
    """``init=noise``: uniform in [0, 1] per pixel from the run's seed (Gatys et al. 2016)."""
    return torch.rand(content.shape, generator=torch.Generator().manual_seed(seed))


def from_image(content: Tensor, style: Tensor, seed: int, *, path: str) -> Tensor:
    """``init=image init.path=PATH``: an image file, resized to the content's size."""
    image = load_image(resolve_image(path, "init image"), role="init image")
    return _resized(image_to_tensor(image).clamp(0, 1), content)
