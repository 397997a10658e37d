"""The run's input images: read, sized and checked (too small for the layers, too large for
memory), with their hashes, and the image the optimisation starts from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from omegaconf import DictConfig

from nst_research.config import masks_on, style_list, style_weights
from nst_research.errors import InputImageError
from nst_research.images import (
    file_sha256,
    image_to_tensor,
    load_image,
    long_side_size,
    resolve_image,
)
from nst_research.mask_files import load_masks, mask_paths
from nst_research.memory import check_fits, term_work
from nst_research.names import layer_names
from nst_research.schedules import StageImages

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
    """The run's images as (1, 3, H, W) tensors in [0, 1], and where they came from.

    ``content`` and ``styles`` are what the optimisation uses (after the colour control);
    ``shown_content`` and ``shown_style`` are the images as given, which eval scores compare
    the shown output with (the first style of a list). ``masks``: (R, H, W) regions, or None.
    ``stages``: every stage's images (``schedule=pyramid``; one stage, these images, otherwise);
    ``init`` has the first stage's size.
    """

    content: torch.Tensor
    styles: list[torch.Tensor]
    init: torch.Tensor
    paths: dict[str, str]
    hashes: dict[str, str] = field(default_factory=dict)
    shown_content: torch.Tensor | None = None
    shown_style: torch.Tensor | None = None
    masks: torch.Tensor | None = None
    stages: list[StageImages] = field(default_factory=list)

    @property
    def style(self) -> torch.Tensor:
        return self.styles[0]

    @property
    def size(self) -> tuple[int, int]:
        return int(self.content.shape[-2]), int(self.content.shape[-1])


def _style_key(i: int) -> str:
    return "style" if i == 0 else f"style_{i}"


def load_inputs(cfg: DictConfig, parts: Parts) -> Inputs:
    """Read the images; check their sizes (too small for the layers, too large for memory)."""
    content_path = resolve_image(cfg.content, "content image")
    style_paths = [resolve_image(s, "style image") for s in style_list(cfg.style)]
    content_img = load_image(content_path, role="content image")
    style_imgs = [load_image(p, role="style image") for p in style_paths]
    style_size = _style_size(cfg, int(cfg.size))
    h, w = long_side_size(content_img.height, content_img.width, int(cfg.size))
    style_hws = [long_side_size(im.height, im.width, style_size) for im in style_imgs]
    used = parts.objective.layers()
    deepest = max(used, key=layer_names(cfg.model.arch).index)
    smallest = min_size_for(used, cfg.model.arch)
    first = parts.stages[0].size  # the smallest stage (size= itself without a schedule)
    where, fix = "", "size= or style_scale="
    if first != int(cfg.size):
        where, fix = f" at the schedule's first stage ({first} px)", "schedule.sizes=, " + fix
    first_hws = [long_side_size(im.height, im.width, _style_size(cfg, first)) for im in style_imgs]
    first_hw = long_side_size(content_img.height, content_img.width, first)
    for role, (ih, iw) in (("content", first_hw), *(("style", hw) for hw in first_hws)):
        if min(ih, iw) < smallest:
            raise InputImageError(
                f"the {role} image is {iw}x{ih} px after resizing{where}, too small for layer "
                f"{deepest}: its short side must be at least {smallest} px (raise {fix})"
            )
    masks = load_masks(cfg.masks, (h, w)) if masks_on(cfg.get("masks")) else None
    history_size = int(cfg.optimizer.get("history_size", 0) or 0)
    device = torch.device("cuda" if use_gpu(cfg) else "cpu")
    biggest = max(style_hws, key=lambda hw: hw[0] * hw[1])
    objective = parts.objective
    work = term_work(objective.style, objective.style_layers, cfg.model.arch)
    check_fits(h, w, deepest, cfg.model.arch, history_size, device, style_hw=biggest, work=work)
    shown_content = image_to_tensor(content_img, int(cfg.size))
    shown_styles = [image_to_tensor(im, style_size) for im in style_imgs]
    content, styles = parts.colour.inputs(shown_content, shown_styles)
    hashes = {"content": file_sha256(content_path)}
    paths = {"content": str(content_path)}
    for i, p in enumerate(style_paths):
        hashes[_style_key(i)], paths[_style_key(i)] = file_sha256(p), str(p)
    if cfg.init.get("path"):
        hashes["init"] = file_sha256(resolve_image(cfg.init.path, "init image"))
    for key, p in mask_paths(cfg.get("masks")).items():
        hashes[key], paths[key] = file_sha256(p), str(p)
    stages = []
    for stage in parts.stages[:-1]:
        shown = image_to_tensor(content_img, stage.size)
        at = [image_to_tensor(im, _style_size(cfg, stage.size)) for im in style_imgs]
        stages.append(StageImages(stage.start, *parts.colour.inputs(shown, at)))
    stages.append(StageImages(parts.stages[-1].start, content, styles))
    first = stages[0]
    init = parts.init(first.content, first.styles[0], parts.seed, **_all_styles(cfg, parts, first))
    return Inputs(
        content, styles, init, paths, hashes, shown_content, shown_styles[0], masks, stages
    )


def _all_styles(cfg: DictConfig, parts: Parts, stage: StageImages) -> dict:
    """Every style and its weight, for an init that blends styles (``init=feedforward``)."""
    if not getattr(parts.init, "blends", False):
        return {}
    return {"styles": stage.styles, "weights": style_weights(cfg)}


def _style_size(cfg: DictConfig, size: int) -> int:
    """The style image's long side for a generated image of long side ``size``."""
    return max(1, round(float(cfg.style_scale) * size))
