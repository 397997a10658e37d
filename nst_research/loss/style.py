"""Style terms beyond Gram matrices: other distances between feature distributions.

Li, Wang, Liu & Hou (IJCAI 2017, "Demystifying Neural Style Transfer") read the Gram loss of
Gatys et al. as a distance between distributions: the C-dim features x_i at the M positions of a
layer of the generated image, against the features s_j at the N positions of the style's. Each
class here is another such distance, a :class:`FeatureLoss` chosen by ``style_loss=<name>``
(``conf/style_loss/<name>.yaml``). Every class has a ``scale`` key, a constant multiplier of the
term, whose YAML default puts the term on the Gram loss's footing at the default weights (the
measurements are in each YAML). The maths is in :mod:`nst_research.loss.functional`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from nst_research.errors import ConfigError, choose
from nst_research.loss.functional import (
    REDUCTIONS,
    gaussian_fit,
    mean_std,
    mean_std_loss,
    mmd2_gaussian,
    mmd2_linear,
    mmd2_poly,
    mrf_loss,
    patches,
    points,
    random_directions,
    sliced_wasserstein2,
    spread,
    sqrtm_psd,
    subsample,
    wasserstein2_gaussian,
)
from nst_research.loss.options import integer, optional_integer, positive
from nst_research.loss.seeded import SeededLoss
from nst_research.loss.terms import FeatureLoss


class MeanStdLoss(FeatureLoss):
    """``style_loss=mean_std``: per-channel means and standard deviations (BN statistics).

    E_l = scale / C * sum_c (mu_c(x) - mu_c(s))^2 + (sigma_c(x) - sigma_c(s))^2, with sigma =
    sqrt(var + eps) over positions: Li et al. 2017 (their batch-normalisation statistics loss);
    the same statistics as Huang & Belongie's AdaIN (2017), whose loss uses unsquared norms.
    """

    def __init__(self, eps: float = 1e-5, scale: float = 1.0) -> None:
        super().__init__()
        self.eps = positive(eps, "style_loss.eps")
        self.scale = positive(scale, "style_loss.scale")

    def statistic(self, features: Tensor) -> Tensor:
        return mean_std(features, self.eps)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        return 2 * hw * c + 4 * c  # the centred features, the moments

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        return self.scale * mean_std_loss(features, target, self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}, scale={self.scale:g}"


# MMD^2 of points x (B, M, C) and s (B, N, C) by kernel; the term gives its keys and a generator.
MMD_KERNELS: dict[str, Callable[[MMDLoss, Tensor, Tensor, torch.Generator], Tensor]] = {
    "linear": lambda term, x, s, g: mmd2_linear(x, s),
    "poly": lambda term, x, s, g: mmd2_poly(x, s, term.c),
    "gaussian": lambda term, x, s, g: mmd2_gaussian(
        subsample(x, term.positions, g),
        subsample(s, term.positions, g),
        term.bandwidth * spread(torch.cat([x, s.expand(x.shape[0], -1, -1)], dim=1)).detach(),
    ),
}


class MMDLoss(SeededLoss):
    """``style_loss=mmd``: squared maximum mean discrepancy of the features (Li et al. 2017).

    The biased (V-statistic) MMD^2 = mean_ii' k(x_i, x_i') + mean_jj' k(s_j, s_j')
    - 2 mean_ij k(x_i, s_j), times ``scale``, with ``kernel``:

    - ``linear``: k = x^T y, so MMD^2 = ||mean x - mean s||^2 (the means only).
    - ``poly``: k = (x^T y + c)^2, so MMD^2 = ||G_x / M - G_s / N||_F^2 + 2c ||mean x - mean s||^2
      with G = F F^T. With ``c=0`` this *is* the Gram loss (Li et al.'s Theorem): it equals
      ``style_loss=gram`` with ``norm=hw, reduction=sum`` exactly, the default ``norm=chw,
      reduction=mean`` times C^4, and the paper's E_l (``norm=paper, reduction=sum``) times 4 C^2.
      (It is the linear kernel on the second-order features vec(x x^T).)
    - ``gaussian``: k = exp(-||x - y||^2 / (bandwidth * D)), D the mean squared distance
      between all pairs of the two images' points pooled (a constant for the gradient), as
      Li et al.'s 2 sigma^2 (they average over sampled pairs). It needs kernel matrices:
      layers with more than ``positions`` positions are compared on ``positions`` random ones
      of each image, re-drawn every iteration from the run's seed (null: all positions).

    ``linear`` and ``poly`` are computed exactly from mean feature maps, on every position.
    """

    def __init__(
        self,
        kernel: str = "gaussian",
        c: float = 0.0,
        bandwidth: float = 1.0,
        positions: int | None = 1024,
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        choose(MMD_KERNELS, kernel, "style_loss.kernel")
        if not (isinstance(c, int | float) and math.isfinite(c) and c >= 0):
            raise ConfigError(f"style_loss.c={c!r} must be a finite number >= 0")
        self.kernel, self.c = kernel, float(c)
        self.bandwidth = positive(bandwidth, "style_loss.bandwidth")
        self.positions = optional_integer(positions, "style_loss.positions", minimum=2)
        self.scale = positive(scale, "style_loss.scale")

    def statistic(self, features: Tensor) -> Tensor:
        return points(features)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        """The style's points (the target); gaussian: the pooled points and the three kernel
        matrices of the sampled positions (distances and exponentials kept for backward)."""
        if self.kernel != "gaussian":
            return style_hw * c + 2 * hw * c + 3 * c * c
        n, m = (min(self.positions or k, k) for k in (hw, style_hw))
        return style_hw * c + 2 * (hw + style_hw) * c + 3 * (n * n + m * m + n * m)

    def distance(
        self, features: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        g = generator if generator is not None else self.generator()
        return self.scale * MMD_KERNELS[self.kernel](self, points(features), target, g)

    def extra_repr(self) -> str:
        return (
            f"kernel={self.kernel!r}, c={self.c:g}, bandwidth={self.bandwidth:g}, "
            f"positions={self.positions}, scale={self.scale:g}"
        )


class WassersteinLoss(FeatureLoss):
    """``style_loss=wasserstein``: 2-Wasserstein distance between Gaussian fits of the features.

    E_l = scale * (||mu_x - mu_s||^2 + tr(S_x + S_s - 2 (S_s^1/2 S_x S_s^1/2)^1/2)), the squared
    W2 between N(mu_x, S_x) and N(mu_s, S_s) (means and biased covariances over positions), as
    crowsonkb/style-transfer-pytorch's style loss. Computed in float64; the trace of the matrix
    square root comes from an eigendecomposition whose gradient uses eigenvalues clamped below
    at ``eps`` times the largest (finite also when S_x == S_s or a covariance is singular).
    The target keeps mu_s, S_s and S_s^1/2, packed as a (B, C, 2C + 1) float64 tensor.
    """

    def __init__(self, eps: float = 1e-8, scale: float = 1.0, reduction: str = "sum") -> None:
        super().__init__()
        self.eps = positive(eps, "style_loss.eps")
        self.scale = positive(scale, "style_loss.scale")
        choose(REDUCTIONS, reduction, "style_loss.reduction")
        self.reduction = reduction

    def statistic(self, features: Tensor) -> Tensor:
        mean, cov = gaussian_fit(features)
        return torch.cat([mean.unsqueeze(-1), cov, sqrtm_psd(cov)], dim=-1)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        # float64 (2 values each): the points and centred points; ~8 (C, C) matrices and the
        # eigendecomposition's; the (C, 2C + 1) target.
        return 2 * (2 * hw * c + 12 * c * c) + 2 * c * (2 * c + 1)

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        c = features.shape[1]
        mean_s, cov_s, cov_s_sqrt = target[..., 0], target[..., 1 : c + 1], target[..., c + 1 :]
        mean_x, cov_x = gaussian_fit(features)
        w2 = wasserstein2_gaussian(mean_x, cov_x, mean_s, cov_s, cov_s_sqrt, self.eps)
        if self.reduction == "mean":  # per channel, as crowsonkb's (its means of the diagonals)
            w2 = w2 / c
        return self.scale * w2.to(features.dtype)

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}, scale={self.scale:g}, reduction={self.reduction!r}"


class SlicedWassersteinLoss(SeededLoss):
    """``style_loss=sliced_wasserstein``: sliced 2-Wasserstein distance (Heitz et al. 2021).

    E_l = scale * mean_v mean_k (sort(x v)_k - Q_sv((k + 1/2) / M))^2 over ``projections`` random
    unit directions v (null: C, one per channel, as Heitz et al.), re-drawn every iteration from
    the run's seed: the squared W2 of the 1-D projections, with the style's quantiles Q_sv
    interpolated at the generated image's M levels when the sizes differ.
    """

    def __init__(self, projections: int | None = None, scale: float = 1.0) -> None:
        super().__init__()
        self.projections = optional_integer(projections, "style_loss.projections")
        self.scale = positive(scale, "style_loss.scale")

    def statistic(self, features: Tensor) -> Tensor:
        return points(features)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        # The style's points (target); per direction: the projections, sorted values and their
        # int64 order (2 values each), the interpolated style quantiles.
        p = self.projections or c
        return style_hw * c + hw * c + p * (4 * hw + 2 * style_hw) + c * p

    def directions(self, channels: int, generator: torch.Generator) -> Tensor:
        """The (C, P) unit directions of one draw."""
        return random_directions(channels, self.projections or channels, generator)

    def distance(
        self, features: Tensor, target: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        g = generator if generator is not None else self.generator()
        dirs = self.directions(features.shape[1], g).to(features)
        return self.scale * sliced_wasserstein2(points(features), target, dirs)

    def extra_repr(self) -> str:
        return f"projections={self.projections}, scale={self.scale:g}"


class MRFLoss(FeatureLoss):
    """``style_loss=mrf``: nearest-neighbour patch matching, the MRF prior of Li & Wand (2016).

    The style's ``patch_size`` x ``patch_size`` feature patches at ``stride`` form a bank; every
    patch of the generated features (stride 1) is matched to the bank patch of highest
    normalised cross-correlation (as Li & Wand) and E_l = scale * reduce(||x_i - s_NN(i)||^2).
    ``reduction=sum`` is the paper's E_s; ``mean`` (default) divides by the number of
    patch entries, so ``scale`` does not depend on the image size.
    """

    def __init__(
        self, patch_size: int = 3, stride: int = 2, reduction: str = "mean", scale: float = 1.0
    ) -> None:
        super().__init__()
        self.patch_size = integer(patch_size, "style_loss.patch_size")
        self.min_positions = self.patch_size  # per side of every style layer (validation.sizes)
        self.stride = integer(stride, "style_loss.stride")
        choose(REDUCTIONS, reduction, "style_loss.reduction")
        self.reduction = reduction
        self.scale = positive(scale, "style_loss.scale")

    def _check_size(self, features: Tensor) -> None:
        h, w = features.shape[-2:]
        if min(h, w) < self.patch_size:
            raise ConfigError(
                f"style_loss=mrf: a style layer is {h}x{w} positions, smaller than "
                f"style_loss.patch_size={self.patch_size}; use a larger size, fewer deep layers "
                "or a smaller patch_size"
            )

    def statistic(self, features: Tensor) -> Tensor:
        self._check_size(features)
        return patches(features, self.patch_size, self.stride)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        """The bank (style patches at ``stride``) and its unit copy; every generated patch
        (stride 1), its matched bank patch and their difference; one similarity chunk."""
        d = c * self.patch_size**2
        return 2 * (style_hw // self.stride**2) * d + 4 * hw * d + 2**24

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        self._check_size(features)
        return self.scale * mrf_loss(features, target, self.patch_size, self.reduction)

    def extra_repr(self) -> str:
        return (
            f"patch_size={self.patch_size}, stride={self.stride}, "
            f"reduction={self.reduction!r}, scale={self.scale:g}"
        )
