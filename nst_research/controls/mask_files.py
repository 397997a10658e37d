"""Reading the spatial-control masks (``masks.content`` + ``masks.colours``, or ``masks.files``):
the input edge of :mod:`nst_research.controls.masks`. Every problem is one :class:`InputImageError` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from nst_research.controls.masks import label_regions, parse_colour
from nst_research.errors import InputImageError
from nst_research.io.images import load_image, long_side_size, resolve_image


def mask_paths(masks: Any) -> dict[str, Path]:
    """The mask files a config names, keyed for provenance (``mask``, ``mask_0``, ...)."""
    if not masks:
        return {}
    if masks.get("content"):
        return {"mask": resolve_image(masks["content"], "content mask")}
    files = masks.get("files") or []
    return {f"mask_{i}": resolve_image(f, "style mask") for i, f in enumerate(files)}


def _sized(img: Image.Image, path: Path, hw: tuple[int, int], role: str) -> None:
    """A mask must have the content's aspect ratio (it is resized to the content's grid)."""
    h, w = hw
    if long_side_size(img.height, img.width, max(h, w)) != (h, w):
        raise InputImageError(
            f"{role} {path} is {img.width}x{img.height} px, the content image {w}x{h} px at this "
            "size: a mask must have the content image's aspect ratio (draw it on its canvas)"
        )


def load_masks(masks: Any, hw: tuple[int, int]) -> torch.Tensor:
    """(R, H, W) float region masks on the content's (H, W) grid, one per style."""
    h, w = hw
    paths = mask_paths(masks)
    if masks.get("content"):
        path = paths["mask"]
        img = load_image(path, role="content mask")
        _sized(img, path, hw, "content mask")
        labels = torch.from_numpy(np.array(img.resize((w, h), Image.Resampling.NEAREST)))
        colours = [parse_colour(c, f"masks.colours[{i}]") for i, c in enumerate(masks["colours"])]
        regions = label_regions(labels, colours, int(masks.get("tolerance", 0)))
    else:
        grids = []
        for path in paths.values():
            img = load_image(path, role="style mask")
            _sized(img, path, hw, "style mask")
            grey = img.convert("L").resize((w, h), Image.Resampling.BOX)
            grids.append(torch.from_numpy(np.array(grey, dtype=np.float32) / 255.0))
        regions = torch.stack(grids)
    for i, region in enumerate(regions):
        if float(region.sum()) == 0:
            what = f"label colour {masks['colours'][i]!r}" if masks.get("content") else "its mask"
            raise InputImageError(
                f"the region of style {i} ({what}) is empty at {w}x{h} px, so that style would "
                "be unused; check masks.colours, masks.tolerance or the mask files"
            )
    return regions
