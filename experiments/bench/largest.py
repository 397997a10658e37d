"""The largest size that fits: the memory estimate's (what ``nst`` accepts) for the free memory,
and on CUDA the measured one (bisected with the plain loop until it runs out of memory)."""

from __future__ import annotations

import argparse
import gc
from typing import Any

import torch
from common import Context, compose_cfg, say
from plain import PlainSetup, time_plain

from nst_research.engine import memory


def bisect_largest(fits, lo: int, hi: int, step: int = 64) -> tuple[int, bool]:
    """Largest size in [lo, hi] (to ``step`` px) for which ``fits(size)``; ``lo`` must fit.

    Returns (size, hit_ceiling): hit_ceiling means ``hi`` itself fits, so the true limit is higher.
    """
    if fits(hi):
        return hi, True
    while hi - lo > step:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo, False


def estimate(device: str, known_fit: int, extra: list[str]) -> dict[str, Any]:
    """The free memory and the memory estimate's largest long side for it (at the default
    layers, optimiser history and the content's aspect at ``known_fit`` px)."""
    cfg = compose_cfg(known_fit, 3, device, extra)
    setup = PlainSetup(cfg, device)
    h, w = setup.content.shape[-2:]
    weights = {**setup.content_layers, **setup.style_layers}
    names = setup.module().extractor.names
    deepest = max((n for n, wt in weights.items() if wt > 0), key=names.index)
    history = int(cfg.optimizer.get("history_size", 0) or 0)
    del setup
    free = memory.available_bytes(torch.device(device))
    out: dict[str, Any] = {"free_mb": None if free is None else free / 2**20}
    if free is not None:
        out["estimate_px"] = memory.largest_size(int(h), int(w), deepest, "vgg19", history, free)
    return out


def largest_size(
    device: str, known_fit: int, iters: int, extra: list[str], measure: bool
) -> dict[str, Any]:
    """The memory estimate's largest size for the free memory; on CUDA also the measured one.

    Measured = the largest long side at which a few plain-loop L-BFGS iterations run without a
    CUDA out-of-memory error, bisected between the largest benchmarked size and 1.5x the estimate.
    """
    out = estimate(device, known_fit, extra)
    if not (measure and device == "cuda"):
        return out
    peaks: dict[int, float] = {}

    def fits(size: int) -> bool:
        say(f"largest size: trying {size} px")
        gc.collect()
        torch.cuda.empty_cache()
        try:
            trial = PlainSetup(compose_cfg(size, iters, device, extra), device)
            peaks[size] = time_plain(trial, iters, drop=1)["peak_mb"]
            return True
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            trial = None
            gc.collect()
            torch.cuda.empty_cache()

    ceiling = int(1.5 * out.get("estimate_px", 4 * known_fit))
    size, hit = bisect_largest(fits, known_fit, max(ceiling, known_fit + 64))
    out.update({"measured_px": size, "measured_is_lower_bound": hit, "peak_mb": peaks.get(size)})
    return out


def markdown(largest: dict[str, Any], device: str) -> list[str]:
    if not largest:
        return []
    lines = ["", "## Largest size that fits", ""]
    if largest.get("estimate_px") is not None:
        lines.append(
            f"- estimate (`nst_research.engine.memory`, what `nst` accepts): long side "
            f"{largest['estimate_px']} px with {largest['free_mb'] / 1024:.1f} GiB free on {device}"
        )
    if largest.get("measured_px") is not None:
        bound = " or more (the search's ceiling)" if largest["measured_is_lower_bound"] else ""
        peak = largest.get("peak_mb")
        lines.append(
            f"- measured: long side {largest['measured_px']} px{bound} runs L-BFGS without "
            "running out of memory"
            + (f", peak {peak:.0f} MiB allocated" if peak is not None else "")
            + " (bisected to 64 px)"
        )
    elif device != "cuda":
        lines.append("- not measured on CPU (it would mean filling the machine's memory)")
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-largest",
        action="store_true",
        help="skip the search for the largest size that fits (GPU; on CPU only the estimate)",
    )


def step(ctx: Context) -> dict[str, Any]:
    """The estimate, and on CUDA the measured size (unless ``--no-largest``)."""
    say("largest size that fits ...")
    measure = not ctx.args.no_largest
    return {"largest": largest_size(ctx.device, max(ctx.sizes), 3, ctx.args.set, measure=measure)}
