"""Loss terms as pure functions: tensors in, a scalar tensor out.

Gatys et al.'s terms first, then the distances between feature distributions used by
:mod:`nst_research.loss.style` (MMD, Wasserstein, sliced Wasserstein, MRF patches).

Normalisations are named options, each a table entry (the one place an option is defined and
checked). Notation of Gatys, Ecker & Bethge (CVPR 2016): a layer has N = C filters and
M = H * W positions; F is its (N, M) feature matrix and G = F F^T its Gram matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
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


# --- style distances beyond Gram matrices (nst_research/loss/style.py) ------------------------
# Features as point sets: x (B, M, C) of the generated image, s (B, N, C) of the style; the
# distances are means over the batch.


def points(features: Tensor) -> Tensor:
    """(B, C, H, W) features -> (B, H * W, C): one C-dim point per position."""
    return features.flatten(2).transpose(1, 2)


def mean_std(features: Tensor, eps: float = 1e-5) -> Tensor:
    """(B, C, H, W) -> (B, 2, C): per-channel mean and sqrt(var + eps) over positions.

    The population variance, as batch normalisation and AdaIN (Huang & Belongie 2017) use.
    """
    mean = features.mean(dim=(2, 3))
    var = features.var(dim=(2, 3), correction=0)
    return torch.stack([mean, (var + eps).sqrt()], dim=1)


def mean_std_loss(features: Tensor, target: Tensor, eps: float = 1e-5) -> Tensor:
    """1/C sum_c (mu_c(x) - mu_c(s))^2 + (sigma_c(x) - sigma_c(s))^2 for a (B, 2, C) target
    (Li et al. 2017, the BN-statistics loss)."""
    sq = (mean_std(features, eps) - target).pow(2)
    return sq.sum(dim=(1, 2)).mean() / features.shape[1]


def mmd2_linear(x: Tensor, s: Tensor) -> Tensor:
    """Biased MMD^2 with k(x, y) = x^T y: ||mean_i x_i - mean_j s_j||^2."""
    return (x.mean(1) - s.mean(1)).pow(2).sum(-1).mean()


def second_moment(x: Tensor) -> Tensor:
    """(B, M, C) -> (B, C, C): 1/M sum_i x_i x_i^T, i.e. the Gram matrix F F^T / M."""
    return x.transpose(1, 2) @ x / x.shape[1]


def mmd2_poly(x: Tensor, s: Tensor, c: float = 0.0) -> Tensor:
    """Biased MMD^2 with k(x, y) = (x^T y + c)^2, from the kernel's feature map
    [vec(x x^T), sqrt(2c) x, c]: ||G_x / M - G_s / N||_F^2 + 2c ||mean x - mean s||^2.

    With c = 0 this is the Gram loss (Li et al. 2017, their main result): for equal M = N it is
    4 C^2 times Gatys et al.'s E_l = 1 / (4 C^2 M^2) sum (G_x - G_s)^2.
    """
    gram = (second_moment(x) - second_moment(s)).pow(2).sum(dim=(1, 2)).mean()
    return gram + 2 * c * mmd2_linear(x, s) if c else gram


def sq_distances(a: Tensor, b: Tensor) -> Tensor:
    """(B, M, C), (B, N, C) -> (B, M, N) squared Euclidean distances (smooth at 0, unlike cdist)."""
    cross = a @ b.transpose(1, 2)
    return (a.pow(2).sum(-1, keepdim=True) + b.pow(2).sum(-1).unsqueeze(1) - 2 * cross).clamp_min(0)


def spread(s: Tensor) -> Tensor:
    """(B, N, C) -> (B,): mean_jj' ||s_j - s_j'||^2 = 2 mean_j ||s_j - mean s||^2."""
    return 2 * (s - s.mean(1, keepdim=True)).pow(2).sum(-1).mean(-1)


def mmd2_gaussian(x: Tensor, s: Tensor, width: Tensor | float) -> Tensor:
    """Biased MMD^2 with k(x, y) = exp(-||x - y||^2 / width) (width = 2 sigma^2, (B,) or float)."""
    w = torch.as_tensor(width, dtype=x.dtype, device=x.device).reshape(-1, 1, 1).clamp_min(1e-12)

    def mean_k(a: Tensor, b: Tensor) -> Tensor:
        return torch.exp(-sq_distances(a, b) / w).mean(dim=(1, 2))

    return (mean_k(x, x) + mean_k(s, s) - 2 * mean_k(x, s)).mean()


def subsample(x: Tensor, n: int | None, generator: torch.Generator) -> Tensor:
    """(B, M, C) -> (B, min(n, M), C): ``n`` positions drawn without replacement (None: all)."""
    if n is None or x.shape[1] <= n:
        return x
    index = torch.randperm(x.shape[1], generator=generator)[:n]
    return x[:, index.to(x.device)]


def gaussian_fit(features: Tensor) -> tuple[Tensor, Tensor]:
    """(B, C, H, W) -> mean (B, C) and biased covariance (B, C, C) over positions, in float64."""
    x = points(features).double()
    mean = x.mean(1)
    centred = x - mean.unsqueeze(1)
    return mean, centred.transpose(1, 2) @ centred / x.shape[1]


def sqrtm_psd(a: Tensor) -> Tensor:
    """Square root of symmetric PSD (B, C, C) matrices (eigenvalues clamped at 0), no gradient."""
    vals, vecs = torch.linalg.eigh((a + a.transpose(-2, -1)) / 2)
    return (vecs * vals.clamp_min(0).sqrt().unsqueeze(-2)) @ vecs.transpose(-2, -1)


class _TraceSqrtm(torch.autograd.Function):
    """tr(A^1/2) = sum_i sqrt(max(lambda_i, 0)) of symmetric PSD (B, C, C) matrices -> (B,).

    Gradient (1/2) A^-1/2 = V diag(1 / (2 sqrt(lambda_i))) V^T with lambda_i clamped below at
    eps * max_i lambda_i: no 1 / (lambda_i - lambda_j) terms (as autograd through eigh would
    have), so it is finite for repeated and zero eigenvalues.
    """

    @staticmethod
    def forward(ctx, a: Tensor, eps: float) -> Tensor:  # type: ignore[override]
        vals, vecs = torch.linalg.eigh((a + a.transpose(-2, -1)) / 2)
        floor = eps * vals[..., -1:].clamp_min(torch.finfo(vals.dtype).tiny)
        ctx.save_for_backward(torch.maximum(vals, floor), vecs)
        return vals.clamp_min(0).sqrt().sum(-1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        vals, vecs = ctx.saved_tensors
        scaled = vecs * (0.5 * grad.unsqueeze(-1) / vals.sqrt()).unsqueeze(-2)
        return scaled @ vecs.transpose(-2, -1), None


def trace_sqrtm(a: Tensor, eps: float = 1e-8) -> Tensor:
    """tr(A^1/2) of symmetric PSD (B, C, C) matrices -> (B,), with a finite gradient."""
    return _TraceSqrtm.apply(a, eps)


def wasserstein2_gaussian(
    mean_x: Tensor,
    cov_x: Tensor,
    mean_s: Tensor,
    cov_s: Tensor,
    cov_s_sqrt: Tensor,
    eps: float = 1e-8,
) -> Tensor:
    """Squared W2 of N(mean_x, cov_x) and N(mean_s, cov_s): ||mu_x - mu_s||^2
    + tr(S_x + S_s - 2 (S_s^1/2 S_x S_s^1/2)^1/2); means (B, C), covariances (B, C, C)."""
    cross = cov_s_sqrt @ cov_x @ cov_s_sqrt
    traces = cov_x.diagonal(dim1=-2, dim2=-1).sum(-1) + cov_s.diagonal(dim1=-2, dim2=-1).sum(-1)
    return ((mean_x - mean_s).pow(2).sum(-1) + traces - 2 * trace_sqrtm(cross, eps)).mean()


def random_directions(channels: int, count: int, generator: torch.Generator) -> Tensor:
    """(channels, count) unit vectors, uniform on the sphere (normalised Gaussian draws)."""
    d = torch.randn(channels, count, generator=generator)
    return d / d.norm(dim=0, keepdim=True)


def quantiles(sorted_values: Tensor, n: int) -> Tensor:
    """(..., N) sorted values -> (..., n): the empirical quantiles at levels (k + 1/2) / n,
    linearly interpolated (the values themselves when n == N)."""
    m = sorted_values.shape[-1]
    if m == n:
        return sorted_values
    levels = torch.arange(n, dtype=sorted_values.dtype, device=sorted_values.device)
    pos = ((levels + 0.5) * m / n - 0.5).clamp(0, m - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp_max(m - 1)
    return torch.lerp(sorted_values[..., lo], sorted_values[..., hi], pos - lo)


def sliced_wasserstein2(x: Tensor, s: Tensor, directions: Tensor) -> Tensor:
    """Squared sliced W2 along (C, P) unit directions: mean over directions v and levels k of
    (sort(x v)_k - quantile_k(s v))^2 (Heitz et al. 2021)."""
    px = (x @ directions).transpose(1, 2).sort(dim=-1).values
    ps = (s @ directions).transpose(1, 2).sort(dim=-1).values
    return (px - quantiles(ps, px.shape[-1])).pow(2).mean()


def patches(features: Tensor, size: int, stride: int = 1) -> Tensor:
    """(B, C, H, W) -> (B, P, C * size * size): every size x size patch at ``stride``, flat."""
    return F.unfold(features, size, stride=stride).transpose(1, 2)


@torch.no_grad()
def nearest_patches(x: Tensor, bank: Tensor) -> Tensor:
    """(B, P, D) patches, (B, K, D) bank -> (B, P) index of the bank patch of highest normalised
    cross-correlation x^T b / (|x| |b|) (Li & Wand 2016; |x| does not change the argmax).
    In chunks of at most 2^24 similarities."""
    unit = (bank / bank.norm(dim=-1, keepdim=True).clamp_min(1e-12)).transpose(1, 2)
    chunk = max(1, 2**24 // max(1, bank.shape[1]))
    parts = [(x[:, i : i + chunk] @ unit).argmax(-1) for i in range(0, x.shape[1], chunk)]
    return torch.cat(parts, dim=1)


def mrf_loss(features: Tensor, bank: Tensor, size: int, reduction: str = "mean") -> Tensor:
    """reduce(||x_i - b_NN(i)||^2) over every size x size patch x_i (stride 1) of (B, C, H, W)
    features and its nearest patch in a (1 or B, K, C * size * size) bank (Li & Wand 2016)."""
    reduce = choose(REDUCTIONS, reduction, "style_loss.reduction")
    x = patches(features, size)
    bank = bank.expand(x.shape[0], -1, -1)
    index = nearest_patches(x, bank).unsqueeze(-1).expand(-1, -1, x.shape[-1])
    return reduce((x - torch.gather(bank, 1, index)).pow(2))
