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

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_research.loss.options import nonnegative

LOSS_HISTOGRAM, LOSS_LAPLACIAN = "loss/histogram", "loss/laplacian"

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


class AddOns(nn.Module):
    """The two add-on terms as options any method can include (``loss.histogram_weight``,
    ``loss.laplacian_weight``; 0: off, nothing computed).

    ``histogram``: sum over ``histogram_layers`` of :func:`histogram_loss` against the first
    style's features (Risser et al. 2017: relu1_1 and relu4_1). ``laplacian``:
    :func:`laplacian_loss` of the image against the content, both in the extractor's input space
    (caffe: 0..255), pooled by ``pool`` (Li et al. 2017: 4).
    """

    def __init__(
        self,
        histogram_weight: float = 0.0,
        laplacian_weight: float = 0.0,
        histogram_layers: Sequence[str] = ("relu1_1", "relu4_1"),
        pool: int = 4,
    ) -> None:
        super().__init__()
        for key, w in (
            ("histogram_weight", histogram_weight),
            ("laplacian_weight", laplacian_weight),
        ):
            nonnegative(w, f"loss.{key}", " (0: off)")
        self.histogram_weight, self.laplacian_weight = (
            float(histogram_weight),
            float(laplacian_weight),
        )
        self.histogram_layers = [str(n) for n in histogram_layers] if histogram_weight else []
        self.pool = int(pool)

    @property
    def active(self) -> bool:
        return bool(self.histogram_weight or self.laplacian_weight)

    @torch.no_grad()
    def set_content(self, image: Tensor) -> None:
        if self.laplacian_weight:
            self.register_buffer("content_image", image.detach(), persistent=False)

    @torch.no_grad()
    def set_style(self, features: dict[str, Tensor]) -> None:
        for name in self.histogram_layers:
            self.register_buffer(f"style_{name}", features[name].detach(), persistent=False)

    def forward(self, features: dict[str, Tensor], image: Tensor) -> dict[str, Tensor]:
        """``{loss/histogram, loss/laplacian}`` (unweighted) of the active terms."""
        out: dict[str, Tensor] = {}
        if self.histogram_weight:
            out[LOSS_HISTOGRAM] = sum(
                histogram_loss(features[n], getattr(self, f"style_{n}"))
                for n in self.histogram_layers
            )
        if self.laplacian_weight:
            content = self.content_image
            if content.shape[-2:] != image.shape[-2:]:
                content = F.interpolate(content, size=image.shape[-2:], mode="bilinear")
            out[LOSS_LAPLACIAN] = laplacian_loss(image, content, self.pool)
        return out

    def weighted(self, losses: dict[str, Tensor]) -> Tensor:
        return sum(
            w * losses[k]
            for k, w in (
                (LOSS_HISTOGRAM, self.histogram_weight),
                (LOSS_LAPLACIAN, self.laplacian_weight),
            )
            if w
        )


def addons_of(loss: Any) -> AddOns:
    """The add-ons a ``loss`` config node asks for (a run recorded before they existed: none)."""
    return AddOns(
        loss.get("histogram_weight", 0.0),
        loss.get("laplacian_weight", 0.0),
        list(loss.get("histogram_layers", None) or ["relu1_1", "relu4_1"]),
    )
