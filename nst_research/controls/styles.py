"""Several styles in one run (Gatys et al., CVPR 2017): blended, or one per region of a mask.

:class:`StyleSet` wraps the run's style term: one copy per style image, each with its own targets,
computed once (``set_style_targets``). The loss is sum_i w_i E_i, the weighted sum of each style's
loss -- not the loss to a blend of the targets: it works for every ``style_loss=`` (a mean of
Gram matrices is a Gram target, a mean of feature distributions is not), and for Gram matrices
it has the same gradient as the blended target (sum_i w_i ||G - A_i||^2 = ||G - sum_i w_i A_i||^2
+ const when the weights sum to 1). A style of weight 0 is skipped, so weights 1, 0 give exactly
the first style's run. With ``masks``, style i only sees region i through guided Gram matrices.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from nst_research.controls.masks import guided_gram, layer_mask
from nst_research.errors import ConfigError
from nst_research.loss.terms import FeatureLoss, GramLoss


class StyleSet(FeatureLoss):
    """``len(weights)`` styles, each scored by a copy of ``term`` and weighted by w_i.

    ``guided``: style i is scored on region i of the masks given by :meth:`set_masks` (guided
    Gram matrices; needs a :class:`GramLoss` term).
    """

    def __init__(self, term: FeatureLoss, weights: list[float], guided: bool = False) -> None:
        super().__init__()
        if guided and not isinstance(term, GramLoss):
            raise ConfigError(
                f"masks= (guided Gram matrices) needs style_loss=gram, not {type(term).__name__}; "
                "use style_loss=gram or drop the masks"
            )
        self.terms = nn.ModuleList([term] + [copy.deepcopy(term) for _ in weights[1:]])
        self.weights = [float(w) for w in weights]
        self.guided = guided
        self.register_buffer("masks", torch.empty(0), persistent=False)

    @property
    def n_styles(self) -> int:
        return len(self.weights)

    def set_masks(self, masks: Tensor) -> None:
        """(R, H, W) region masks on the generated image's grid, one per style."""
        self.masks = masks.to(self.masks.device)

    @torch.no_grad()
    def set_style_targets(self, index: int, features: dict[str, Tensor], layers) -> None:
        self.terms[index].set_targets(features, layers)

    def used(self, index: int) -> bool:
        """Whether style ``index`` counts (weight > 0): its targets are only computed if so."""
        return self.weights[index] > 0

    def forward(self, features: Tensor, layer: str) -> Tensor:
        total = features.new_zeros(())
        for i, (w, term) in enumerate(zip(self.weights, self.terms, strict=True)):
            if w == 0:
                continue
            if self.guided:
                mask = layer_mask(self.masks[i : i + 1], tuple(features.shape[-2:]))[0]
                gram = guided_gram(features, mask, term.norm)
                loss = term.reduce((gram - term.target(layer)).pow(2))
            else:
                loss = term(features, layer)
            total = total + w * loss
        return total

    def work_values(self, c: int, hw: int, style_hw: int) -> int:
        """Each style's targets and step (memory estimate), plus a masked copy of the features."""
        masked = c * hw if self.guided else 0
        return sum(t.work_values(c, hw, style_hw) + masked for t in self.terms)

    def reseed(self, seed: int) -> None:
        for term in self.terms:
            term.reseed(seed)

    def set_step(self, step: int) -> None:
        for term in self.terms:
            term.set_step(step)

    def extra_repr(self) -> str:
        return f"weights={self.weights}, guided={self.guided}"
