"""STROTSS's terms on hypercolumns (Kolkin, Salavon & Shakhnarovich, CVPR 2019): all the term's
layers at once, resampled to one grid and concatenated (:mod:`nst_research.backbones.hypercolumns`),
so the cosine costs mix the layers as STROTSS's do.

- ``style_loss=remd_hypercolumn``: relaxed EMD with the cosine cost plus the moment term between
  ``positions`` output hypercolumns and as many style hypercolumns, re-drawn every iteration.
- ``content_loss=self_similarity_hypercolumn``: the self-similarity loss of ``positions``
  hypercolumns, the same positions in the output and the content.
- ``content_loss=nnst``: NNST's (Kolkin et al. 2022) nearest-neighbour fit of hypercolumns of a
  blend of output and content to the style's (:class:`NeighbourFit`).

A term whose ``whole`` is true takes every layer in one call, ``forward_all(features, layers)``
(:class:`nst_research.loss.terms.Objective` calls it instead of the per-layer ``forward``); the layer
weights scale each layer's block of channels (``w_l * L``, so equal weights leave them as they
are). The grid is the term's largest layer (relu1_1: the image's). ``rgb: true`` puts the image
itself (RGB in [0, 1], times ``rgb_scale``) first in each hypercolumn, as STROTSS's hypercolumns
start with the image; the style term then also takes STROTSS's palette term on those channels.
The style term takes several styles and region masks itself (``masks=``: style i's output
hypercolumns drawn inside region i, STROTSS's region guidance). Departures from STROTSS:
positions uniform rather than a strided grid with a random offset; a region of the output is
matched to a whole style image (STROTSS: to a region of the style image too).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.backbones.hypercolumns import hypercolumns_at, sample_points
from nst_research.configs.names import FEATURE_RGB
from nst_research.controls.masks import layer_mask
from nst_research.errors import ConfigError
from nst_research.loss.content import self_similarity_loss
from nst_research.loss.functional import points, subsample
from nst_research.loss.options import nonnegative, optional_integer, positive
from nst_research.loss.seeded import SeededLoss
from nst_research.methods.neighbours import blend, centred_cosine_cost, replace_by_nearest
from nst_research.methods.remd import cosine_cost, moment_loss, palette_loss, relaxed_emd


def _grid(feats: list[Tensor]) -> tuple[int, int]:
    """The (H, W) of the largest of the layers."""
    h, w = max((tuple(f.shape[-2:]) for f in feats), key=lambda hw: hw[0] * hw[1])
    return int(h), int(w)


def weighted(features: dict[str, Tensor], layers: dict[str, float]) -> list[Tensor]:
    """Each layer's features times ``w_l * L`` (L layers): equal weights change nothing."""
    n = len(layers)
    return [features[name] * (w * n) for name, w in layers.items()]


def sampled(feats: list[Tensor], n: int | None, g: torch.Generator) -> Tensor:
    """(B, min(n, H*W), sum C_l) hypercolumns at ``n`` random positions of the largest grid."""
    size = _grid(feats)
    points = sample_points(size, n if n is not None else size[0] * size[1], g)
    return hypercolumns_at(feats, size, points.to(feats[0].device))


def mean_entry(columns: list[Tensor]) -> float:
    """The mean absolute entry of hypercolumns made of ``columns`` (each layer's channels
    counted as the hypercolumn holds them)."""
    means = torch.cat([t.detach().abs().mean(dim=(0, 2, 3)) for t in columns])
    return max(float(means.mean()), 1e-12)


class WholeLoss(SeededLoss):
    """A term of all its layers at once (``whole``); the per-layer call is refused.

    ``rgb``: the image itself (``features[FEATURE_RGB]``, RGB in [0, 1]) is the hypercolumns'
    first three channels, times ``rgb_scale``; ``auto``: the target's mean feature entry over
    its mean RGB entry (the first style's, for several), so that colour entries are as large
    as feature entries on any backbone
    (STROTSS stacks [0, 1] RGB with a VGG16 run on [0, 1] images; the Caffe VGG19's activations
    are ~100 times larger).
    """

    whole = True

    def __init__(
        self,
        positions: int | None,
        scale: float,
        key: str,
        rgb: bool = False,
        rgb_scale: float | str = "auto",
    ) -> None:
        super().__init__()
        self.positions = optional_integer(positions, f"{key}.positions", minimum=2)
        self.scale = positive(scale, f"{key}.scale")
        if not isinstance(rgb, bool):
            raise ConfigError(f"{key}.rgb={rgb!r} must be true or false")
        self.rgb = rgb
        self.rgb_scale = None if rgb_scale == "auto" else positive(rgb_scale, f"{key}.rgb_scale")
        self.rgb_factor = 1.0

    @torch.no_grad()
    def set_targets(self, features: dict[str, Tensor], layers) -> None:
        super().set_targets(features, layers)
        if self.rgb:
            rgb = features[FEATURE_RGB].detach()
            self.register_buffer("target_rgb", rgb, persistent=False)
            if not isinstance(layers, dict):  # names alone: equal weights
                layers = {n: 1.0 / len(layers) for n in layers}
            own = weighted({n: self.target(n) for n in layers}, layers)
            auto = mean_entry(own) / mean_entry([rgb])
            self.rgb_factor = self.rgb_scale if self.rgb_scale is not None else auto

    def columns(self, features: dict[str, Tensor], layers: dict[str, float]) -> list[Tensor]:
        """The blocks of the hypercolumns of ``features``: the image first if ``rgb``, then each
        layer weighted (:func:`weighted`)."""
        rgb = [features[FEATURE_RGB] * self.rgb_factor] if self.rgb else []
        return rgb + weighted(features, layers)

    def forward(self, features: Tensor, layer: str) -> Tensor:
        raise ConfigError(
            f"{type(self).__name__} compares hypercolumns of all its layers at once; it cannot "
            "be used per layer (several styles or masks): use style_loss=remd"
        )

    def targets(self, layers: dict[str, float], index: int = 0) -> list[Tensor]:
        """The target's hypercolumn blocks (style ``index``'s: :class:`HypercolumnREMD`)."""
        prefix = "target" if index == 0 else f"target{index}"
        own = {n: getattr(self, f"{prefix}_{n}") for n in layers}
        if self.rgb:
            own[FEATURE_RGB] = getattr(self, f"{prefix}_rgb")
        return self.columns(own, layers)

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        n = min(self.positions or hw, hw)
        return (
            style_hw * c + 4 * n * c + 4 * n * n // 8
        )  # the (N, N) costs counted once of ~8 layers

    def extra_repr(self) -> str:
        return f"positions={self.positions}, scale={self.scale:g}, rgb={self.rgb}"


class HypercolumnREMD(WholeLoss):
    """``style_loss=remd_hypercolumn``: scale * (REMD_cos(x, s) + moment_weight * moments(f x, f s))
    on hypercolumns of all style layers.

    ``feature_scale`` (f) multiplies the hypercolumns before the moment term (the cosine cost
    does not depend on it): the moments grow with the features' magnitude (means as f,
    covariances as f²), so on a network whose activations are far larger than STROTSS's (the
    Caffe VGG19 on 0..255 input: a mean entry of about 190 on The Starry Night at 256 px) the
    moment term would outweigh the relaxed EMD and the content term by orders of magnitude, and
    the output becomes a copy of the painting. ``auto`` (the default): f = 1 / the mean absolute
    entry of the style's hypercolumns, so the entries are about 1 on any backbone.

    ``palette_weight`` (needs ``rgb``): STROTSS's palette term, the relaxed EMD of the sampled
    colours (RGB in [0, 1]) with the cosine + Euclidean cost, added with this weight; ``auto``:
    1 / max(alpha, 1), alpha the stage's content : style ratio (STROTSS's content weight, halved
    at each scale); 0: off. ``mass`` is 1 + moment_weight: with ``loss.normalise`` the total is
    STROTSS's (alpha C + remd + moments + palette / max(alpha, 1)) / (alpha + 2).
    """

    def __init__(
        self,
        positions: int | None = 1024,
        moment_weight: float = 1.0,
        scale: float = 1.0,
        feature_scale: float | str = "auto",
        rgb: bool = False,
        rgb_scale: float | str = "auto",
        palette_weight: float | str = 0.0,
    ) -> None:
        super().__init__(positions, scale, "style_loss", rgb, rgb_scale)
        self.moment_weight = nonnegative(moment_weight, "style_loss.moment_weight")
        self.feature_scale: float | None = (
            None if feature_scale == "auto" else positive(feature_scale, "style_loss.feature_scale")
        )
        if palette_weight != "auto":
            nonnegative(palette_weight, "style_loss.palette_weight", " (or auto)")
        if palette_weight != 0 and not rgb:
            raise ConfigError(
                "style_loss.palette_weight compares the image's colours: set style_loss.rgb=true "
                "(or style_loss.palette_weight=0)"
            )
        self.palette_weight = palette_weight
        self.alpha = 1.0  # the stage's content : style ratio (set_stage)

    @property
    def mass(self) -> float:  # type: ignore[override]
        return 1.0 + self.moment_weight

    def set_stage(self, index: int, alpha: float, final: bool = False) -> None:
        self.alpha = float(alpha)

    def palette_factor(self) -> float:
        """The palette term's weight at the current stage."""
        if self.palette_weight == "auto":
            return 1.0 / max(self.alpha, 1.0)
        return float(self.palette_weight)

    def moment_scale(self, targets: list[Tensor]) -> float:
        """f: ``feature_scale``, or for ``auto`` 1 / the style's mean absolute hypercolumn entry
        (each layer's channels counted as the hypercolumn holds them)."""
        if self.feature_scale is not None:
            return self.feature_scale
        return 1.0 / mean_entry(targets)

    # --- several styles, one per region (masks=): STROTSS's region guidance ----------------------

    def set_styles(self, weights: list[float], guided: bool) -> None:
        """``len(weights)`` styles, the loss sum_i w_i E_i; ``guided``: style i's output
        hypercolumns are drawn inside region i of the masks (:meth:`set_masks`), as STROTSS
        draws each region's from its own pixels."""
        self.weights, self.guided = [float(w) for w in weights], bool(guided)

    weights: list[float] = [1.0]
    guided = False

    @property
    def n_styles(self) -> int:  # type: ignore[override]
        return len(self.weights)

    def used(self, index: int) -> bool:
        return self.weights[index] > 0

    def set_masks(self, masks: Tensor) -> None:
        """(R, H, W) region masks on the generated image's grid, one per style."""
        self.register_buffer("masks", masks.detach(), persistent=False)

    @torch.no_grad()
    def set_style_targets(self, index: int, features: dict[str, Tensor], layers) -> None:
        if index == 0:
            return self.set_targets(features, layers)
        names = [*layers, *([FEATURE_RGB] if self.rgb else [])]
        for name in names:
            self.register_buffer(f"target{index}_{name}", features[name].detach(), persistent=False)

    def _points(self, index: int, size: tuple[int, int], g: torch.Generator) -> Tensor:
        """The output positions of style ``index``: anywhere, or inside its region (guided)."""
        n = self.positions if self.positions is not None else size[0] * size[1]
        if not self.guided:
            return sample_points(size, n, g)
        region = layer_mask(self.masks[index : index + 1], size)[0] > 0.5
        inside = region.flatten().nonzero().flatten().cpu()
        chosen = inside[torch.randperm(inside.numel(), generator=g)[:n]]
        return torch.stack([chosen // size[1], chosen % size[1]], dim=1)

    def forward_all(self, features: dict[str, Tensor], layers: dict[str, float]) -> Tensor:
        columns = self.columns(features, layers)
        size = _grid(columns)
        total = columns[0].new_zeros(())
        for i, w in enumerate(self.weights):
            if w == 0:
                continue
            g = self.generator("hypercolumns" if i == 0 else f"hypercolumns:{i}")
            points = self._points(i, size, g).to(columns[0].device)
            if points.shape[0] < 2:  # the region is (almost) empty at this stage's size
                continue
            targets = self.targets(layers, i)
            x = hypercolumns_at(columns, size, points)
            s = sampled(targets, self.positions, g)
            total = total + w * self.one_style(x, s, self.moment_scale(targets))
        return total

    def one_style(self, x: Tensor, s: Tensor, f: float) -> Tensor:
        """scale * (relaxed EMD + moments + palette) of (B, N, C) output and (1, M, C) style
        hypercolumns, the moments at feature scale ``f``; the mean over the batch."""
        total = x.new_zeros(())
        palette = self.palette_factor() if self.rgb else 0.0
        for xb, sb in zip(x, s.expand(x.shape[0], -1, -1), strict=True):
            total = total + relaxed_emd(cosine_cost(xb, sb))
            total = total + self.moment_weight * moment_loss(f * xb, f * sb)
            if palette:  # the first three channels: the colours, back in [0, 1]
                k = 1.0 / self.rgb_factor
                total = total + palette * palette_loss(xb[:, :3] * k, sb[:, :3] * k)
        return self.scale * total / x.shape[0]


class HypercolumnSelfSimilarity(WholeLoss):
    """``content_loss=self_similarity_hypercolumn``: scale * the self-similarity loss of the
    output's and the content's hypercolumns at the same ``positions`` positions."""

    def __init__(
        self,
        positions: int | None = 1024,
        scale: float = 1.0,
        rgb: bool = False,
        rgb_scale: float | str = "auto",
    ) -> None:
        super().__init__(positions, scale, "content_loss", rgb, rgb_scale)

    def forward_all(self, features: dict[str, Tensor], layers: dict[str, float]) -> Tensor:
        feats, targets = self.columns(features, layers), self.targets(layers)
        size = _grid(feats)
        n = self.positions if self.positions is not None else size[0] * size[1]
        points = sample_points(size, n, self.generator("content:hypercolumns"))
        points = points.to(feats[0].device)
        x, c = hypercolumns_at(feats, size, points), hypercolumns_at(targets, size, points)
        return self.scale * self_similarity_loss(x, c)


class NeighbourFit(WholeLoss):
    """``content_loss=nnst``: NNST's fit on hypercolumns (Kolkin et al. 2022). At ``positions``
    output positions, the hypercolumns of ``alpha * start + (1 - alpha) * content`` are each
    replaced by the nearest of ``style_positions`` style hypercolumns (centred cosine, no
    gradient), and the loss is the mean cosine distance of the output's hypercolumns to those
    targets. ``start`` (the output as the stage began) and the style hypercolumns searched are
    kept at the stage's first evaluation, so a position's target is the stage's, as NNST's are
    the scale's; the output positions are drawn anew every iteration (NNST: every position
    against the whole style). At the first stage (the coarsest) the content alone is matched
    (``coarse_content``, NNST's alpha = 0 there). ``rotations``: the style's hypercolumns are
    searched in the style and its rotations by 90, 180 and 270 degrees (NNST's ``flip_aug``),
    ``style_positions`` drawn evenly from the four. At the final pass (``schedule.final_pass``)
    the term is NNST's feature splitting instead: each layer on its own, every output feature at
    ``positions`` positions moved towards its nearest style feature of that layer (centred cosine,
    the minimum distance is the loss, so the match follows the output), re-found every step
    (:meth:`split_loss`). The style's features come through ``set_style_features`` (first style
    only), so this content term is the whole of NNST's objective (``loss.style_weight=0``).
    """

    needs_style = True

    def __init__(
        self,
        positions: int | None = 1024,
        style_positions: int | None = 4096,
        alpha: float = 0.25,
        scale: float = 1.0,
        rotations: bool = False,
        coarse_content: bool = False,
    ) -> None:
        super().__init__(positions, scale, "content_loss")
        self.style_positions = optional_integer(
            style_positions, "content_loss.style_positions", minimum=1
        )
        if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
            raise ConfigError(
                f"content_loss.alpha={alpha!r} must be in [0, 1] (NNST: 0.25, its --alpha 0.75)"
            )
        self.alpha = float(alpha)
        for key, value in (("rotations", rotations), ("coarse_content", coarse_content)):
            if not isinstance(value, bool):
                raise ConfigError(f"content_loss.{key}={value!r} must be true or false")
        self.style_rotations, self.coarse_content = rotations, coarse_content
        self.stage, self.final = 0, False

    def set_stage(self, index: int, alpha: float, final: bool = False) -> None:
        self.stage, self.final = int(index), bool(final)

    @property
    def blend_alpha(self) -> float:
        """The output's share in the points matched at the current stage."""
        return 0.0 if self.coarse_content and self.stage == 0 else self.alpha

    def set_targets(self, features: dict[str, Tensor], layers) -> None:
        super().set_targets(features, layers)
        self.start: list[Tensor] | None = None  # a new stage: kept at its first evaluation

    @torch.no_grad()
    def set_style_features(
        self, features: dict[str, Tensor], rotated: list[dict[str, Tensor]] | tuple = ()
    ) -> None:
        """The first style's features, and those of its rotations (used if ``rotations``)."""
        views = [features, *(rotated if self.style_rotations else ())]
        self.views = len(views)
        for k, view in enumerate(views):
            for name, value in view.items():
                suffix = f"_r{k}" if k else ""
                self.register_buffer(f"style_{name}{suffix}", value.detach(), persistent=False)

    def style_bank(self, layers: dict[str, float]) -> Tensor:
        """(1, N, C) style hypercolumns to search: ``style_positions`` drawn evenly from the
        style's views (itself, and its rotations if ``rotations``)."""
        g, banks = self.generator("content:bank"), []
        views = getattr(self, "views", 1)
        n = self.style_positions
        for k in range(views):
            suffix = f"_r{k}" if k else ""
            style = weighted(
                {name: getattr(self, f"style_{name}{suffix}") for name in layers}, layers
            )
            share = None if n is None else max(1, n // views + (1 if k < n % views else 0))
            banks.append(sampled(style, share, g))
        return torch.cat(banks, dim=1)

    def split_loss(self, features: dict[str, Tensor], layers: dict[str, float]) -> Tensor:
        """NNST's feature splitting: sum over layers of mean_i min_j centred-cos(x_i, s_j), x the
        layer's output features at ``positions`` positions, s its style features at
        ``style_positions`` drawn evenly from the style's views, both drawn anew every step."""
        views = getattr(self, "views", 1)
        total = next(iter(features.values())).new_zeros(())
        for name in layers:
            g = self.generator(f"content:split:{name}")
            x = subsample(points(features[name]), self.positions, g)
            n = self.style_positions
            bank = []
            for k in range(views):
                style = getattr(self, f"style_{name}" + (f"_r{k}" if k else ""))
                share = None if n is None else max(1, n // views + (1 if k < n % views else 0))
                bank.append(subsample(points(style), share, g))
            s = torch.cat(bank, dim=1)
            for xb, sb in zip(x, s.expand(x.shape[0], -1, -1), strict=True):
                total = total + centred_cosine_cost(xb, sb).min(dim=1).values.mean() / x.shape[0]
        return self.scale * total

    def forward_all(self, features: dict[str, Tensor], layers: dict[str, float]) -> Tensor:
        if self.final:  # NNST's final pass: per layer, matches re-found every step
            return self.split_loss(features, layers)
        feats, content = weighted(features, layers), self.targets(layers)
        if getattr(self, "start", None) is None:  # the stage's first evaluation
            self.start = [f.detach().clone() for f in feats]
            self.bank = self.style_bank(layers)
        size = _grid(feats)
        g = self.generator("content:neighbours")
        n = self.positions if self.positions is not None else size[0] * size[1]
        points = sample_points(size, n, g).to(feats[0].device)
        x, c = hypercolumns_at(feats, size, points), hypercolumns_at(content, size, points)
        x0, s = hypercolumns_at(self.start, size, points), self.bank
        total, alpha = x.new_zeros(()), self.blend_alpha
        for xb, x0b, cb, sb in zip(x, x0, c, s.expand(x.shape[0], -1, -1), strict=True):
            targets = replace_by_nearest(blend(x0b, cb, alpha), sb)
            total = total + (1 - F.cosine_similarity(xb, targets, dim=1)).mean()
        return self.scale * total / x.shape[0]
