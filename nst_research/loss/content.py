"""Content terms beyond feature MSE (``content_loss=<name>``, ``conf/content_loss/<name>.yaml``).

``content_loss=mse`` is :class:`nst_research.loss.terms.ContentLoss` (Gatys et al. 2016, eq. 1).
``content_loss=self_similarity`` is STROTSS's content loss (Kolkin, Salavon & Shakhnarovich,
"Style Transfer by Relaxed Optimal Transport and Self-Similarity", CVPR 2019, eq. 5): instead of
the features themselves, the *pattern of similarities* between positions must match the
content's, so the features may change (take on the style) as long as what was alike stays alike.

Pure maths first (tensors in, tensor out), then the term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.loss.functional import points
from nst_research.loss.options import optional_integer, positive
from nst_research.loss.seeded import SeededLoss


def cosine_distances(x: Tensor, eps: float = 1e-8) -> Tensor:
    """(B, N, C) points -> (B, N, N) matrix D_ij = 1 - cos(x_i, x_j).

    Norms are clamped at ``eps`` (a zero feature vector, e.g. a dead ReLU position, has
    cosine 0 to every point instead of a NaN); STROTSS divides by the norms unclamped.
    """
    unit = F.normalize(x, dim=-1, eps=eps)
    return 1.0 - unit @ unit.transpose(-1, -2)


def column_normalised(d: Tensor, eps: float = 1e-12) -> Tensor:
    """(B, N, N) -> each column divided by its sum (+ ``eps``, against all-equal points)."""
    return d / (d.sum(dim=-2, keepdim=True) + eps)


def self_similarity_loss(x: Tensor, c: Tensor) -> Tensor:
    """STROTSS's content loss of (B, N, C) points ``x`` (output) and ``c`` (content), same N.

    L = N * mean_ij |D^x_ij / sum_k D^x_kj - D^c_ij / sum_k D^c_kj| (mean over B as well), with
    D = 1 - cos of every pair of points (:func:`cosine_distances`): ``dp_loss`` in
    ``contextual_loss.py`` of nkolkin13/STROTSS (``Mx / Mx.sum(0)``, ``abs(Mx - My).mean() *
    X.size(0)``). Each normalised column sums to 1, so the factor N keeps the loss of the same
    order whatever the number of points. Zero iff the two normalised matrices agree.
    """
    dx = column_normalised(cosine_distances(x))
    dc = column_normalised(cosine_distances(c))
    return (dx - dc).abs().mean() * x.shape[-2]


def sample_positions(m: int, n: int | None, generator: torch.Generator) -> Tensor | None:
    """``n`` of ``m`` positions drawn without replacement (None: all of them, in order)."""
    if n is None or m <= n:
        return None
    return torch.randperm(m, generator=generator)[:n]


class SelfSimilarityLoss(SeededLoss):
    """``content_loss=self_similarity``: :func:`self_similarity_loss` at sampled positions.

    Per content layer, ``positions`` positions are drawn (without replacement; null: all of
    them), the *same* positions in the output's and the content's features, re-drawn every
    iteration from the run's seed (all evaluations of one iteration, e.g. an L-BFGS line search,
    see the same draw). The loss is ``scale`` times the STROTSS loss.

    Departures from STROTSS: it is computed per content layer (weighted by the content layer
    weights) rather than once on a hypercolumn of many layers with RGB, and positions are drawn
    uniformly rather than from a strided grid with a random offset (STROTSS also takes 32^2 =
    1024 of them).
    """

    def __init__(self, positions: int | None = 1024, scale: float = 1.0) -> None:
        super().__init__()
        self.positions = optional_integer(positions, "content_loss.positions", minimum=2)
        self.scale = positive(scale, "content_loss.scale")

    def generator(self, layer: str = "") -> torch.Generator:
        # Not the draw of a random style term on the same layer.
        return super().generator(f"content:{layer}")

    def distance(
        self, features: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        g = generator if generator is not None else self.generator()
        x, c = points(features), points(target)
        index = sample_positions(x.shape[1], self.positions, g)
        if index is not None:
            index = index.to(x.device)
            x, c = x[:, index], c[:, index]
        return self.scale * self_similarity_loss(x, c)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        """The content's features (the target), the sampled points of both and about six
        (N, N) matrices (distances, normalised, their difference) kept for backward."""
        n = min(self.positions or hw, hw)
        return hw * c + 2 * n * c + 6 * n * n

    def extra_repr(self) -> str:
        return f"positions={self.positions}, scale={self.scale:g}"
