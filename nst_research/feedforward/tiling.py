"""Run a fixed-size image network on an image of any size: overlapping tiles, blended seams.

The image is padded (reflection) to at least one tile per side, cut into tiles of ``tile`` px
that overlap by at least ``overlap`` px, and each tile's output is weighted by a cosine ramp
that rises from ~0 to 1 across the overlap on every side shared with another tile (flat on the
image's borders); the weighted sum is divided by the sum of weights, so the weights of each
pixel sum to one and the output varies smoothly from one tile into the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering ``length`` (>= ``tile``), overlapping >= ``overlap``.

    Evenly spread: the first starts at 0, the last ends at ``length``.
    """
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def ramp(tile: int, before: int, after: int) -> Tensor:
    """(tile,) weights: a raised-cosine rise over ``before`` px and fall over ``after`` px."""
    w = torch.ones(tile, dtype=torch.float64)
    for n, sl in ((before, slice(0, before)), (after, slice(tile - after, tile))):
        if n > 0:
            x = (torch.arange(n, dtype=torch.float64) + 0.5) / n
            rise = 0.5 - 0.5 * torch.cos(math.pi * x)
            w[sl] = rise if sl.start == 0 else rise.flip(0)
    return w


def _weights(starts: list[int], tile: int) -> list[Tensor]:
    """One ramp per tile: rising over its overlap with the previous tile, falling over the next."""
    out = []
    for i, s in enumerate(starts):
        before = starts[i - 1] + tile - s if i > 0 else 0
        after = s + tile - starts[i + 1] if i + 1 < len(starts) else 0
        out.append(ramp(tile, before, after))
    return out


def _pad_to(image: Tensor, tile: int) -> Tensor:
    """Pad (right, bottom) to at least ``tile`` px per side: reflection, else edge copies."""
    h, w = image.shape[-2:]
    ph, pw = max(0, tile - h), max(0, tile - w)
    if ph == pw == 0:
        return image
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(image, (0, pw, 0, ph), mode=mode)


def tiled(fn: Callable[[Tensor], Tensor], image: Tensor, tile: int, overlap: int) -> Tensor:
    """``fn`` (a (B, C, tile, tile) -> (B, C', tile, tile) network) over a (B, C, H, W) image.

    Returns (B, C', H, W): tiles blended with cosine ramps across their overlaps.
    """
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap={overlap} must be in 0..{tile - 1}")
    h, w = image.shape[-2:]
    padded = _pad_to(image, tile)
    ys, xs = (
        tile_starts(padded.shape[-2], tile, overlap),
        tile_starts(padded.shape[-1], tile, overlap),
    )
    wy, wx = _weights(ys, tile), _weights(xs, tile)
    total = weight = None
    for y, ry in zip(ys, wy, strict=True):
        for x, rx in zip(xs, wx, strict=True):
            out = fn(padded[..., y : y + tile, x : x + tile])
            if total is None:
                total = out.new_zeros(*out.shape[:2], *padded.shape[-2:])
                weight = out.new_zeros(1, 1, *padded.shape[-2:])
            wt = (ry[:, None] * rx[None, :]).to(out)
            total[..., y : y + tile, x : x + tile] += out * wt
            weight[..., y : y + tile, x : x + tile] += wt
    return (total / weight)[..., :h, :w]
