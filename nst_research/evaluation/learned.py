"""Learned metrics, computed only when their weight files are already on disk (nothing downloads).

LPIPS (Zhang et al. 2018, through torchmetrics) needs the torchvision ImageNet backbone
(``alexnet-owt-7be5be79.pth`` for ``net: alex``, ``vgg16-397923af.pth`` for ``vgg``); its linear
layers ship inside torchmetrics. The backbone file is looked for as ``<dir>/checkpoints/<file>``
(the torch hub layout) in, in order: ``eval.lpips.weights``, ``$NST_WEIGHTS_DIR`` and the torch hub
dir (``$TORCH_HOME/hub``). When it is nowhere, the metric prints one line saying so and gives no
scores; the run goes on.

FID and ArtFID (Wright & Ommer 2022) compare *sets* of images, not one output, and need the
Inception weights: they belong to a report over a whole benchmark and are not implemented here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from torch import Tensor

EVAL_LPIPS = "eval/lpips"
BACKBONES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def find_weights(filename: str, weights: str | None) -> Path | None:
    """The first hub dir holding ``checkpoints/<filename>``, or None (see the module docstring)."""
    candidates = [weights, os.environ.get("NST_WEIGHTS_DIR"), torch.hub.get_dir()]
    for d in candidates:
        if d and (Path(d).expanduser() / "checkpoints" / filename).is_file():
            return Path(d).expanduser()
    return None


class LPIPS:
    """``eval/lpips``: LPIPS of the output to the content (lower is better: closer to the content
    as ImageNet features judge it), or skipped with one line when the backbone file is absent."""

    def __init__(self, net: str = "alex", weights: str | None = None) -> None:
        from nst_research.errors import ConfigError

        if net not in BACKBONES:
            raise ConfigError(f"eval.lpips.net={net!r}: choose one of {', '.join(BACKBONES)}")
        self.metric = None
        hub = find_weights(BACKBONES[net], weights)
        if hub is None:
            where = weights or os.environ.get("NST_WEIGHTS_DIR") or torch.hub.get_dir()
            print(
                f"eval/lpips skipped: no checkpoints/{BACKBONES[net]} in {where} "
                "(set eval.lpips.weights=DIR or $NST_WEIGHTS_DIR; nothing is downloaded)",
                file=sys.stderr,
            )
            self.keys: tuple[str, ...] = ()
            return
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        previous = torch.hub.get_dir()
        torch.hub.set_dir(str(hub))  # torchvision finds the file there and downloads nothing
        try:
            self.metric = LearnedPerceptualImagePatchSimilarity(net_type=net, normalize=True)
        finally:
            torch.hub.set_dir(previous)
        self.metric.eval()
        self.keys = (EVAL_LPIPS,)

    @torch.no_grad()
    def __call__(self, output: Tensor, scorer) -> dict[str, float]:
        if self.metric is None:
            return {}
        metric = self.metric.to(output.device)
        return {EVAL_LPIPS: float(metric(output.float(), scorer.content.float()))}
