"""Style terms from the methods that followed Gatys et al., per layer, as ``style_loss=`` options
(each one class here plus ``conf/style_loss/<name>.yaml``):

- ``remd``: STROTSS's relaxed EMD with the cosine cost plus its moment term
  (:mod:`nst_research.methods.remd`), on ``positions`` output positions re-drawn every iteration
  from the run's seed, against ``positions`` style positions. STROTSS compares hypercolumns (all
  layers at once); this compares each layer on its own, so it fits every backbone and layer set.
- ``histogram``: Risser et al.'s histogram loss (:mod:`nst_research.methods.addons`), each channel
  matched to the style's exactly.
- ``neighbour``: NNST's fit (:mod:`nst_research.methods.neighbours`): each output feature replaced
  by its nearest style feature under the centred cosine distance, the image fitted to those
  targets by the cosine distance; per layer, the targets found anew at every iteration from the
  output alone (NNST: once per scale, from hypercolumns of a blend of output and content).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.loss.functional import points, subsample
from nst_research.loss.options import nonnegative, optional_integer, positive
from nst_research.loss.seeded import SeededLoss
from nst_research.loss.terms import FeatureLoss
from nst_research.methods.addons import histogram_loss
from nst_research.methods.neighbours import replace_by_nearest
from nst_research.methods.remd import cosine_cost, moment_loss, relaxed_emd


class RelaxedEMDLoss(SeededLoss):
    """``style_loss=remd``: scale * (REMD_cos(x, s) + moment_weight * moments(x, s)) per layer.

    x: the generated image's features at ``positions`` positions (all if fewer), s: the style's
    at as many; both re-drawn each iteration. Moments: mean |mu_x - mu_s| + mean |Σ_x - Σ_s|.
    """

    def __init__(
        self, positions: int | None = 1024, moment_weight: float = 1.0, scale: float = 1.0
    ) -> None:
        super().__init__()
        self.positions = optional_integer(positions, "style_loss.positions", minimum=2)
        self.moment_weight = nonnegative(moment_weight, "style_loss.moment_weight")
        self.scale = positive(scale, "style_loss.scale")

    def statistic(self, features: Tensor) -> Tensor:
        return points(features)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        n, m = (min(self.positions or k, k) for k in (hw, style_hw))
        return style_hw * c + 2 * (n + m) * c + 3 * n * m + 2 * c * c

    def distance(
        self, features: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        g = generator if generator is not None else self.generator()
        x = subsample(points(features), self.positions, g)
        s = subsample(target, self.positions, g)
        total = features.new_zeros(())
        for xb, sb in zip(x, s.expand(x.shape[0], -1, -1), strict=True):
            total = total + relaxed_emd(cosine_cost(xb, sb))
            total = total + self.moment_weight * moment_loss(xb, sb)
        return self.scale * total / x.shape[0]

    def extra_repr(self) -> str:
        return f"positions={self.positions}, moment_weight={self.moment_weight:g}, scale={self.scale:g}"


class HistogramLoss(FeatureLoss):
    """``style_loss=histogram``: scale * MSE(F, match(F, S)) with every channel of F matched to
    the style's histogram (Risser, Wilmot & Barnes 2017; no gradient through the match)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = positive(scale, "style_loss.scale")

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        return style_hw * c + 3 * hw * c  # the target; sorted copy, indices, matched copy

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        return self.scale * histogram_loss(features, target)

    def extra_repr(self) -> str:
        return f"scale={self.scale:g}"


class NeighbourLoss(SeededLoss):
    """``style_loss=neighbour``: scale * mean_i (1 - cos(x_i, s_NN(i))) per layer, s_NN(i) the
    style point nearest to x_i under the centred cosine distance (no gradient through the match).

    x: the output's features at ``positions`` positions (all if fewer), s: the style's at
    ``style_positions``; both re-drawn each iteration from the run's seed.
    """

    def __init__(
        self,
        positions: int | None = 4096,
        style_positions: int | None = 4096,
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.positions = optional_integer(positions, "style_loss.positions", minimum=1)
        self.style_positions = optional_integer(
            style_positions, "style_loss.style_positions", minimum=1
        )
        self.scale = positive(scale, "style_loss.scale")

    def statistic(self, features: Tensor) -> Tensor:
        return points(features)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        n, m = min(self.positions or hw, hw), min(self.style_positions or style_hw, style_hw)
        return style_hw * c + 3 * n * c + 2 * n * min(m, 4096)

    def distance(
        self, features: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        g = generator if generator is not None else self.generator()
        x = subsample(points(features), self.positions, g)
        s = subsample(target, self.style_positions, g)
        total = features.new_zeros(())
        for xb, sb in zip(x, s.expand(x.shape[0], -1, -1), strict=True):
            target_b = replace_by_nearest(xb.detach(), sb)  # (n, C), as cosine_fit_loss, O(n)
            total = total + (1 - F.cosine_similarity(xb, target_b, dim=1)).mean()
        return self.scale * total / x.shape[0]

    def extra_repr(self) -> str:
        return (
            f"positions={self.positions}, style_positions={self.style_positions}, "
            f"scale={self.scale:g}"
        )
