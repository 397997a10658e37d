"""The two ways a paper recipe becomes a config: the paper's settings or the project's reference.

The paper (Gatys et al. 2016) taps conv layers, pools by averaging, starts from white noise and
sums its losses, with the ratio alpha/beta = content_weight / style_weight. The reference settings
are the project's defaults (relu taps, max pooling, content init, mean losses plus TV), with the
ratio mapped onto its weights as :func:`reference_weights` explains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """How the paper's recipe becomes a config: taps, pooling, init, loss and the ratio's meaning.

    Attributes:
        name: ``paper`` or ``reference``.
        overrides: Hydra overrides every run of a figure gets.
        taps: ``conv`` (the paper's names as written) or ``relu`` (``conv4_2`` -> ``relu4_2``).
        init: the init of a stylisation tile that does not set its own.
        weights: the paper's ratio alpha/beta -> (``loss.content_weight``, ``loss.style_weight``).
        summary: one line for the figure's caption.
    """

    name: str
    overrides: tuple[str, ...]
    taps: str
    init: str
    weights: Callable[[float], tuple[float, float]]
    summary: str

    def layer(self, name: str) -> str:
        """A layer as the paper names it (``conv4_2``), tapped as these settings tap it."""
        return name.replace("conv", "relu", 1) if self.taps == "relu" else name


def paper_weights(ratio: float) -> tuple[float, float]:
    """alpha/beta = content_weight/style_weight with the paper's summed losses: (1, 1/ratio)."""
    return 1.0, 1.0 / ratio


# The reference losses (means; Grams / CHW) are on another scale than the paper's sums, and the
# factor between them depends on each layer's size, so no exact conversion exists. The mapping
# keeps the ratios' spacing and anchors the paper's usual 1e-3 at the project's default weights
# (content 5, style 500, as jcjohnson/neural-style): style_weight = 500 * (1e-3 / ratio).
REFERENCE_CONTENT_WEIGHT = 5.0
REFERENCE_STYLE_WEIGHT_AT_1E_3 = 500.0


def reference_weights(ratio: float) -> tuple[float, float]:
    """alpha/beta -> (5, 500 * 1e-3 / ratio): the project's default weights at the paper's 1e-3."""
    return REFERENCE_CONTENT_WEIGHT, REFERENCE_STYLE_WEIGHT_AT_1E_3 * 1e-3 / ratio


SETTINGS: dict[str, Settings] = {
    "paper": Settings(
        name="paper",
        overrides=("layers=paper_conv", "model.pooling=avg", "loss=paper"),
        taps="conv",
        init="noise",
        weights=paper_weights,
        summary="paper settings: conv taps, avg pooling, noise init, summed losses "
        "(content_weight 1, style_weight 1/ratio)",
    ),
    "reference": Settings(
        name="reference",
        overrides=("layers=gatys2016", "model.pooling=max", "loss=default"),
        taps="relu",
        init="content",
        weights=reference_weights,
        summary="reference settings: relu taps, max pooling, content init, mean losses + TV "
        "(content_weight 5, style_weight 0.5/ratio)",
    ),
}


def relabel(label: str, settings: Settings) -> str:
    """A label with its layer names as ``settings`` tap them (conv4_2 -> relu4_2)."""
    return label.replace("conv", "relu") if settings.taps == "relu" else label
