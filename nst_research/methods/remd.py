"""The maths of STROTSS (Kolkin, Salavon & Shakhnarovich, CVPR 2019, "Style Transfer by Relaxed
Optimal Transport and Self-Similarity"; reference code nkolkin13/STROTSS): cost matrices between
point sets, the relaxed earth mover's distance, the moment term and the palette term.

Points are (N, C) tensors: one C-dim feature vector (a hypercolumn, or an RGB colour) per row.
Pure functions, no state; the loss terms that sample the points live beside the other terms.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-5

# The RGB -> YUV rotation STROTSS's palette term compares colours in (its ``rgb_to_yuv``).
RGB_TO_YUV = torch.tensor(
    [
        [0.577350, 0.577350, 0.577350],
        [-0.577350, 0.788675, -0.211325],
        [-0.577350, -0.211325, 0.788675],
    ]
)


def cosine_cost(x: Tensor, y: Tensor, eps: float = EPS) -> Tensor:
    """(N, C), (M, C) -> (N, M): 1 - cos(x_i, y_j) (norms clamped below at ``eps``)."""
    xn = x / x.norm(dim=1, keepdim=True).clamp_min(eps)
    yn = y / y.norm(dim=1, keepdim=True).clamp_min(eps)
    return 1.0 - xn @ yn.T


def euclidean_cost(x: Tensor, y: Tensor) -> Tensor:
    """(N, C), (M, C) -> (N, M): sqrt(||x_i - y_j||² / C), the squared distance clamped to
    [1e-5, 1e5] first, as the reference's ``pairwise_distances_sq_l2``."""
    sq = (x * x).sum(1, keepdim=True) + (y * y).sum(1).unsqueeze(0) - 2.0 * x @ y.T
    return (sq.clamp(1e-5, 1e5) / x.shape[1]).sqrt()


def relaxed_emd(cost: Tensor) -> Tensor:
    """The relaxed EMD of a (N, M) cost matrix: max(mean_i min_j C_ij, mean_j min_i C_ij).

    Each relaxation drops one of the transport plan's two marginal constraints, so each point
    moves to its nearest neighbour in the other set; the max of the two is a lower bound of the
    EMD with uniform weights (STROTSS eq. 3-5)."""
    return torch.maximum(cost.min(dim=1).values.mean(), cost.min(dim=0).values.mean())


def moment_loss(x: Tensor, y: Tensor) -> Tensor:
    """(N, C), (M, C) -> scalar: mean |mu_x - mu_y| + mean |Sigma_x - Sigma_y| (STROTSS's
    ``moment_loss`` with moments 1 and 2; biased covariances)."""
    mu_x, mu_y = x.mean(0, keepdim=True), y.mean(0, keepdim=True)
    cx, cy = x - mu_x, y - mu_y
    cov_x, cov_y = cx.T @ cx / x.shape[0], cy.T @ cy / y.shape[0]
    return (mu_x - mu_y).abs().mean() + (cov_x - cov_y).abs().mean()


def palette_loss(rgb_x: Tensor, rgb_y: Tensor) -> Tensor:
    """(N, 3), (M, 3) RGB -> the relaxed EMD of the colours rotated to YUV, with the cost
    cosine + Euclidean (STROTSS's palette matching term)."""
    rot = RGB_TO_YUV.to(rgb_x)
    x, y = rgb_x @ rot.T, rgb_y @ rot.T
    return relaxed_emd(cosine_cost(x, y) + euclidean_cost(x, y))


def strotss_total(
    content: Tensor, remd: Tensor, moment: Tensor, palette: Tensor, alpha: float
) -> Tensor:
    """(alpha * content + remd + moment + palette / max(alpha, 1)) / (alpha + 2), the weighting
    of STROTSS's ``calculate_loss`` (alpha: the content weight of the current scale)."""
    style = remd + moment + palette / max(alpha, 1.0)
    return (alpha * content + style) / (alpha + 2.0)
