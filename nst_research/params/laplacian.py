"""``param=laplacian``: the image is the sum of a Laplacian pyramid whose coefficients are optimised.

STROTSS (Kolkin, Salavon & Shakhnarovich, CVPR 2019; ``pyr_lap.py`` of nkolkin13/STROTSS:
``dec_lap_pyr`` / ``syn_lap_pyr``) and NNST (Kolkin et al. 2022) optimise the pyramid's
coefficients instead of the pixels: a gradient step on a coarse level moves a whole region at
once, so large structures change faster than under pixel descent.

Pure functions: :func:`build_pyramid` (image -> ``levels`` band-pass images and a low-pass
residual, each level half the size of the one above), :func:`reconstruct` (their sum, each
upsampled to the next size: the exact inverse, up to float rounding, since every band is defined
as what the upsampled coarser image misses), and :func:`pack` / :func:`unpack` (the levels as
one flat vector: the module holds one parameter).

Departure from STROTSS: bilinear resampling with ``align_corners=False`` (torch's default and
:func:`nst_research.optimisation.schedules.upsample`'s), where STROTSS's ``upsample_bilinear`` aligns corners;
the round trip is exact either way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.errors import ConfigError
from nst_research.params.base import Parametrisation


def _resize(image: Tensor, hw: tuple[int, int]) -> Tensor:
    return F.interpolate(image, size=hw, mode="bilinear", align_corners=False)


def level_sizes(hw: tuple[int, int], levels: int) -> list[tuple[int, int]]:
    """The (h, w) of each of the ``levels + 1`` pyramid images: halved (floor, at least 1)."""
    sizes = [(int(hw[0]), int(hw[1]))]
    for _ in range(levels):
        h, w = sizes[-1]
        sizes.append((max(h // 2, 1), max(w // 2, 1)))
    return sizes


def build_pyramid(image: Tensor, levels: int) -> list[Tensor]:
    """(B, C, H, W) -> ``levels`` band-pass images (finest first) and the low-pass residual.

    Band i is ``cur - up(down(cur))`` at level i's size; the residual is the last ``down``.
    ``levels=0``: ``[image]``.
    """
    pyramid, cur = [], image
    sizes = level_sizes(tuple(image.shape[-2:]), levels)
    for hw, small_hw in zip(sizes, sizes[1:], strict=False):
        small = _resize(cur, small_hw)
        pyramid.append(cur - _resize(small, hw))
        cur = small
    pyramid.append(cur)
    return pyramid


def reconstruct(pyramid: list[Tensor]) -> Tensor:
    """The image a pyramid encodes: from the residual up, upsample and add each band."""
    cur = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        cur = band + _resize(cur, tuple(band.shape[-2:]))
    return cur


def pack(pyramid: list[Tensor]) -> Tensor:
    """The levels as one flat vector (finest first)."""
    return torch.cat([level.reshape(-1) for level in pyramid])


def unpack(flat: Tensor, shape: torch.Size | tuple[int, ...], levels: int) -> list[Tensor]:
    """The inverse of :func:`pack` for an image of ``shape`` (B, C, H, W): views of ``flat``."""
    b, c = int(shape[0]), int(shape[1])
    sizes = level_sizes((int(shape[-2]), int(shape[-1])), levels)
    counts = [b * c * h * w for h, w in sizes]
    if flat.numel() != sum(counts):
        raise ValueError(
            f"{flat.numel()} coefficients do not make a {levels}-level pyramid of an image "
            f"of shape {tuple(shape)} ({sum(counts)})"
        )
    parts = torch.split(flat, counts)
    return [p.view(b, c, h, w) for p, (h, w) in zip(parts, sizes, strict=True)]


class Laplacian(Parametrisation):
    """``param=laplacian``: the parameter is the packed Laplacian pyramid of the image.

    Args:
        levels: band-pass levels above the low-pass residual (STROTSS's ``levs``, 5 there);
            0 is the image itself. An image too small for them ends in 1 px levels.
    """

    def __init__(self, levels: int = 5) -> None:
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
            raise ConfigError(f"param.levels={levels!r} must be an integer >= 0")
        self.levels = levels

    @torch.no_grad()
    def encode(self, image: Tensor) -> Tensor:
        return pack(build_pyramid(image, self.levels))

    def decode(self, param: Tensor, shape: torch.Size) -> Tensor:
        return reconstruct(unpack(param, shape, self.levels))

    def __repr__(self) -> str:
        return f"Laplacian(levels={self.levels})"
