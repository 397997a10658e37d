"""CFSD, the content feature structural distance of StyleID (Chung, Hyun & Heo, CVPR 2024).

For an image's features F at relu3_1, (N = H W positions, C channels), each row i of the
patch-similarity matrix S = (F / C)(F / C)^T gives a distribution over the positions by a softmax,
P_i = softmax(S_i). CFSD is the KL divergence of the output's maps from the content's, summed over
the rows: sum_i KL(P_content_i || P_output_i). It is 0 when the output keeps every position's
similarity pattern of the content, whatever its colours and textures.

As in StyleID's evaluation code (``evaluation/image_metrics.py``, ``PatchSimi``: ``F.kl_div`` with
``reduction='batchmean'`` on the flattened maps, i.e. a sum over rows), the value grows with the
number of positions: compare CFSD only at one image size. StyleID uses the torchvision ImageNet
VGG19 (``features[11]``, relu3_1) on ImageNet-normalised input; here the default is the harness's
fixed reference network (the Caffe VGG19 with its 0..255 BGR input), so absolute values are not
those of the paper's tables (``network: torchvision`` uses the torchvision weights, when cached).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import VGGFeatures, build_extractor

EVAL_CFSD = "eval/cfsd"
LAYER = "relu3_1"


def patch_similarity_log_softmax(features: Tensor) -> Tensor:
    """(1, C, H, W) features -> (HW, HW) row-wise log-softmax of (F/C)(F/C)^T."""
    _, c, h, w = features.shape
    f = features.reshape(c, h * w).T / c
    return F.log_softmax(f @ f.T, dim=-1)


def cfsd(content_features: Tensor, output_features: Tensor) -> float:
    """sum_i KL(P_content_i || P_output_i) of the patch-similarity maps (both (1, C, H, W))."""
    if content_features.shape != output_features.shape:
        raise ValueError(
            f"CFSD needs features of one shape, got {tuple(content_features.shape)} "
            f"and {tuple(output_features.shape)}"
        )
    log_p = patch_similarity_log_softmax(content_features.double())
    log_q = patch_similarity_log_softmax(output_features.double())
    return float((log_p.exp() * (log_p - log_q)).sum().clamp_min(0.0))


@functools.lru_cache(maxsize=2)
def _torchvision_relu3_1(device: str) -> VGGFeatures:
    net, _ = build_extractor([LAYER], "vgg19", "torchvision", "max", allow_download=False)
    return net.to(device)


class CFSD:
    """``eval/cfsd``: CFSD of the output to the content at relu3_1 (lower is better; 0 = the
    content's structure). ``network``: ``reference`` (the fixed Caffe VGG19 of the other
    metrics) or ``torchvision`` (StyleID's network; needs its weights in the torch hub cache)."""

    keys = (EVAL_CFSD,)

    def __init__(self, network: str = "reference") -> None:
        if network not in ("reference", "torchvision"):
            from nst_research.errors import ConfigError

            raise ConfigError(f"eval.cfsd.network={network!r}: choose reference or torchvision")
        self.network = network

    def features(self, image: Tensor, scorer) -> Tensor:
        if self.network == "reference":
            return scorer.features(image)[LAYER]
        net = _torchvision_relu3_1(str(image.device))
        return net(PREPROCESSING["torchvision"](image.float()))[LAYER]

    @torch.no_grad()
    def __call__(self, output: Tensor, scorer) -> dict[str, float]:
        content = scorer.fixed(
            f"cfsd_{self.network}", lambda: self.features(scorer.content, scorer)
        )
        return {EVAL_CFSD: cfsd(content, self.features(output, scorer))}
