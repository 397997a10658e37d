"""Evaluation metrics: how an output image compares, whatever the run optimised.

Each metric is a small class (``conf/eval/<name>.yaml`` names it) called with the output and a
:class:`Scorer`, which holds the run's content and style images and a *fixed* reference network
(the Caffe VGG19, max pooling, built once per process). Losses say how far a run got on its own
objective; these say how the image compares, so two configurations can be ranked.

Images are (1, 3, H, W) RGB in [0, 1]; the output has the content's size.
"""

from __future__ import annotations

import functools
import math
import re

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import VGGFeatures, build_extractor
from nst_research.configs.names import (
    EVAL_COLOUR,
    EVAL_CONTENT_DISTANCE,
    EVAL_CONTENT_RATIO,
    EVAL_SSIM,
    EVAL_STYLE_DISTANCE,
    EVAL_STYLE_RATIO,
)

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"


@functools.lru_cache(maxsize=2)
def reference_network(device: str) -> VGGFeatures:
    """The fixed reference: Caffe VGG19 (the paper's weights), max pooling, relu1_1..relu5_1."""
    net, _ = build_extractor([*STYLE_LAYERS, CONTENT_LAYER], "vgg19", "caffe", "max")
    return net.to(device)


def gram(features: Tensor) -> Tensor:
    """(1, C, H, W) -> (C, C) Gram matrix divided by C H W."""
    _, c, h, w = features.shape
    f = features.reshape(c, h * w)
    return f @ f.T / (c * h * w)


def relative_sq_error(x: Tensor, target: Tensor) -> float:
    """||x - target||^2 / ||target||^2 (0 when equal; scale-free, so layers weigh alike)."""
    return float((x - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12))


def luminance(rgb: Tensor) -> Tensor:
    """(1, 3, H, W) RGB -> (1, 1, H, W) luma Y (ITU-R BT.601)."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=rgb.dtype, device=rgb.device)
    return (rgb * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)


def sorted_projections(points: Tensor, projections: int = 64, seed: int = 0) -> Tensor:
    """(N, D) points projected on fixed random unit directions (from ``seed``), each sorted:
    (projections, N)."""
    g = torch.Generator().manual_seed(seed)
    dirs = F.normalize(torch.randn(points.shape[1], projections, generator=g), dim=0)
    return (points @ dirs.to(points)).T.contiguous().sort(dim=1).values


def sliced_wasserstein_sorted(pa: Tensor, pb: Tensor) -> float:
    """Sliced 2-Wasserstein distance from two sets of sorted projections (P, N) and (P, M).

    Per direction, the sorted projections are compared at the same quantiles (the shorter set's
    count): sqrt of the mean squared difference over quantiles and directions.
    """
    n = min(pa.shape[1], pb.shape[1])
    q = (torch.arange(n, device=pa.device, dtype=pa.dtype) + 0.5) / n
    ia, ib = (q * pa.shape[1]).long(), (q * pb.shape[1]).long()
    return math.sqrt(float((pa[:, ia] - pb[:, ib]).pow(2).mean()))


def sliced_wasserstein(a: Tensor, b: Tensor, projections: int = 64, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance between point sets a (N, D) and b (M, D)."""
    return sliced_wasserstein_sorted(
        sorted_projections(a, projections, seed), sorted_projections(b, projections, seed)
    )


class Scorer:
    """Scores output images against the run's content and style with every configured metric.

    The reference features of the content and style are computed once; the output's once per
    call, whatever the number of metrics that use them.
    """

    def __init__(self, content: Tensor, style: Tensor, metrics: dict[str, object]) -> None:
        self.content, self.style, self.metrics = content, style, metrics
        self._cache: dict[int, dict[str, Tensor]] = {}
        self._fixed: dict[str, dict[str, Tensor]] = {}

    @torch.no_grad()
    def features(self, image: Tensor, key: str | None = None) -> dict[str, Tensor]:
        """Reference features of an image (cached: ``key`` for the run's own images)."""
        store, k = (self._fixed, key) if key else (self._cache, id(image))
        if k not in store:
            net = reference_network(str(image.device))
            store[k] = net(PREPROCESSING["caffe"](image.float()))
        return store[k]

    def fixed(self, key: str, compute) -> Tensor:
        """A value of the run's own images, computed once (``compute()``)."""
        if key not in self._fixed:
            self._fixed[key] = compute()
        return self._fixed[key]

    def style_resized(self) -> Tensor:
        """The style image at the content's size (for distances that need the same grid)."""
        size = tuple(self.content.shape[-2:])
        return F.interpolate(self.style, size=size, mode="bilinear", antialias=True)

    def keys(self) -> list[str]:
        """The names of the scores this scorer gives (``eval/...``)."""
        return [k for metric in self.metrics.values() for k in metric.keys]

    @torch.no_grad()
    def __call__(self, output: Tensor) -> dict[str, float]:
        if self.content.device != output.device:  # score where the image is (GPU runs)
            self.content, self.style = self.content.to(output.device), self.style.to(output.device)
            self._fixed = {}
        output = output.float().clamp(0, 1)
        if output.shape[-2:] != self.content.shape[-2:]:  # an earlier stage of a schedule: scored
            # as it would be if the run stopped there and the image were upsampled to full size
            output = F.interpolate(output, size=self.content.shape[-2:], mode="bilinear")
            output = output.clamp(0, 1)
        self._cache = {}
        scores: dict[str, float] = {}
        for metric in self.metrics.values():
            scores.update(metric(output, self))
        self._cache = {}
        return scores


class StyleDistance:
    """Gram distance to the style on relu1_1..relu5_1, and its ratio to the content image's.

    d(x) = mean over the 5 layers of ||G(x) - G(s)||^2 / ||G(s)||^2 (G = F F^T / CHW); the ratio
    d(x) / d(content) is 1 for an unstylised image and 0 for one with the style's statistics.
    """

    keys = (EVAL_STYLE_DISTANCE, EVAL_STYLE_RATIO)

    def distance(self, feats: dict[str, Tensor], style: dict[str, Tensor]) -> float:
        return sum(relative_sq_error(gram(feats[n]), gram(style[n])) for n in STYLE_LAYERS) / len(
            STYLE_LAYERS
        )

    def __call__(self, output: Tensor, scorer: Scorer) -> dict[str, float]:
        style = scorer.features(scorer.style, "style")
        d = self.distance(scorer.features(output), style)
        d_content = self.distance(scorer.features(scorer.content, "content"), style)
        return {EVAL_STYLE_DISTANCE: d, EVAL_STYLE_RATIO: d / max(d_content, 1e-12)}


class ContentDistance:
    """relu4_2 feature distance to the content, and its ratio to the style image's.

    d(x) = ||F(x) - F(c)||^2 / ||F(c)||^2; the ratio d(x) / d(style resized to the content's size)
    is 0 for the content itself and about 1 for an image as far from it as the style.
    """

    keys = (EVAL_CONTENT_DISTANCE, EVAL_CONTENT_RATIO)
    needs_content = True  # left out of task=texture (no content image)

    def __call__(self, output: Tensor, scorer: Scorer) -> dict[str, float]:
        target = scorer.features(scorer.content, "content")[CONTENT_LAYER]
        d = relative_sq_error(scorer.features(output)[CONTENT_LAYER], target)
        style = scorer.features(scorer.style_resized(), "style_resized")[CONTENT_LAYER]
        d_style = relative_sq_error(style, target)
        return {EVAL_CONTENT_DISTANCE: d, EVAL_CONTENT_RATIO: d / max(d_style, 1e-12)}


class LuminanceSSIM:
    """SSIM of the output's luminance to the content's (torchmetrics; Gaussian 11x11, sigma 1.5)."""

    keys = (EVAL_SSIM,)
    needs_content = True

    def __call__(self, output: Tensor, scorer: Scorer) -> dict[str, float]:
        from torchmetrics.functional.image import structural_similarity_index_measure as ssim

        side = min(output.shape[-2:])
        kernel = min(11, side if side % 2 else side - 1)
        value = ssim(
            luminance(output), luminance(scorer.content), data_range=1.0, kernel_size=kernel
        )
        return {EVAL_SSIM: float(value)}


def positive_int(value: object, key: str) -> int:
    """``value`` if it is an integer >= 1, else a one-line ConfigError."""
    from nst_research.errors import ConfigError

    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}={value!r} must be an integer >= 1")
    return value


class ColourDistance:
    """Sliced Wasserstein distance between the output's and the style's pixel colours (RGB 0..1).

    0 when the colour distributions match; about 0.3 between a photo and a painting of other hues.
    Images with more than ``max_pixels`` pixels are compared on every k-th pixel (a fixed
    stride), which keeps the sort cheap at large sizes.
    """

    keys = (EVAL_COLOUR,)

    def __init__(self, projections: int = 64, max_pixels: int = 16384) -> None:
        self.projections = positive_int(projections, "eval.colour.projections")
        self.max_pixels = positive_int(max_pixels, "eval.colour.max_pixels")

    def pixels(self, image: Tensor) -> Tensor:
        """(1, 3, H, W) -> (N, 3) RGB points, every k-th pixel so that N <= max_pixels."""
        points = image.reshape(3, -1).T
        return points[:: max(1, math.ceil(len(points) / self.max_pixels))]

    def __call__(self, output: Tensor, scorer: Scorer) -> dict[str, float]:
        n = self.projections
        style = scorer.fixed(
            f"colour_{n}", lambda: sorted_projections(self.pixels(scorer.style), n)
        )
        ours = sorted_projections(self.pixels(output), n)
        return {EVAL_COLOUR: sliced_wasserstein_sorted(ours, style)}


# --- the objective a sweeper minimises -----------------------------------------------------------


_TERM = re.compile(
    r"\s*([+-]?)\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*\*)?\s*([A-Za-z_][\w/]*)"
)


def parse_objective(text: str, known: list[str]) -> dict[str, float]:
    """``"eval/style_ratio + 0.5*eval/content_ratio"`` -> ``{name: weight}`` (a weighted sum).

    Terms are ``name`` or ``w*name``, joined by ``+`` / ``-``; every name must be in ``known``
    (the scores and losses the run will have), or a one-line ConfigError says which.
    """
    from nst_research.errors import ConfigError

    text = str(text)
    weights: dict[str, float] = {}
    pos = 0
    while pos < len(text.rstrip()):
        m = _TERM.match(text, pos)
        if m is None or (pos > 0 and not m.group(1)):
            raise ConfigError(
                f"objective={text!r} is not a weighted sum like eval/style_ratio+0.5*eval/content_ratio"
            )
        sign, coef, name = m.groups()
        if name not in known:
            raise ConfigError(
                f"objective={text!r} uses {name!r}, which this run does not compute; "
                f"use a weighted sum of: {', '.join(known)} (e.g. objective={known[0]})"
            )
        w = (-1.0 if sign == "-" else 1.0) * (float(coef) if coef else 1.0)
        weights[name] = weights.get(name, 0.0) + w
        pos = m.end()
    if not weights:
        raise ConfigError(f"objective={text!r} is empty; e.g. objective=eval/style_ratio")
    return weights


def objective_value(weights: dict[str, float], values: dict[str, float]) -> float | None:
    """The weighted sum, or None when a value is missing or not finite (a failed objective)."""
    total = 0.0
    for name, w in weights.items():
        v = values.get(name)
        if v is None or not math.isfinite(v):
            return None
        total += w * v
    return total
