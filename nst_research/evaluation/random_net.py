"""Style and content distances on a seeded random-weight VGG19: a network no run optimised.

The runs optimise statistics of the Caffe VGG19, which flatters them on metrics of that network.
A VGG19 with random weights (He-normal convolutions, zero biases, drawn from a fixed
``torch.Generator`` seed, so every process builds the same network) still has multi-scale local
features whose Gram statistics describe texture (He, Wang & Hopcroft 2016; Ustyuzhaninov et al.
2017), and no method was fitted to it. He-normal init keeps activations at one scale through the
16 layers (PyTorch's default init shrinks them about 6x in energy per layer, leaving the deep
layers to the biases).

The distances are those of :class:`nst_research.evaluation.metrics.StyleDistance` and
:class:`~nst_research.evaluation.metrics.ContentDistance` (mean relative Gram error on relu1_1..relu5_1, and
relative relu4_2 error), with the same ratios: style 1 for the unstylised content, content about 1
for an image as far from the content as the style.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import VGGFeatures
from nst_research.evaluation.metrics import CONTENT_LAYER, STYLE_LAYERS, gram, relative_sq_error

EVAL_RANDOM_STYLE = "eval/random_style_ratio"
EVAL_RANDOM_CONTENT = "eval/random_content_ratio"


@functools.lru_cache(maxsize=4)
def random_vgg19(seed: int, device: str) -> VGGFeatures:
    """VGG19 (max pooling) with He-normal weights from ``torch.Generator().manual_seed(seed)``."""
    net = VGGFeatures([*STYLE_LAYERS, CONTENT_LAYER], "vgg19", "max", init=False)
    g = torch.Generator().manual_seed(int(seed))
    for module in net.features:
        if isinstance(module, nn.Conv2d):
            out_ch, in_ch, kh, kw = module.weight.shape
            std = (2.0 / (in_ch * kh * kw)) ** 0.5
            module.weight = nn.Parameter(
                torch.randn(out_ch, in_ch, kh, kw, generator=g) * std, requires_grad=False
            )
            module.bias = nn.Parameter(torch.zeros(out_ch), requires_grad=False)
    return net.to(device)


class RandomNetDistance:
    """``eval/random_style_ratio`` and ``eval/random_content_ratio`` (lower is better for both)
    on the seeded random VGG19; input preprocessed as for torchvision (ImageNet mean/std)."""

    keys = (EVAL_RANDOM_STYLE, EVAL_RANDOM_CONTENT)

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def features(self, image: Tensor) -> dict[str, Tensor]:
        net = random_vgg19(self.seed, str(image.device))
        return net(PREPROCESSING["torchvision"](image.float()))

    def style_distance(self, feats: dict[str, Tensor], style: dict[str, Tensor]) -> float:
        errors = [relative_sq_error(gram(feats[n]), gram(style[n])) for n in STYLE_LAYERS]
        return sum(errors) / len(errors)

    @torch.no_grad()
    def __call__(self, output: Tensor, scorer) -> dict[str, float]:
        key = f"random{self.seed}"
        content = scorer.fixed(f"{key}_content", lambda: self.features(scorer.content))
        style = scorer.fixed(f"{key}_style", lambda: self.features(scorer.style))
        resized = scorer.fixed(f"{key}_resized", lambda: self.features(scorer.style_resized()))
        ours = self.features(output)
        d_style = self.style_distance(ours, style)
        d_style_0 = self.style_distance(content, style)
        target = content[CONTENT_LAYER]
        d_content = relative_sq_error(ours[CONTENT_LAYER], target)
        d_content_0 = relative_sq_error(resized[CONTENT_LAYER], target)
        return {
            EVAL_RANDOM_STYLE: d_style / max(d_style_0, 1e-12),
            EVAL_RANDOM_CONTENT: d_content / max(d_content_0, 1e-12),
        }
