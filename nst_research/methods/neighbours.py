"""The maths of NNST (Kolkin, Kucera, Paris, Sykora, Shechtman & Shakhnarovich, ECCV 2022,
"Neural Neighbor Style Transfer"; reference code nkolkin13/NeuralNeighborStyleTransfer):
each output hypercolumn is replaced by its nearest style hypercolumn under the centred cosine
distance, and the image is fitted to those targets.

Points are (N, C) tensors, one hypercolumn per row.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nst_research.methods.remd import cosine_cost


def centred_cosine_cost(x: Tensor, style: Tensor) -> Tensor:
    """(N, C), (M, C) -> (N, M): 1 - cos after subtracting the style points' mean from both
    (NNST centres by the style's mean so that the cosine compares directions around it)."""
    centre = style.mean(0, keepdim=True)
    return cosine_cost(x - centre, style - centre)


@torch.no_grad()
def nearest_indices(x: Tensor, style: Tensor, chunk: int = 4096) -> Tensor:
    """(N, C), (M, C) -> (N,) int64: the index of each x_i's nearest style point under
    :func:`centred_cosine_cost` (ties: the lowest index), computed ``chunk`` rows at a time."""
    centre = style.mean(0, keepdim=True)
    out = []
    for start in range(0, x.shape[0], chunk):
        cost = cosine_cost(x[start : start + chunk] - centre, style - centre)
        out.append(cost.argmin(dim=1))
    return torch.cat(out)


def replace_by_nearest(x: Tensor, style: Tensor) -> Tensor:
    """(N, C) -> (N, C): each row replaced by its nearest style point (no gradient: targets)."""
    return style[nearest_indices(x, style)].detach()


def blend(output: Tensor, content: Tensor, alpha: float) -> Tensor:
    """The points NNST matches: alpha * output + (1 - alpha) * content (alpha = 1: the output)."""
    return alpha * output + (1.0 - alpha) * content


def cosine_fit_loss(x: Tensor, targets: Tensor) -> Tensor:
    """(N, C), (N, C) -> mean over rows of 1 - cos(x_i, t_i): how the image is fitted to the
    replaced features."""
    return cosine_cost(x, targets).diagonal().mean()


def rotations(image: Tensor) -> list[Tensor]:
    """(B, C, H, W) -> the image and its rotations by 90, 180 and 270 degrees (NNST augments the
    style's hypercolumns with rotated copies)."""
    return [torch.rot90(image, k, dims=(-2, -1)) for k in range(4)]
