"""The run's input images: read, sized and checked (too small for the layers, too large for
memory), with their hashes, and the image the optimisation starts from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from omegaconf import DictConfig

from nst_research.errors import InputImageError
from nst_research.images import (
    file_sha256,
    image_to_tensor,
    load_image,
    long_side_size,
    resolve_image,
)
from nst_research.memory import check_fits, term_work
from nst_research.names import layer_names

if TYPE_CHECKING:
    from nst_research.build import Parts


def min_size_for(layers: list[str], arch: str) -> int:
    """The smallest side (px) for which every requested layer still has at least one position."""
    names = layer_names(arch)
    deepest = max(names.index(n) for n in layers)
    pools = sum(1 for n in names[: deepest + 1] if n.startswith("pool"))
    return 2**pools


def use_gpu(cfg: DictConfig) -> bool:
    return cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available()


@dataclass
class Inputs:
    """The run's images as (1, 3, H, W) tensors in [0, 1], and where they came from."""

    content: torch.Tensor
    style: torch.Tensor
    init: torch.Tensor
    paths: dict[str, str]
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.content.shape[-2]), int(self.content.shape[-1])


def load_inputs(cfg: DictConfig, parts: Parts) -> Inputs:
    """Read the images; check their sizes (too small for the layers, too large for memory)."""
    content_path = resolve_image(cfg.content, "content image")
    style_path = resolve_image(cfg.style, "style image")
    content_img = load_image(content_path, role="content image")
    style_img = load_image(style_path, role="style image")
    style_size = max(1, round(float(cfg.style_scale) * int(cfg.size)))
    h, w = long_side_size(content_img.height, content_img.width, int(cfg.size))
    sh, sw = long_side_size(style_img.height, style_img.width, style_size)
    used = parts.objective.layers()
    deepest = max(used, key=layer_names(cfg.model.arch).index)
    smallest = min_size_for(used, cfg.model.arch)
    for role, (ih, iw) in (("content", (h, w)), ("style", (sh, sw))):
        if min(ih, iw) < smallest:
            raise InputImageError(
                f"the {role} image is {iw}x{ih} px after resizing, too small for layer {deepest}: "
                f"its short side must be at least {smallest} px (raise size= or style_scale=)"
            )
    history_size = int(cfg.optimizer.get("history_size", 0) or 0)
    device = torch.device("cuda" if use_gpu(cfg) else "cpu")
    objective = parts.objective
    work = term_work(objective.style, objective.style_layers, cfg.model.arch)
    check_fits(h, w, deepest, cfg.model.arch, history_size, device, style_hw=(sh, sw), work=work)
    content = image_to_tensor(content_img, int(cfg.size))
    style = image_to_tensor(style_img, style_size)
    hashes = {"content": file_sha256(content_path), "style": file_sha256(style_path)}
    if cfg.init.get("path"):
        hashes["init"] = file_sha256(resolve_image(cfg.init.path, "init image"))
    init = parts.init(content, style, parts.seed)
    paths = {"content": str(content_path), "style": str(style_path)}
    return Inputs(content, style, init, paths, hashes)
