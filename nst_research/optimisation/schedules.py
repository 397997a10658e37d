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
- ``schedule=scales`` (:class:`Scales`): coarse to fine by a constant ratio from ``start`` px
  (crowsonkb's sqrt(2) from 128; STROTSS's and NNST's 2 from 64).

Every schedule takes two keys of how the optimisation runs (:mod:`nst_research.methods.averaging`):
``ema`` (a decay: the run shows, and the next stage starts from, a bias-corrected exponential
moving average of the image; null: off) and ``warm_start`` (Adam's moments carried into the next
stage, resized; false: a fresh optimiser). Both off by default. Three more shape a coarse-to-fine
run as STROTSS's does: ``content_decay`` (the content weight's factor per later stage),
``last_lr`` (the learning rate's factor at the last stage: STROTSS 0.5, 2e-3 -> 1e-3) and
``detail`` (each later stage but the last starts from the upsampled image plus the content's
finest band at the stage's size, :func:`finest_band`). ``final_pass`` adds one more stage at
``size`` after the last (NNST's feature-splitting pass; the terms are told which stage is it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from nst_research.errors import ConfigError
from nst_research.loss.options import positive

UPSAMPLE_MODES = ("bilinear", "bicubic", "nearest")


@dataclass(frozen=True)
class Stage:
    """One stage: the image's long side (px) and the global step it starts at; ``final``: the
    extra pass at ``size`` after the last scale (``schedule.final_pass``, NNST's feature
    splitting), whose terms are told so (``set_stage(..., final=True)``)."""

    size: int
    start: int
    final: bool = False


@dataclass
class StageImages:
    """A stage's images, as the module uses them: (1, 3, H, W) RGB in [0, 1] at the stage's size
    (after the colour control), and the global step the stage starts at."""

    start: int
    content: Tensor
    styles: list[Tensor]
    final: bool = False


def stage_at(stages: list[Stage], step: int) -> int:
    """The index of the stage that step ``step`` (0-based) belongs to."""
    return sum(1 for s in stages[1:] if s.start <= step)


class Averaging:
    """The keys every schedule takes: ``ema`` and ``warm_start`` (see the module docstring),
    ``content_decay``: the content weight is multiplied by it at each later stage (STROTSS
    halves its alpha at each scale: 0.5; 1.0: unchanged), ``last_lr``: the optimiser's learning
    rate is multiplied by it at the last stage (the only one of a single-stage run; STROTSS: 0.5)
    ``detail``: whether each later stage but the last starts from the upsampled image plus
    the content's finest band (STROTSS: true) and ``final_pass``: one more stage at ``size``
    after the last, a fresh optimiser on the same image, taking half of what the last stage
    would run (schedule=scales: one more equal share), its terms told it is the final one
    (NNST's feature-splitting pass: true)."""

    def __init__(
        self,
        ema: float | None = None,
        warm_start: bool = False,
        content_decay: float = 1.0,
        last_lr: float = 1.0,
        detail: bool = False,
        final_pass: bool = False,
    ) -> None:
        self.content_decay = positive(content_decay, "schedule.content_decay")
        self.last_lr = positive(last_lr, "schedule.last_lr")
        if not isinstance(detail, bool):
            raise ConfigError(f"schedule.detail={detail!r} must be true or false")
        self.detail = detail
        if not isinstance(final_pass, bool):
            raise ConfigError(f"schedule.final_pass={final_pass!r} must be true or false")
        self.final_pass = final_pass
        if ema is not None and not (isinstance(ema, int | float) and 0 <= ema < 1):
            raise ConfigError(f"schedule.ema={ema!r} must be null or a decay in [0, 1), e.g. 0.99")
        if not isinstance(warm_start, bool):
            raise ConfigError(f"schedule.warm_start={warm_start!r} must be true or false")
        self.ema = None if ema is None else float(ema)
        self.warm_start = warm_start

    def with_final(self, stages: list[Stage], iterations: int) -> list[Stage]:
        """``stages`` and, with ``final_pass``, the final pass at the last stage's size over the
        second half of the steps the last stage would run."""
        if not self.final_pass:
            return stages
        last = stages[-1]
        start = last.start + (int(iterations) - last.start) // 2
        if start <= last.start:
            raise ConfigError(
                f"iterations={iterations} leaves no step for schedule.final_pass after the last "
                f"stage (it starts at step {last.start}): raise iterations="
            )
        return [*stages, Stage(last.size, start, final=True)]


class Single(Averaging):
    """``schedule=none``: the whole run at ``size``."""

    upsample = "bilinear"

    def stages(self, size: int, iterations: int) -> list[Stage]:
        return self.with_final([Stage(int(size), 0)], iterations)

    def pinned(self, size: int, iterations: int) -> dict[str, Any]:
        """Keys whose defaults depend on ``iterations``, as they ran (see :class:`Pyramid`)."""
        return {}


class Pyramid(Averaging):
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
        ema: float | None = None,
        warm_start: bool = False,
        content_decay: float = 1.0,
        last_lr: float = 1.0,
        detail: bool = False,
        final_pass: bool = False,
    ) -> None:
        super().__init__(ema, warm_start, content_decay, last_lr, detail, final_pass)
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
        stages = [Stage(s, t) for s, t in zip([*sizes, int(size)], starts, strict=True)]
        return self.with_final(stages, iterations)

    def pinned(self, size: int, iterations: int) -> dict[str, Any]:
        """``sizes`` and ``iterations`` as this run's ``size`` and ``iterations`` make them: a
        resumed run that runs longer keeps the stages that ran (only the last one grows)."""
        return {
            "sizes": self.lower_sizes(int(size)),
            "iterations": self.lower_iterations(int(size), int(iterations)),
        }


class Scales(Pyramid):
    """``schedule=scales``: sizes ``round(size / ratio**i)`` down to ``start`` px, rising to ``size``.

    crowsonkb/style-transfer-pytorch (``gen_scales``): ratio sqrt(2) from 128 px; STROTSS and
    NNST: ratio 2 from 64 px. ``size <= start``: one stage at ``size``.

    Args:
        start: the smallest long side (px).
        ratio: between neighbouring sizes (> 1).
        first: the first stage's share of ``iterations=`` relative to each later stage's
            (crowsonkb: 2, 1000 then 500 a scale); stages split the run in these proportions,
            the last running the rest. Ignored when ``iterations`` (a list) is given.
        sizes, iterations, upsample, ema, warm_start, content_decay, last_lr, detail,
            final_pass: as :class:`Pyramid` (``sizes`` given: used
            instead of ``start`` and ``ratio``; a resumed run pins both lists).
    """

    def __init__(
        self,
        start: int = 128,
        ratio: float = 2.0**0.5,
        first: float = 1.0,
        sizes: list[int] | None = None,
        iterations: list[int] | None = None,
        upsample: str = "bilinear",
        ema: float | None = None,
        warm_start: bool = False,
        content_decay: float = 1.0,
        last_lr: float = 1.0,
        detail: bool = False,
        final_pass: bool = False,
    ) -> None:
        super().__init__(
            sizes,
            iterations,
            upsample,
            ema,
            warm_start,
            content_decay,
            last_lr,
            detail,
            final_pass,
        )
        self.start = _positive(start, "schedule.start")
        if positive(ratio, "schedule.ratio") <= 1:
            raise ConfigError(f"schedule.ratio={ratio!r} must be a finite number > 1 (e.g. 2)")
        self.ratio, self.first = float(ratio), positive(first, "schedule.first")

    def lower_sizes(self, size: int) -> list[int]:
        if self.sizes is not None:
            return super().lower_sizes(size)
        found, i = set(), 1
        while round(size / self.ratio**i) >= self.start:
            found.add(round(size / self.ratio**i))
            i += 1
        return sorted(s for s in found if s < size)

    def lower_iterations(self, size: int, iterations: int) -> list[int]:
        if self.iterations is not None:
            return list(self.iterations)
        n = len(self.lower_sizes(size))
        # the last stage's share: one unit (two with a final pass, which takes the second)
        unit = int(iterations) / (self.first + n + self.final_pass)
        return [max(1, round(unit * (self.first if i == 0 else 1))) for i in range(n)]

    def stages(self, size: int, iterations: int) -> list[Stage]:
        if not self.lower_sizes(int(size)):
            return self.with_final([Stage(int(size), 0)], iterations)
        return super().stages(size, iterations)


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


def finest_band(image: Tensor) -> Tensor:
    """(1, C, H, W) -> its finest Laplacian band: the image minus its half-size version upsampled
    back (bilinear both ways), STROTSS's ``lap``. Resampling keeps constants, so the band of an
    affine map of RGB per channel (the extractor's input space) is that map's scale times the
    RGB band: the mean shift cancels."""
    h, w = image.shape[-2:]
    with torch.no_grad():
        half = F.interpolate(image, size=(max(1, h // 2), max(1, w // 2)), mode="bilinear")
        return image - F.interpolate(half, size=(h, w), mode="bilinear")


def next_start(
    image: Tensor, content: Tensor, mode: str = "bilinear", detail: bool = False
) -> Tensor:
    """Where a later stage starts: ``image`` (the last stage's result) upsampled to the size of
    ``content`` (the stage's content image, same space), plus the content's finest band if
    ``detail`` (STROTSS, every scale but the first and the last)."""
    start = upsample(image, tuple(content.shape[-2:]), mode)
    return start + finest_band(content) if detail else start
