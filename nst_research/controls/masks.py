"""Spatial control (Gatys et al., CVPR 2017, section 4): regions and guided Gram matrices.

Pure maths: label colours -> one region mask per style; masks downsampled to a layer's feature
grid (area-preserving average pooling, as the VGG's pooling shrinks the image); the guided Gram
G_r = (F m_r)(F m_r)^T / norm of the features inside a region. Reading mask files is the input
edge's job (:mod:`nst_research.engine.inputs`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.errors import ConfigError, choose
from nst_research.loss.functional import GRAM_NORMS


def parse_colour(value: object, key: str) -> tuple[int, int, int]:
    """``"#rrggbb"``, ``"rrggbb"`` or ``[r, g, b]`` (0..255) -> (r, g, b)."""
    if isinstance(value, str):
        text = value.strip().lstrip("#")
        if len(text) == 6:
            try:
                return tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
            except ValueError:
                pass
    elif isinstance(value, list | tuple) or hasattr(value, "__iter__"):
        items = list(value)  # type: ignore[call-overload]
        if len(items) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in items):
            return int(items[0]), int(items[1]), int(items[2])
    raise ConfigError(
        f"{key}={value!r} is not a label colour; use '#rrggbb' or [r,g,b] with values 0..255"
    )


def label_regions(labels: Tensor, colours: list[tuple[int, int, int]], tolerance: int) -> Tensor:
    """(H, W, 3) uint8 label map -> (R, H, W) float masks, 1 where a pixel has colour r.

    A pixel belongs to region r when each channel is within ``tolerance`` of colour r (the first
    such colour wins); a pixel of no listed colour belongs to no region (it keeps the content).
    """
    pix = labels.to(torch.int16)
    taken = torch.zeros(labels.shape[:2], dtype=torch.bool)
    masks = []
    for colour in colours:
        near = (pix - torch.tensor(colour, dtype=torch.int16)).abs().amax(dim=-1) <= tolerance
        near &= ~taken
        taken |= near
        masks.append(near)
    return torch.stack(masks).float()


def layer_mask(masks: Tensor, hw: tuple[int, int]) -> Tensor:
    """(R, H, W) masks -> (R, h, w) on a layer's feature grid, by adaptive average pooling.

    Each cell holds the fraction of its image area that lies in the region, so a region's area
    fraction is kept (exactly when H, W are multiples of h, w, as for the VGG's 2x2 poolings).
    """
    if tuple(masks.shape[-2:]) == tuple(hw):
        return masks
    return F.adaptive_avg_pool2d(masks.unsqueeze(0), hw)[0]


def guided_gram(features: Tensor, mask: Tensor, norm: str = "chw") -> Tensor:
    """Gram matrix of (B, C, H, W) features inside an (H, W) region -> (B, C, C).

    G_r = (F m)(F m)^T / divisor(C, A), the divisor of ``gram_matrix``'s ``norm`` with the area
    A = sum m^2 in place of H W: a weighted mean over the region, so an all-ones mask gives the
    plain Gram matrix and a 0/1 mask the Gram matrix of the region's positions only.
    """
    divisor = choose(GRAM_NORMS, norm, "Gram normalisation")
    b, c, h, w = features.shape
    weights = mask.to(features).reshape(1, 1, h * w)
    f = features.reshape(b, c, h * w) * weights
    gram = torch.bmm(f, f.transpose(1, 2))
    if norm == "none":
        return gram
    area = weights.pow(2).sum().clamp_min(1e-8)
    return gram / divisor(c, area, 1)
