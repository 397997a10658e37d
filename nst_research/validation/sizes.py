"""Image sizes a loss term needs: ``style_loss=mrf`` matches ``patch_size`` x ``patch_size``
patches, so each style layer needs that many positions in both the generated and the style
image (checked with the images' sizes, before the run starts, not at its first step)."""

from __future__ import annotations

from collections.abc import Sequence

from nst_research.engine.memory import layer_grids
from nst_research.errors import InputImageError


def check_positions(
    objective, table, sizes: Sequence[tuple[int, int]], where: str, fix: str
) -> None:
    """One line when a style layer of an image of (h, w) in ``sizes`` (the content first, then
    the styles) has fewer positions than the style term's ``min_positions`` per side."""
    need = int(getattr(objective.style, "min_positions", 1))
    if need <= 1 or not objective.style_layers:
        return
    for i, (h, w) in enumerate(sizes):
        grid = layer_grids(h, w, table)
        for name in objective.style_layers:
            _, gh, gw = grid[name]
            if min(gh, gw) < need:
                role = "content" if i == 0 else "style"
                raise InputImageError(
                    f"the {role} image is {w}x{h} px after resizing{where}: layer {name} has "
                    f"{gw}x{gh} positions, fewer than style_loss.patch_size={need} per side "
                    f"(raise {fix} drop deep style layers, or lower style_loss.patch_size)"
                )
