"""OkLAB (Björn Ottosson 2020) and matching an image's colours to another's in it: mean and
covariance of the (L, a, b) pixels, as NNST's colour post-processing does.

Images are (B, 3, H, W) RGB in [0, 1], sRGB-encoded; OkLAB works on linear light, so the sRGB
transfer function is undone first and redone after.
"""

from __future__ import annotations

import torch
from torch import Tensor

_M1 = torch.tensor(  # linear sRGB -> LMS
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ],
    dtype=torch.float64,
)
_M2 = torch.tensor(  # LMS^(1/3) -> Lab
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ],
    dtype=torch.float64,
)


def _mix(matrix: Tensor, image: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(image), image)


def srgb_to_linear(x: Tensor) -> Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp_min(0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: Tensor) -> Tensor:
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(0) ** (1 / 2.4) - 0.055)


def rgb_to_oklab(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> (B, 3, H, W) OkLAB (L in [0, 1], a and b about ±0.4)."""
    lms = _mix(_M1, srgb_to_linear(rgb))
    return _mix(_M2, torch.sign(lms) * lms.abs().pow(1 / 3))


def oklab_to_rgb(lab: Tensor) -> Tensor:
    """The inverse of :func:`rgb_to_oklab` (not clamped)."""
    lms_cbrt = _mix(torch.linalg.inv(_M2), lab)
    return linear_to_srgb(_mix(torch.linalg.inv(_M1), lms_cbrt**3))


def _stats(lab: Tensor) -> tuple[Tensor, Tensor]:
    """(1, 3, H, W) -> mean (3,) and covariance (3, 3) of the pixels, float64."""
    x = lab.flatten(2)[0].double()
    mean = x.mean(1, keepdim=True)
    c = x - mean
    return mean, c @ c.T / x.shape[1]


def _sqrtm(cov: Tensor, power: float) -> Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    return vecs @ torch.diag(vals.clamp_min(1e-10) ** power) @ vecs.T


def match_colours_oklab(image: Tensor, style: Tensor) -> Tensor:
    """(1, 3, H, W) image with its OkLAB mean and covariance mapped to the style's:
    x -> C_s^1/2 C_x^-1/2 (x - mu_x) + mu_s, then back to sRGB, clamped to [0, 1]."""
    lab, lab_s = rgb_to_oklab(image), rgb_to_oklab(style)
    mu_x, cov_x = _stats(lab)
    mu_s, cov_s = _stats(lab_s)
    a = _sqrtm(cov_s, 0.5) @ _sqrtm(cov_x, -0.5)
    x = lab.flatten(2)[0].double()
    out = (a @ (x - mu_x) + mu_s).to(image.dtype).view_as(lab[0]).unsqueeze(0)
    return oklab_to_rgb(out).clamp(0, 1)
