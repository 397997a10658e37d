"""Where the optimised image starts (``conf/init/*.yaml``): callables of the run's images.

Each takes the (1, 3, H, W) content and style images in [0, 1] and the run's seed, and returns
a (1, 3, H, W) image of the content's size (clamped to [0, 1] by the module).

The deterministic starts (content, style, image) take ``perturb``: the amplitude, in [0, 1] RGB
units, of a uniform noise in [-perturb, perturb] per pixel drawn from the run's seed and added
to the start (``init.perturb=0.05``). L-BFGS from the content image is deterministic, so seeds
give identical replicates; a perturbed start gives real ones. 0 (the default) leaves the start
as it was.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.errors import ConfigError
from nst_research.io.images import image_to_tensor, load_image, resolve_image


def _resized(image: Tensor, like: Tensor) -> Tensor:
    return F.interpolate(image, size=tuple(like.shape[-2:]), mode="bilinear", antialias=True)


def perturbed(image: Tensor, perturb: float, seed: int) -> Tensor:
    """``image`` plus uniform noise in [-perturb, perturb] per pixel from ``seed``; ``image``
    itself when ``perturb`` is 0. (1, 3, H, W) in, same shape out (not clamped)."""
    if not 0.0 <= perturb <= 1.0:
        raise ConfigError(
            f"init.perturb={perturb} must be in [0, 1] (a noise amplitude in RGB units)"
        )
    if perturb == 0:
        return image
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(image.shape, generator=generator).to(image.device, image.dtype)
    return image + perturb * (2.0 * noise - 1.0)


def from_content(content: Tensor, style: Tensor, seed: int, *, perturb: float = 0.0) -> Tensor:
    """``init=content``: the content image itself (jcjohnson/neural-style's default)."""
    return perturbed(content, perturb, seed)


def from_style(content: Tensor, style: Tensor, seed: int, *, perturb: float = 0.0) -> Tensor:
    """``init=style``: the style image, resized to the content's size."""
    return perturbed(_resized(style, content), perturb, seed)


def white_noise(content: Tensor, style: Tensor, seed: int) -> Tensor:
    """``init=noise``: uniform in [0, 1] per pixel from the run's seed (Gatys et al. 2016)."""
    return torch.rand(content.shape, generator=torch.Generator().manual_seed(seed))


def from_image(
    content: Tensor, style: Tensor, seed: int, *, path: str, perturb: float = 0.0
) -> Tensor:
    """``init=image init.path=PATH``: an image file, resized to the content's size."""
    image = load_image(resolve_image(path, "init image"), role="init image")
    return perturbed(_resized(image_to_tensor(image).clamp(0, 1), content), perturb, seed)


def low_pass(image: Tensor, factor: int) -> Tensor:
    """(1, 3, H, W) -> the image downsampled by ``factor`` (antialiased) and upsampled back
    (bilinear): its coarse part. ``factor`` 1: the image itself."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ConfigError(f"init.blur={factor!r} must be an integer >= 1 (a downsampling factor)")
    if factor == 1:
        return image
    h, w = image.shape[-2:]
    small = F.interpolate(
        image, size=(max(1, h // factor), max(1, w // factor)), mode="bilinear", antialias=True
    )
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def blurred_content(content: Tensor, style: Tensor, seed: int, *, blur: int = 8) -> Tensor:
    """``init=blurred_content``: the content's coarse part (NNST starts from a blurred content)."""
    return low_pass(content, blur)


def style_colour_band(content: Tensor, style: Tensor, seed: int, *, blur: int = 2) -> Tensor:
    """``init=style_colour``: the style's mean colour plus the content's finest band
    (``content - low_pass(content, blur)``), STROTSS's start."""
    mean = style.mean(dim=(-2, -1), keepdim=True)
    return mean + content - low_pass(content, blur)
