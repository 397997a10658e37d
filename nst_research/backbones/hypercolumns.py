"""Hypercolumns: the features of several layers resampled to one grid and concatenated.

A hypercolumn (Hariharan et al. 2015) describes one image position by the features of several
layers at that position. Layers of different strides are resampled bilinearly
(``align_corners=False``, edges clamped) to one (H, W) grid, either densely or only at sampled
(y, x) positions of that grid, as STROTSS (Kolkin et al. 2019) and NNST (Kolkin et al. 2022) do
with VGG features. Sampling gives exactly the dense values at those positions, without the dense
tensor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _layers(features: Mapping[str, Tensor] | Sequence[Tensor]) -> list[Tensor]:
    feats = list(features.values()) if isinstance(features, Mapping) else list(features)
    if not feats:
        raise ValueError("hypercolumns need at least one layer")
    if len({f.shape[0] for f in feats}) != 1:
        raise ValueError("every layer must have the same batch size")
    return feats


def hypercolumns(
    features: Mapping[str, Tensor] | Sequence[Tensor], size: tuple[int, int]
) -> Tensor:
    """Dense hypercolumns: each layer (B, C_l, H_l, W_l) resized bilinearly to ``size`` (H, W),
    concatenated in the given order: (B, sum_l C_l, H, W)."""
    feats = _layers(features)
    resized = [
        f if tuple(f.shape[-2:]) == tuple(size)
        else F.interpolate(f, size=size, mode="bilinear", align_corners=False)
        for f in feats
    ]  # fmt: skip
    return torch.cat(resized, dim=1)


def hypercolumns_at(
    features: Mapping[str, Tensor] | Sequence[Tensor], size: tuple[int, int], points: Tensor
) -> Tensor:
    """Hypercolumns at ``points`` (N, 2) integer (y, x) positions of the (H, W) grid ``size``:
    (B, N, sum_l C_l), equal to ``hypercolumns(features, size)[:, :, y, x]`` for each point."""
    feats = _layers(features)
    h, w = size
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (N, 2) (y, x) positions, got {tuple(points.shape)}")
    y, x = points[:, 0].float(), points[:, 1].float()
    if (y < 0).any() or (y >= h).any() or (x < 0).any() or (x >= w).any():
        raise ValueError(f"points must lie in the {h}x{w} grid")
    # The grid position's centre in normalised coordinates: grid_sample (align_corners=False)
    # then reads layer position (y + 0.5) * H_l / H - 0.5, as F.interpolate does.
    gy, gx = (2 * y + 1) / h - 1, (2 * x + 1) / w - 1
    out = []
    for f in feats:
        grid = torch.stack([gx, gy], dim=-1).to(f).view(1, 1, -1, 2).expand(f.shape[0], -1, -1, -1)
        sampled = F.grid_sample(
            f, grid, mode="bilinear", padding_mode="border", align_corners=False
        )
        out.append(sampled[:, :, 0, :].transpose(1, 2))  # (B, N, C_l)
    return torch.cat(out, dim=2)


def sample_points(
    size: tuple[int, int], n: int, generator: torch.Generator | None = None
) -> Tensor:
    """``n`` distinct (y, x) positions of an (H, W) grid drawn uniformly (all of them, in random
    order, if ``n >= H * W``): (min(n, H * W), 2) int64."""
    h, w = size
    flat = torch.randperm(h * w, generator=generator)[: max(0, int(n))]
    return torch.stack([flat // w, flat % w], dim=1)
