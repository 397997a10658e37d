"""Loss terms of Gatys et al. as pure functions: tensors in, a scalar tensor out.

Normalisations are named options, each a table entry (the one place an option is defined and
checked). Notation of Gatys, Ecker & Bethge (CVPR 2016): a layer has N = C filters and
M = H * W positions; F is its (N, M) feature matrix and G = F F^T its Gram matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from nst_research.errors import choose

# Divisor of F F^T for (C, H, W) features. ``paper``: G / (2 N M), so that the *sum* of squared
# differences of two Grams is the paper's E_l = 1 / (4 N^2 M^2) * sum (G - A)^2 (eq. 4).
GRAM_NORMS: dict[str, Callable[[int, int, int], int]] = {
    "none": lambda c, h, w: 1,
    "hw": lambda c, h, w: h * w,
    "chw": lambda c, h, w: c * h * w,
    "paper": lambda c, h, w: 2 * c * h * w,
}
# Reductions of squared differences: ``mse`` is the mean (jcjohnson/neural-style and most ports),
# ``paper`` 1/2 * sum (Gatys et al. 2016, eq. 1).
CONTENT_NORMS: dict[str, Callable[[Tensor], Tensor]] = {
    "mse": lambda sq: sq.mean(),
    "paper": lambda sq: 0.5 * sq.sum(),
}
REDUCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "mean": lambda sq: sq.mean(),
    "sum": lambda sq: sq.sum(),
}
# Total variation from the horizontal and vertical differences dx, dy of an image.
TV_KINDS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "l1": lambda dx, dy: dx.abs().mean() + dy.abs().mean(),
    "l2": lambda dx, dy: dx.pow(2).mean() + dy.pow(2).mean(),
    "keras": lambda dx, dy: (dx[..., :-1, :].pow(2) + dy[..., :, :-1].pow(2)).pow(1.25).sum(),
}


def gram_matrix(features: Tensor, norm: str = "chw") -> Tensor:
    """Gram matrices of (B, C, H, W) features -> (B, C, C).

    ``norm``: ``none`` (G = F F^T), ``hw`` (G / (H W)), ``chw`` (G / (C H W)), or ``paper``:
    G / (2 N M). With ``paper`` the *sum* of squared differences of two Grams equals the paper's
    E_l = 1 / (4 N^2 M^2) * sum (G - A)^2 (eq. 4), so ``style_loss(..., reduction="sum")`` is E_l.
    """
    divisor = choose(GRAM_NORMS, norm, "Gram normalisation")
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    gram = torch.bmm(f, f.transpose(1, 2))
    return gram if norm == "none" else gram / divisor(c, h, w)


def content_loss(features: Tensor, target: Tensor, norm: str = "mse") -> Tensor:
    """Squared error between (B, C, H, W) features and their target -> scalar.

    ``mse``: mean of squared differences (as jcjohnson/neural-style and most ports).
    ``paper``: 1/2 * sum of squared differences (Gatys et al. 2016, eq. 1).
    """
    reduce = choose(CONTENT_NORMS, norm, "content normalisation")
    return reduce((features - target).pow(2))


def style_loss(
    features: Tensor, target_gram: Tensor, gram_norm: str = "chw", reduction: str = "mean"
) -> Tensor:
    """Squared distance between the Gram of (B, C, H, W) features and a (B, C, C) target -> scalar.

    ``reduction="sum"`` with ``gram_norm="paper"`` is the paper's E_l (eq. 4); ``mean`` averages over
    the C^2 entries instead (jcjohnson/neural-style's MSE on Grams normalised by C H W).
    """
    reduce = choose(REDUCTIONS, reduction, "style reduction")
    return reduce((gram_matrix(features, gram_norm) - target_gram).pow(2))


def tv_loss(image: Tensor, kind: str = "l2") -> Tensor:
    """Total variation of a (B, C, H, W) image -> scalar (not in Gatys et al.; a common smoother).

    With dx = x[..., :, 1:] - x[..., :, :-1] and dy = x[..., 1:, :] - x[..., :-1, :]:
    ``l1``: mean |dx| + mean |dy|; ``l2``: mean dx^2 + mean dy^2;
    ``keras``: sum over the (H-1, W-1) grid of (dx^2 + dy^2) ** 1.25 (the Keras NST example).
    """
    total_variation = choose(TV_KINDS, kind, "TV kind")
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return total_variation(dx, dy)
