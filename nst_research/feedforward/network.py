"""The arbitrary-style network's operations on (1, 3, H, W) RGB tensors in [0, 1].

- :func:`style_input`: a style image as the predictor sees it (short side resized to 256 px,
  centre crop 256x256, as Magenta's 256 px style images);
- :func:`style_vector`: the 100-d style vector S(s) of one image;
- :func:`blend`: sum_i w_i S(s_i) / sum_i w_i (Ghiasi et al. 2017, sec. 5: a convex combination
  of style vectors mixes styles);
- :func:`with_strength`: (1 - a) S(c) + a S(s), the paper's style strength (a = 0: the
  content's own style vector, the network's reconstruction of the content);
- :func:`stylise`: the transformer at the content's own size (tiled where the graph is fixed).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.feedforward.models import STYLE_SIZE, OnnxRuntime, Torch
from nst_research.feedforward.tiling import tiled

Backend = OnnxRuntime | Torch


def style_input(image: Tensor, size: int = STYLE_SIZE) -> Tensor:
    """(1, 3, H, W) -> (1, 3, size, size): short side to ``size``, then a centre crop."""
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    hs, ws = max(size, round(h * scale)), max(size, round(w * scale))
    resized = F.interpolate(image, size=(hs, ws), mode="bilinear", antialias=True)
    top, left = (hs - size) // 2, (ws - size) // 2
    return resized[..., top : top + size, left : left + size].clamp(0, 1)


def style_vector(net: Backend, image: Tensor) -> Tensor:
    """(1, 3, H, W) style image -> (1, 100) style vector."""
    return net.predict(style_input(image))


def blend(vectors: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    """The weighted mean of (1, 100) style vectors (weights >= 0, not all 0)."""
    w = torch.tensor([float(x) for x in weights], dtype=vectors[0].dtype)
    if len(w) != len(vectors) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"need one weight >= 0 per style vector, not all 0; got {list(weights)}")
    stacked = torch.cat(list(vectors))  # (N, 100)
    return (w[:, None].to(stacked) * stacked).sum(0, keepdim=True) / w.sum()


def with_strength(style: Tensor, content: Tensor, strength: float) -> Tensor:
    """(1 - a) * content + a * style for (1, 100) vectors; a = 1: the style's own vector."""
    return torch.lerp(content, style, float(strength))


def stylise(net: Backend, content: Tensor, vector: Tensor, overlap: int = 64) -> Tensor:
    """(1, 3, H, W) content and (1, 100) vector -> (1, 3, H, W) stylised image in [0, 1].

    A backend with a fixed size (``net.tile``) runs on tiles with ``overlap`` px of blending.
    """
    if net.tile is None:
        return net.transform(content, vector).clamp(0, 1)
    out = tiled(lambda t: net.transform(t, vector.expand(len(t), -1)), content, net.tile, overlap)
    return out.clamp(0, 1)
