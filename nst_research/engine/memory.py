"""Refuse sizes that cannot fit in memory before allocating anything.

The estimate counts what one iteration keeps alive: every activation of the truncated backbone
for the generated image (read from its declared layers: channels, strides, kept values; kept for
the backward pass) and its gradient, the frozen weights, the L-BFGS history (two image-sized
vectors per remembered step) and a few image-sized buffers. It errs high.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from nst_research.backbones.layers import Layer, upto, vgg_table
from nst_research.errors import InputImageError

_BYTES = 4  # float32

# (content (h, w), style (h, w)) -> float32 values a loss term adds beyond the activations.
WorkFn = Callable[[tuple[int, int], tuple[int, int]], int]
# A backbone's declared layers (``Backbone.table``), or a VGG arch name for its table.
TableLike = str | Sequence[Layer]


def _table(table: TableLike) -> Sequence[Layer]:
    return vgg_table(table) if isinstance(table, str) else table


def _activations(h: int, w: int, deepest: str, table: TableLike) -> tuple[int, int]:
    """(activation values of every layer up to ``deepest`` for an (h, w) image, weight values),
    from the declared channels, strides, kept values and weights of each layer."""
    acts = weights = 0
    for layer in upto(_table(table), deepest):
        acts += round(layer.kept * layer.channels * (h // layer.stride) * (w // layer.stride))
        weights += layer.params
    return acts, weights


def layer_grids(h: int, w: int, table: TableLike) -> dict[str, tuple[int, int, int]]:
    """Every layer's (channels, height, width) for an (h, w) image."""
    return {x.name: (x.channels, h // x.stride, w // x.stride) for x in _table(table)}


def term_work(term, layers: Iterable[str], table: TableLike) -> WorkFn:
    """What a loss term (``work_values(c, hw, style_hw)``, see ``terms.FeatureLoss``) adds on
    ``layers``: its stored targets and the working tensors of one step."""
    layers = list(layers)

    def work(hw: tuple[int, int], style_hw: tuple[int, int]) -> int:
        grid, sgrid = layer_grids(*hw, table), layer_grids(*style_hw, table)
        return sum(
            term.work_values(grid[n][0], grid[n][1] * grid[n][2], sgrid[n][1] * sgrid[n][2])
            for n in layers
        )

    return work


def estimate_bytes(
    h: int,
    w: int,
    deepest: str,
    table: TableLike = "vgg19",
    history: int = 100,
    style_hw: tuple[int, int] | None = None,
    work: WorkFn | None = None,
) -> int:
    """Peak bytes of one optimisation step for an (h, w) image up to layer ``deepest``.

    ``style_hw``: the style image's size; its targets take one forward pass without gradients
    before the optimisation (counted as every activation kept, which errs high), so a style image
    much larger than the content can set the peak. ``work``: what the style term adds
    (:func:`term_work`; patch matching and kernel matrices can cost more than the network).
    """
    acts, weights = _activations(h, w, deepest, table)
    image = 3 * h * w
    extra = work((h, w), style_hw or (h, w)) if work is not None else 0
    per_step = 2 * acts + 2 * history * image + 8 * image + extra
    if style_hw is not None:
        style_acts, _ = _activations(*style_hw, deepest, table)
        per_step = max(per_step, style_acts + acts + 8 * image)
    return (per_step + weights) * _BYTES


def available_bytes(device: torch.device) -> int | None:
    """Free memory on the device (MemAvailable on Linux CPUs), or None if unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def largest_size(
    h: int,
    w: int,
    deepest: str,
    table: TableLike,
    history: int,
    free: int,
    style_hw: tuple[int, int] | None = None,
    work: WorkFn | None = None,
) -> int:
    """The largest long side (px) at the aspect ratio h:w whose estimate fits in ``free`` bytes
    (the style image, if given, scaled with the content as ``size=`` scales both)."""
    long_side = max(h, w)

    def scaled(a: int, side: int) -> int:
        return max(1, round(a * side / long_side))

    def need(side: int) -> int:
        style = (scaled(style_hw[0], side), scaled(style_hw[1], side)) if style_hw else None
        return estimate_bytes(
            scaled(h, side), scaled(w, side), deepest, table, history, style, work
        )

    # Memory grows with the pixel count: bracket the limit by doubling, then bisect.
    lo, hi = 16, 16
    while need(hi) <= free and hi < 1 << 20:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if need(mid) <= free else (lo, mid)
    return lo


def check_fits(
    h: int,
    w: int,
    deepest: str,
    table: TableLike,
    history: int,
    device: torch.device,
    available: int | None = None,
    style_hw: tuple[int, int] | None = None,
    work: WorkFn | None = None,
) -> int:
    """Raise a one-line error with the estimate and the largest size that fits; return the estimate.

    ``style_hw``: the style image's size after ``style_scale`` (its forward pass is counted too).
    """
    need = estimate_bytes(h, w, deepest, table, history, style_hw, work)
    free = available if available is not None else available_bytes(device)
    if free is None or need <= free:
        return need
    largest = largest_size(h, w, deepest, table, history, free, style_hw, work)
    style = f" with a {style_hw[1]}x{style_hw[0]} px style image" if style_hw else ""
    raise InputImageError(
        f"a {w}x{h} px image{style} needs about {need / 2**30:.1f} GiB up to {deepest} but only "
        f"{free / 2**30:.1f} GiB is free on {device.type}; use size={largest} or less "
        "(or a smaller optimizer.history_size or style_scale)"
    )


# --- measured peak memory ------------------------------------------------------------------------

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak(device: torch.device | str = "cpu") -> bool:
    """Start a new peak-memory window; True if :func:`peak_mb` now measures from here.

    CUDA: the allocator's peak statistics. CPU on Linux: the process's resident high-water mark
    (``VmHWM``), reset by writing 5 to ``/proc/self/clear_refs``. Where that is not possible
    (another OS, a locked-down /proc) the CPU peak stays the process-wide ``ru_maxrss``.
    """
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return True
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_mb(device: torch.device | str = "cpu") -> float:
    """Peak memory since the last :func:`reset_peak`, MiB.

    CUDA: bytes allocated by tensors. CPU: resident set size of the whole process (interpreter,
    libraries and weights included), so it is an upper bound on what the run itself needed.
    """
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
