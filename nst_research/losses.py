"""Loss terms of Gatys et al. as pure functions: tensors in, a scalar tensor out.

Normalisations are named options. Notation of Gatys, Ecker & Bethge (CVPR 2016): a layer has
N = C filters and M = H * W positions; F is its (N, M) feature matrix and G = F F^T its Gram matrix.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nst_research.names import CONTENT_NORMS, GRAM_NORMS, REDUCTIONS, TV_KINDS


def gram_matrix(features: Tensor, norm: str = "chw") -> Tensor:
    """Gram matrices of (B, C, H, W) features -> (B, C, C).

    ``norm``: ``none`` (G = F F^T), ``hw`` (G / (H W)), ``chw`` (G / (C H W)), or ``paper``:
    G / (2 N M). With ``paper`` the *sum* of squared differences of two Grams equals the paper's
    E_l = 1 / (4 N^2 M^2) * sum (G - A)^2 (eq. 4), so ``style_loss(..., reduction="sum")`` is E_l.
    """
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    gram = torch.bmm(f, f.transpose(1, 2))
    if norm == "none":
        return gram
    if norm == "hw":
        return gram / (h * w)
    if norm == "chw":
        return gram / (c * h * w)
    if norm == "paper":
        return gram / (2 * c * h * w)
    raise ValueError(f"unknown Gram normalisation {norm!r}; choose one of {GRAM_NORMS}")


def content_loss(features: Tensor, target: Tensor, norm: str = "mse") -> Tensor:
    """Squared error between (B, C, H, W) features and their target -> scalar.

    ``mse``: mean of squared differences (as jcjohnson/neural-style and most ports).
    ``paper``: 1/2 * sum of squared differences (Gatys et al. 2016, eq. 1).
    """
    diff = features - target
    if norm == "mse":
        return diff.pow(2).mean()
    if norm == "paper":
        return 0.5 * diff.pow(2).sum()
    raise ValueError(f"unknown content normalisation {norm!r}; choose one of {CONTENT_NORMS}")


def style_loss(
    features: Tensor, target_gram: Tensor, gram_norm: str = "chw", reduction: str = "mean"
) -> Tensor:
    """Squared distance between the Gram of (B, C, H, W) features and a (B, C, C) target -> scalar.

    ``reduction="sum"`` with ``gram_norm="paper"`` is the paper's E_l (eq. 4); ``mean`` averages over
    the C^2 entries instead (jcjohnson/neural-style's MSE on Grams normalised by C H W).
    """
    diff = gram_matrix(features, gram_norm) - target_gram
    if reduction == "mean":
        return diff.pow(2).mean()
    if reduction == "sum":
        return diff.pow(2).sum()
    raise ValueError(f"unknown style reduction {reduction!r}; choose one of {REDUCTIONS}")


def tv_loss(image: Tensor, kind: str = "l2") -> Tensor:
    """Total variation of a (B, C, H, W) image -> scalar (not in Gatys et al.; a common smoother).

    With dx = x[..., :, 1:] - x[..., :, :-1] and dy = x[..., 1:, :] - x[..., :-1, :]:
    ``l1``: mean |dx| + mean |dy|; ``l2``: mean dx^2 + mean dy^2;
    ``keras``: sum over the (H-1, W-1) grid of (dx^2 + dy^2) ** 1.25 (the Keras NST example).
    """
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    if kind == "l1":
        return dx.abs().mean() + dy.abs().mean()
    if kind == "l2":
        return dx.pow(2).mean() + dy.pow(2).mean()
    if kind == "keras":
        return (dx[..., :-1, :].pow(2) + dy[..., :, :-1].pow(2)).pow(1.25).sum()
    raise ValueError(f"unknown TV kind {kind!r}; choose one of {TV_KINDS}")
