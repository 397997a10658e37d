"""RGB-uv histogram distance (HistoGAN, Afifi, Brubaker & Brown, CVPR 2021), as in StyleID's
evaluation (``evaluation/eval_histogan.py``): the output's colours against the style's.

For each channel c of an RGB image in [0, 1] (pixels resized to at most ``max_size`` square), the
log-chroma coordinates u = log(I_c + e) - log(I_a + e), v = log(I_c + e) - log(I_b + e) (a, b the
other two channels, e = 1e-6) are binned on ``bins`` points of [-3, 3] with the inverse-quadratic
kernel k(d) = 1 / (1 + d^2 / sigma^2), each pixel weighted by its intensity I_y = |I|_2:
H_c[i, j] = sum_p I_y(p) k(u_p - b_i) k(v_p - b_j). The three (bins, bins) histograms are
normalised together to sum 1, and the distance is Hellinger's:
d(H, K) = (1 / sqrt 2) ||sqrt H - sqrt K||_2, in [0, 1], 0 for equal histograms, symmetric.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

EVAL_HISTOGRAM = "eval/hist_rgbuv"
EPS = 1e-6


def rgbuv_histogram(
    image: Tensor, bins: int = 64, sigma: float = 0.02, max_size: int = 256
) -> Tensor:
    """(1, 3, H, W) RGB in [0, 1] -> (3, bins, bins) RGB-uv histogram summing to 1."""
    x = image.float().clamp(0, 1)
    if x.shape[-2] > max_size or x.shape[-1] > max_size:  # as HistoGAN: a square resample
        x = F.interpolate(x, size=(max_size, max_size), mode="bilinear", align_corners=False)
    pixels = x.reshape(3, -1).T.double()  # (N, 3)
    intensity = pixels.pow(2).sum(1, keepdim=True).add(EPS).sqrt()  # (N, 1)
    logs = torch.log(pixels + EPS)
    centres = torch.linspace(-3, 3, bins, dtype=torch.float64, device=x.device)
    hists = []
    for c in range(3):
        a, b = [k for k in range(3) if k != c]
        u = (logs[:, c] - logs[:, a]).unsqueeze(1) - centres  # (N, bins)
        v = (logs[:, c] - logs[:, b]).unsqueeze(1) - centres
        ku, kv = 1 / (1 + u.pow(2) / sigma**2), 1 / (1 + v.pow(2) / sigma**2)
        hists.append((intensity * ku).T @ kv)
    h = torch.stack(hists)
    return h / (h.sum() + EPS)


def hellinger(h: Tensor, k: Tensor) -> float:
    """(1 / sqrt 2) ||sqrt h - sqrt k||_2 of two histograms of one shape, each summing to 1."""
    return float((h.sqrt() - k.sqrt()).pow(2).sum().sqrt() / math.sqrt(2.0))


class HistogramDistance:
    """``eval/hist_rgbuv``: Hellinger distance of the output's RGB-uv histogram to the style's
    (lower is better: the style's colours; independent of any network)."""

    keys = (EVAL_HISTOGRAM,)

    def __init__(self, bins: int = 64, sigma: float = 0.02, max_size: int = 256) -> None:
        self.bins, self.sigma, self.max_size = bins, sigma, max_size

    def histogram(self, image: Tensor) -> Tensor:
        return rgbuv_histogram(image, self.bins, self.sigma, self.max_size)

    @torch.no_grad()
    def __call__(self, output: Tensor, scorer) -> dict[str, float]:
        style = scorer.fixed(f"rgbuv_{self.bins}", lambda: self.histogram(scorer.style))
        return {EVAL_HISTOGRAM: hellinger(self.histogram(output), style)}
