"""Two add-on terms from the literature, as pure functions.

- The histogram loss of Risser, Wilmot & Barnes (2017, "Stable and controllable neural texture
  synthesis and style transfer using histogram losses"): each channel of a layer's activations is
  histogram-matched to the style's (exact matching by sorting), and the loss is the squared
  error to the matched copy, with no gradient through the match.
- The Laplacian loss of Li, Xu, Nie & Zhao (ACM MM 2017, "Laplacian-steered neural style
  transfer"): the squared error between the 3x3 Laplacians of the 4x4-average-pooled content
  and output, which keeps the content's fine structure.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

LAPLACIAN = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


def match_histograms(x: Tensor, target: Tensor) -> Tensor:
    """(B, C, H, W), (B, C, H', W') -> (B, C, H, W): each channel of ``x`` with its values
    replaced by the target channel's quantiles in ``x``'s rank order (exact histogram matching;
    the target's sorted values are resampled linearly when the sizes differ)."""
    b, c = x.shape[:2]
    flat = x.flatten(2)
    n = flat.shape[-1]
    sorted_t = target.flatten(2).sort(dim=-1).values
    if sorted_t.shape[-1] != n:
        sorted_t = F.interpolate(sorted_t, size=n, mode="linear", align_corners=True)
    order = flat.argsort(dim=-1)
    out = torch.empty_like(flat)
    out.scatter_(-1, order, sorted_t.to(flat.dtype).expand(b, c, n))
    return out.view_as(x)


def histogram_loss(x: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of ``x`` to its histogram-matched copy (no gradient through the match)."""
    return F.mse_loss(x, match_histograms(x.detach(), target))


def laplacian(image: Tensor, pool: int = 4) -> Tensor:
    """(B, C, H, W) -> the 3x3 Laplacian of the ``pool`` x ``pool`` average-pooled image, per
    channel (no padding)."""
    pooled = F.avg_pool2d(image, pool) if pool > 1 else image
    kernel = LAPLACIAN.to(image).expand(image.shape[1], 1, 3, 3)
    return F.conv2d(pooled, kernel, groups=image.shape[1])


def laplacian_loss(output: Tensor, content: Tensor, pool: int = 4) -> Tensor:
    """Mean squared error between the Laplacians of the output and the content."""
    return F.mse_loss(laplacian(output, pool), laplacian(content, pool))
