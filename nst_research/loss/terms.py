"""Loss terms as small modules: set the targets once, compute the term every step.

The maths is in :mod:`nst_research.loss.functional`; a term holds its options and its targets. A new
style statistic is one :class:`FeatureLoss` subclass (``statistic`` and ``distance``) plus one
``conf/style_loss/<name>.yaml`` naming it with ``_target_``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from nst_research.configs.names import (
    FEATURE_RGB,
    LOSS_CONTENT,
    LOSS_STYLE,
    LOSS_TOTAL,
    LOSS_TV,
    style_layer_key,
)
from nst_research.errors import choose
from nst_research.loss.functional import (
    CONTENT_NORMS,
    GRAM_NORMS,
    REDUCTIONS,
    TV_KINDS,
    content_loss,
    gram_matrix,
    style_loss,
    tv_loss,
)
from nst_research.methods.addons import AddOns


class FeatureLoss(nn.Module):
    """A distance between (B, C, H, W) features of named layers and per-layer targets.

    ``set_targets`` stores ``statistic(features)`` once per layer as a non-persistent buffer
    ``target_<layer>``; ``forward(features, layer)`` is ``distance(features, target)``.
    """

    def statistic(self, features: Tensor) -> Tensor:
        """What is kept of the target image's features (default: the features themselves)."""
        return features

    def distance(self, features: Tensor, target: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    @torch.no_grad()
    def set_targets(self, features: dict[str, Tensor], layers: Iterable[str]) -> None:
        for name in layers:
            self.register_buffer(
                f"target_{name}", self.statistic(features[name]).detach(), persistent=False
            )

    def target(self, layer: str) -> Tensor:
        return getattr(self, f"target_{layer}")

    n_styles = 1  # a StyleSet (nst_research/controls/styles.py) holds several
    # Whether the value at a given image changes from one iteration to the next (terms that
    # re-draw at random in ``set_step``): a repeated evaluation is then recalled only within one
    # iteration (nst_research/engine/recall.py).
    redraws = False

    def set_style_targets(self, index: int, features: dict[str, Tensor], layers) -> None:
        """The targets of style ``index`` (one style: index 0, the plain ``set_targets``)."""
        self.set_targets(features, layers)

    def used(self, index: int) -> bool:
        """Whether style ``index`` counts (its targets are computed only if so)."""
        return True

    def forward(self, features: Tensor, layer: str) -> Tensor:
        return self.distance(features, self.target(layer))

    def reseed(self, seed: int) -> None:
        """Hook: the run's seed, given once before the run (for terms that draw at random)."""

    def set_step(self, step: int) -> None:
        """Hook: the optimiser iteration about to run (for terms that re-draw every step)."""

    def set_stage(self, index: int, alpha: float, final: bool = False) -> None:
        """Hook: the schedule's stage whose targets are about to be set (0: the first, the
        coarsest), its content : style weight ratio ``alpha`` (STROTSS's palette weight reads
        it; NNST matches the content alone at the first stage) and whether it is the final pass
        (``schedule.final_pass``: NNST's feature splitting)."""

    # How many unit-weight terms this one sums (``loss.normalise`` divides by the weights):
    # STROTSS's style term is two, the relaxed EMD and the moments.
    mass = 1.0
    # Whether the term reads the image itself, as RGB in [0, 1] (``features[FEATURE_RGB]``).
    rgb = False
    # Whether the term searches the first style's rotations too (NNST's ``flip_aug``).
    style_rotations = False

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        """Float32 values this term adds for one layer of ``c`` channels, ``hw`` positions of the
        generated image and ``style_hw`` of the target: its stored target plus what one step
        keeps for the backward pass (:mod:`nst_research.engine.memory` adds them to its estimate).
        Default: a (C, C) target and step (the Gram family); the features themselves are
        counted by the estimate already."""
        return 3 * c * c


class ContentLoss(FeatureLoss):
    """Squared feature error to the content (Gatys et al. 2016, eq. 1 with ``norm=paper``)."""

    def __init__(self, norm: str = "mse") -> None:
        super().__init__()
        choose(CONTENT_NORMS, norm, "loss.content_norm")
        self.norm = norm

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        return content_loss(features, target, self.norm)

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}"


class GramLoss(FeatureLoss):
    """``style_loss=gram``: squared distance of Gram matrices (Gatys et al. 2016, eq. 4).

    E_l = reduce((G(F) - G(A))^2) with G = F F^T / norm; ``norm=paper, reduction=sum`` is the
    paper's 1 / (4 N^2 M^2) sum (G - A)^2; ``norm=chw, reduction=mean`` is jcjohnson's.
    """

    def __init__(self, norm: str = "chw", reduction: str = "mean") -> None:
        super().__init__()
        choose(GRAM_NORMS, norm, "loss.gram_norm")
        choose(REDUCTIONS, reduction, "loss.style_reduction")
        self.norm, self.reduction = norm, reduction

    def statistic(self, features: Tensor) -> Tensor:
        return gram_matrix(features, self.norm)

    def distance(self, features: Tensor, target: Tensor) -> Tensor:
        return style_loss(features, target, self.norm, self.reduction)

    def reduce(self, squares: Tensor) -> Tensor:
        """This term's reduction of squared Gram differences (guided Grams use it too)."""
        return REDUCTIONS[self.reduction](squares)

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}, reduction={self.reduction!r}"


class TVLoss(nn.Module):
    """Total variation of the image (not in Gatys et al.; a common smoother)."""

    def __init__(self, kind: str = "l2") -> None:
        super().__init__()
        choose(TV_KINDS, kind, "loss.tv")
        self.kind = kind

    def forward(self, image: Tensor) -> Tensor:
        return tv_loss(image, self.kind)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


class Objective(nn.Module):
    """The loss of a run: alpha * sum_l w_l C_l + beta * sum_l w_l S_l + gamma * TV.

    Gatys et al. 2016, eq. 7 (plus TV). ``content_layers`` / ``style_layers`` map layer names to
    their weights w_l; a term whose overall weight is 0 has no layers (and costs nothing).
    ``addons``: the histogram and Laplacian terms (:class:`AddOns`; None: off), added to the total.
    ``normalise`` (``loss.normalise``): the total divided by the sum of the weights, each feature
    term's times its ``mass`` (STROTSS: (alpha C + S_remd + S_moments) / (alpha + 2)).
    ``to_rgb``: the extractor's input space -> RGB in [0, 1] (the backbone's preprocessing
    inverse), for terms whose ``rgb`` is true; None: the image is taken as RGB already.
    """

    def __init__(
        self,
        content_layers: dict[str, float],
        style_layers: dict[str, float],
        content_term: FeatureLoss,
        style_term: FeatureLoss,
        tv_term: nn.Module,
        content_weight: float = 1.0,
        style_weight: float = 1.0,
        tv_weight: float = 0.0,
        addons: AddOns | None = None,
        normalise: bool = False,
        to_rgb: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.normalise, self.to_rgb = bool(normalise), to_rgb
        self.content_weight, self.style_weight = float(content_weight), float(style_weight)
        self.tv_weight = float(tv_weight)
        self.content_layers = (
            {k: float(v) for k, v in content_layers.items()} if content_weight else {}
        )
        self.style_layers = {k: float(v) for k, v in style_layers.items()} if style_weight else {}
        self.content, self.style, self.tv = content_term, style_term, tv_term
        self.addons = addons if addons is not None else AddOns()

    @property
    def wants_content(self) -> bool:
        """Whether a term needs the content image's targets."""
        return bool(self.content_layers) or bool(self.addons.laplacian_weight)

    def wants_style(self, index: int) -> bool:
        """Whether a term needs style ``index``'s targets (add-ons: the first style's)."""
        own = bool(self.style_layers) and self.style.used(index)
        others = bool(self.addons.histogram_layers) or getattr(self.content, "needs_style", False)
        return own or (index == 0 and others)

    @property
    def wants_rgb(self) -> bool:
        """Whether a feature term reads the image itself (``features[FEATURE_RGB]``)."""
        return bool(self.content.rgb and self.content_layers) or bool(
            self.style.rgb and self.style_layers
        )

    def _with_rgb(self, features: dict[str, Tensor], image: Tensor | None) -> dict[str, Tensor]:
        if image is None or not self.wants_rgb:
            return features
        rgb = image if self.to_rgb is None else self.to_rgb(image)
        return {**features, FEATURE_RGB: rgb}

    def set_stage(self, index: int, final: bool = False) -> None:
        """Tell both feature terms which stage's targets come next, its content : style ratio
        (the content weight is the stage's: ``schedule.content_decay``) and whether it is the
        final pass."""
        alpha = self.content_weight / self.style_weight if self.style_weight else math.inf
        self.content.set_stage(index, alpha, final)
        self.style.set_stage(index, alpha, final)

    def set_content_targets(self, features: dict[str, Tensor], image: Tensor) -> None:
        """The content image's features and (input space) image -> the terms' targets."""
        if self.content_layers:
            self.content.set_targets(self._with_rgb(features, image), self.content_layers)
        self.addons.set_content(image)

    @property
    def style_rotations(self) -> bool:
        """Whether a term wants the features of the first style's rotations (90, 180, 270)."""
        return bool(self.content_layers) and getattr(self.content, "style_rotations", False)

    def set_style_targets(
        self,
        index: int,
        features: dict[str, Tensor],
        image: Tensor | None = None,
        rotated: list[dict[str, Tensor]] | tuple = (),
    ) -> None:
        """Style ``index``'s features (and input space image; the first style's rotations'
        features, if :attr:`style_rotations`) -> the terms' targets."""
        features = self._with_rgb(features, image)
        if self.style_layers and self.style.used(index):
            self.style.set_style_targets(index, features, self.style_layers)
        if index == 0:
            self.addons.set_style(features)
            if getattr(self.content, "needs_style", False):  # content_loss=nnst
                layers = self.content_layers
                self.content.set_style_features(
                    {n: features[n] for n in layers},
                    [{n: view[n] for n in layers} for view in rotated],
                )

    def layers(self) -> list[str]:
        """The layers the extractor must return (weighted > 0)."""
        both = {**self.content_layers, **self.style_layers}
        extra = [n for n in self.addons.histogram_layers if n not in both]
        return [name for name, w in both.items() if w > 0] + extra

    def reseed(self, seed: int) -> None:
        """Give the run's seed to both feature terms (``build.check`` calls this once)."""
        self.content.reseed(seed)
        self.style.reseed(seed)

    def set_step(self, step: int) -> None:
        """Tell both feature terms which iteration runs next (the module calls this each step)."""
        self.content.set_step(step)
        self.style.set_step(step)

    @property
    def redraws(self) -> bool:
        """Whether any term's value at a given image changes with the iteration."""
        return any(getattr(m, "redraws", False) for m in self.modules() if m is not self)

    def forward(self, features: dict[str, Tensor], image: Tensor) -> dict[str, Tensor]:
        """All terms of an image in input space; ``loss/total`` is their weighted sum."""
        zero = image.new_zeros(())
        features = self._with_rgb(features, image)
        losses: dict[str, Tensor] = {}
        content = zero
        if getattr(self.content, "whole", False):  # hypercolumns: all layers in one call
            if self.content_layers:
                content = self.content.forward_all(features, self.content_layers)
        else:
            for name, w in self.content_layers.items():
                content = content + w * self.content(features[name], name)
        style = zero
        if getattr(self.style, "whole", False):  # no per-layer terms to log
            if self.style_layers:
                style = self.style.forward_all(features, self.style_layers)
        else:
            for name, w in self.style_layers.items():
                term = w * self.style(features[name], name)
                losses[style_layer_key(name)] = term
                style = style + term
        tv = self.tv(image) if self.tv_weight else zero
        total = self.content_weight * content + self.style_weight * style + self.tv_weight * tv
        if self.normalise:
            total = total / self.weight_sum()
        if self.addons.active:
            extra = self.addons(features, image)
            losses.update(extra)
            total = total + self.addons.weighted(extra)
        losses.update({LOSS_CONTENT: content, LOSS_STYLE: style, LOSS_TV: tv, LOSS_TOTAL: total})
        return losses

    def weight_sum(self) -> float:
        """The sum ``loss.normalise`` divides by: the weights of the terms in use, each feature
        term's times its ``mass``."""
        total = self.content_weight * self.content.mass if self.content_layers else 0.0
        total += self.style_weight * self.style.mass if self.style_layers else 0.0
        return total + self.tv_weight

    def extra_repr(self) -> str:
        return (
            f"content_weight={self.content_weight:g}, style_weight={self.style_weight:g}, "
            f"tv_weight={self.tv_weight:g}"
        )
