"""``colour=match_oklab``: the shown image's colours matched to the style's in OkLAB (mean and
covariance), NNST's colour post-processing, as a colour control usable with any method.

The run optimises on the images as given; the match is applied to what the run shows
(snapshots, eval scores, ``final.png``), against the first style image.
"""

from __future__ import annotations

from torch import Tensor

from nst_research.controls.colour import KeepColour
from nst_research.methods.oklab import match_colours_oklab


class MatchStyleOklab(KeepColour):
    """Keep the style (the first of a list) from ``inputs``; map the output's OkLAB statistics
    to it in ``output``."""

    def __init__(self) -> None:
        self.style: Tensor | None = None

    def inputs(self, content: Tensor, styles: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        self.style = styles[0]
        return content, styles

    def output(self, image: Tensor, content: Tensor) -> Tensor:
        if self.style is None:  # pragma: no cover - inputs() always runs first
            return image
        return match_colours_oklab(image, self.style.to(image))
