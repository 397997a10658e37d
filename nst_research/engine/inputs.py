"""The run's input images: read, sized and checked (too small for the layers, too large for
memory), with their hashes, and the image the optimisation starts from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from nst_research.backbones.base import Backbone
from nst_research.controls.colour import KeepColour
from nst_research.controls.mask_files import load_masks, mask_paths
from nst_research.engine.memory import check_fits, term_work
from nst_research.errors import InputImageError
from nst_research.io.images import (
    file_sha256,
    image_to_tensor,
    load_image,
    long_side_size,
    resolve_image,
)
from nst_research.loss.terms import Objective
from nst_research.optimisation.schedules import Stage, StageImages
from nst_research.validation.sizes import check_positions


@dataclass
class InputSettings:
    """What :func:`load_inputs` needs, as plain values and built objects (the builder makes it).

    ``content``, ``styles``: image paths (or ``builtin:`` names); ``size``: the long side of the
    generated image; ``style_scale``: the style's long side over it; ``masks``: the masks node as
    a plain dict (None: no spatial control); ``init_path``: an init image to hash (None: none);
    ``history_size``: the optimiser's L-BFGS history (0: none), for the memory estimate;
    ``device``: where the run will compute; ``backbone``: the configured backbone (its declared
    layers size the minimum and the memory estimate); ``objective``, ``stages``, ``colour``,
    ``init``, ``seed``: as the builder made them.
    """

    content: str
    styles: list[str]
    size: int
    style_scale: float
    masks: dict[str, Any] | None
    init_path: str | None
    history_size: int
    device: torch.device
    backbone: Backbone
    objective: Objective
    stages: Sequence[Stage]
    colour: KeepColour
    init: Callable[..., torch.Tensor]
    seed: int
    style_weights: list[float] = field(default_factory=list)  # init=feedforward blends by them
    texture: bool = False  # task=texture: no content image (the canvas has the style's aspect)


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


def load_inputs(spec: InputSettings) -> Inputs:
    """Read the images; check their sizes (too small for the layers, too large for memory)."""
    texture = spec.texture  # no content: a grey canvas of the style's aspect
    content_path = None if texture else resolve_image(spec.content, "content image")
    style_paths = [resolve_image(s, "style image") for s in spec.styles]
    style_imgs = [load_image(p, role="style image") for p in style_paths]
    content_img = (
        texture_canvas(style_imgs[0]) if texture else load_image(content_path, role="content image")
    )
    style_size = _style_size(spec.style_scale, spec.size)
    h, w = long_side_size(content_img.height, content_img.width, spec.size)
    style_hws = [long_side_size(im.height, im.width, style_size) for im in style_imgs]
    objective, backbone = spec.objective, spec.backbone
    used = objective.layers()
    deepest = max(used, key=backbone.layer_names.index)
    smallest = backbone.min_size(used)
    first = spec.stages[0].size  # the smallest stage (size= itself without a schedule)
    where, fix = "", "size= or style_scale="
    if first != spec.size:
        where, fix = f" at the schedule's first stage ({first} px)", "schedule.sizes=, " + fix
    first_size = _style_size(spec.style_scale, first)
    first_hws = [long_side_size(im.height, im.width, first_size) for im in style_imgs]
    first_hw = long_side_size(content_img.height, content_img.width, first)
    for role, (ih, iw) in (("content", first_hw), *(("style", hw) for hw in first_hws)):
        if min(ih, iw) < smallest:
            raise InputImageError(
                f"the {role} image is {iw}x{ih} px after resizing{where}, too small for layer "
                f"{deepest}: its short side must be at least {smallest} px (raise {fix})"
            )
    check_positions(objective, backbone.table, [first_hw, *first_hws], where, fix)
    masks = load_masks(spec.masks, (h, w)) if spec.masks else None
    biggest = max(style_hws, key=lambda hw: hw[0] * hw[1])
    table = backbone.table
    work = term_work(objective.style, objective.style_layers, table)
    check_fits(h, w, deepest, table, spec.history_size, spec.device, style_hw=biggest, work=work)
    shown_content, shown_styles = shown_images(content_img, style_imgs, spec.size, spec.style_scale)
    content, styles = spec.colour.inputs(shown_content, shown_styles)
    hashes = {"content": file_sha256(content_path)} if content_path else {}
    paths = {"content": str(content_path)} if content_path else {}
    for i, p in enumerate(style_paths):
        hashes[_style_key(i)], paths[_style_key(i)] = file_sha256(p), str(p)
    if spec.init_path:
        init_path = resolve_image(spec.init_path, "init image")
        load_image(init_path, role="init image")  # missing or unreadable: one line
        hashes["init"] = file_sha256(init_path)
    for key, p in mask_paths(spec.masks).items():
        hashes[key], paths[key] = file_sha256(p), str(p)
    stages = []
    for stage in spec.stages[:-1]:
        shown = image_to_tensor(content_img, stage.size)
        at = [image_to_tensor(im, _style_size(spec.style_scale, stage.size)) for im in style_imgs]
        stages.append(StageImages(stage.start, *spec.colour.inputs(shown, at)))
    stages.append(StageImages(spec.stages[-1].start, content, styles, spec.stages[-1].final))
    first = stages[0]
    init = spec.init(first.content, first.styles[0], spec.seed, **_all_styles(spec, first))
    return Inputs(
        content, styles, init, paths, hashes, shown_content, shown_styles[0], masks, stages
    )


def texture_canvas(style: Image.Image) -> Image.Image:
    """``task=texture``'s stand-in for a content image: mid-grey, the style's size and aspect (it
    sets the canvas shape, and eval/style_ratio is measured against it)."""
    return Image.new("RGB", style.size, (128, 128, 128))


def _all_styles(spec: InputSettings, stage: StageImages) -> dict:
    """Every style and its weight, for an init that blends styles (``init=feedforward``)."""
    if not getattr(spec.init, "blends", False):
        return {}
    return {"styles": stage.styles, "weights": spec.style_weights}


def shown_images(
    content: Image.Image, styles: list[Image.Image], size: int, style_scale: float
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The images as given, at the run's sizes: what the eval scores compare an output with."""
    style_size = _style_size(style_scale, size)
    return image_to_tensor(content, size), [image_to_tensor(im, style_size) for im in styles]


def _style_size(style_scale: float, size: int) -> int:
    """The style image's long side for a generated image of long side ``size``."""
    return max(1, round(float(style_scale) * size))
