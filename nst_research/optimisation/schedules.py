"""Schedules (``conf/schedule/*.yaml``): the sizes the image is optimised at, step by step.

A schedule turns the run's ``size`` and ``iterations`` into :class:`Stage` s: the long side of
the image and the (global) step each stage starts at. Steps are counted across stages, so
``losses.csv``, snapshots, ``eval.csv`` and W&B curves go on without a break; the module moves to
the next stage (the image upsampled, the targets recomputed at the new size, a fresh optimiser)
when the step reaches its start.

- ``schedule=none`` (:class:`Single`): one stage at ``size``.
- ``schedule=pyramid`` (:class:`Pyramid`): coarse to fine, the high-resolution recipe of Gatys et
  al. (CVPR 2017, scale control): the image is first stylised at a low resolution, where the large
  structures form, then upsampled and refined at the next size, up to ``size``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.errors import ConfigError

UPSAMPLE_MODES = ("bilinear", "bicubic", "nearest")


@dataclass(frozen=True)
class Stage:
    """One stage: the image's long side (px) and the global step it starts at."""

    size: int
    start: int


@dataclass
class StageImages:
    """A stage's images, as the module uses them: (1, 3, H, W) RGB in [0, 1] at the stage's size
    (after the colour control), and the global step the stage starts at."""

    start: int
    content: Tensor
    styles: list[Tensor]


def stage_at(stages: list[Stage], step: int) -> int:
    """The index of the stage that step ``step`` (0-based) belongs to."""
    return sum(1 for s in stages[1:] if s.start <= step)


class Single:
    """``schedule=none``: the whole run at ``size``."""

    upsample = "bilinear"

    def stages(self, size: int, iterations: int) -> list[Stage]:
        return [Stage(int(size), 0)]

    def pinned(self, size: int, iterations: int) -> dict[str, Any]:
        """Keys whose defaults depend on ``iterations``, as they ran (see :class:`Pyramid`)."""
        return {}


class Pyramid:
    """``schedule=pyramid``: coarse to fine, each stage starting from the last one upsampled.

    Args:
        sizes: long sides (px) of the stages before the last, ascending and below ``size``; the
            last stage is always at ``size``. None: ``[size // 2]``, the paper's recipe
            (stylise at low resolution, then refine at full resolution from the upsampled result).
        iterations: iterations of each of those stages; the last stage runs the rest of
            ``iterations``. None: the lower stages share 3/4 of ``iterations`` equally, as most of
            the work is cheapest at low resolution (the paper's point: fewer iterations at high
            resolution). A run whose ``iterations`` ends before the last stage stops there.
        upsample: how an image goes to the next size (torch ``interpolate`` mode), in the
            extractor's input space (an affine map of RGB per channel, so it commutes).
    """

    def __init__(
        self,
        sizes: list[int] | None = None,
        iterations: list[int] | None = None,
        upsample: str = "bilinear",
    ) -> None:
        if upsample not in UPSAMPLE_MODES:
            raise ConfigError(
                f"schedule.upsample={upsample!r} is not one of {', '.join(UPSAMPLE_MODES)}"
            )
        self.sizes = None if sizes is None else [_positive(s, "schedule.sizes") for s in sizes]
        self.iterations = (
            None
            if iterations is None
            else [_positive(n, "schedule.iterations") for n in iterations]
        )
        if self.sizes == []:
            raise ConfigError("schedule.sizes=[] has no stage below size=; use schedule=none")
        if self.sizes and self.iterations is not None and len(self.iterations) != len(self.sizes):
            raise ConfigError(
                f"schedule.iterations has {len(self.iterations)} values for "
                f"{len(self.sizes)} schedule.sizes; give one per lower stage"
            )
        self.upsample = upsample

    def lower_sizes(self, size: int) -> list[int]:
        sizes = self.sizes if self.sizes is not None else [int(size) // 2]
        if any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)) or sizes[-1] >= size:
            raise ConfigError(
                f"schedule.sizes={sizes} must rise and stay below size={size} "
                "(the last stage is always at size=)"
            )
        return sizes

    def lower_iterations(self, size: int, iterations: int) -> list[int]:
        if self.iterations is not None:
            if self.sizes is None and len(self.iterations) != 1:
                raise ConfigError(
                    f"schedule.iterations has {len(self.iterations)} values for the one stage "
                    "below size= (set schedule.sizes too)"
                )
            return list(self.iterations)
        n = len(self.lower_sizes(size))
        share = max(1, round(0.75 * int(iterations)) // n)
        return [share] * n

    def stages(self, size: int, iterations: int) -> list[Stage]:
        sizes = self.lower_sizes(int(size))
        counts = self.lower_iterations(int(size), int(iterations))
        starts = [sum(counts[:i]) for i in range(len(counts) + 1)]
        return [Stage(s, t) for s, t in zip([*sizes, int(size)], starts, strict=True)]

    def pinned(self, size: int, iterations: int) -> dict[str, Any]:
        """``sizes`` and ``iterations`` as this run's ``size`` and ``iterations`` make them: a
        resumed run that runs longer keeps the stages that ran (only the last one grows)."""
        return {
            "sizes": self.lower_sizes(int(size)),
            "iterations": self.lower_iterations(int(size), int(iterations)),
        }


def _positive(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key} must be a list of positive integers, not {value!r}")
    return int(value)


def upsample(image: Tensor, hw: tuple[int, int], mode: str = "bilinear") -> Tensor:
    """(1, C, h, w) -> (1, C, H, W): the image of one stage as the start of the next."""
    if tuple(image.shape[-2:]) == tuple(hw):
        return image
    corners = {} if mode == "nearest" else {"align_corners": False}
    with torch.no_grad():
        return F.interpolate(image, size=tuple(hw), mode=mode, **corners)
