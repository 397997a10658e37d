"""The main table: (a) the harness against (b) the plain loop at each size, interleaved, with
the conv FLOPs, peak memory and how busy the machine was meanwhile."""

from __future__ import annotations

import argparse
import gc
import math
import statistics
from pathlib import Path
from typing import Any

from common import Context, OtherLoad, compose_cfg, fmt_cores, say
from harness import time_harness
from plain import PlainSetup, count_flops, time_plain

IDLE_CORES = 0.25  # other processes busier than this during a measurement: a disturbed repeat


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", type=int, nargs="+", help="default: 128 256 (+ 512 1024 on GPU)")
    p.add_argument("--iters", type=int, help="iterations per measurement (default 20 CPU, 50 GPU)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved a/b repeats (default 3)")
    p.add_argument("--warmup-iters", type=int, default=3, help="iterations of each warm-up run")


def measure_size(
    size: int, iters: int, device: str, args: argparse.Namespace, tmp: Path, log: Path | None
) -> dict[str, Any]:
    """A warm-up, then ``args.repeats`` interleaved (a) harness and (b) plain measurements."""
    cfg = compose_cfg(size, iters, device, args.set)
    warm_cfg = compose_cfg(size, args.warmup_iters, device, args.set)
    setup = PlainSetup(cfg, device)
    flops = count_flops(setup)
    other = OtherLoad()
    say(f"size {size}: warm-up")
    time_harness(warm_cfg, tmp, f"{size}_warmup", device, log)
    time_plain(setup, args.warmup_iters, drop=1)
    harness, plain = [], []
    for rep in range(args.repeats):
        harness.append(time_harness(cfg, tmp, f"{size}_{rep}", device, log))
        plain.append(time_plain(setup, iters, drop=1))
        say(
            f"size {size} repeat {rep}: a {harness[-1]['s_per_iter']:.4f} s/it, "
            f"b {plain[-1]['s_per_iter']:.4f} s/it (other processes: "
            f"{fmt_cores(harness[-1]['other_processes_cores'])}, "
            f"{fmt_cores(plain[-1]['other_processes_cores'])} cores)"
        )
    del setup
    gc.collect()
    return summarise_size(size, harness, plain, flops, other.cores())


def summarise_size(size, harness, plain, flops, other_cores) -> dict[str, Any]:
    a = statistics.median(x["s_per_iter"] for x in harness)
    b = statistics.median(x["s_per_iter"] for x in plain)
    evals = statistics.median(x["closure_evals_per_iter"] for x in plain)
    per_iter = flops["per_iter_3x"] * evals
    return {
        "size": size,
        "harness": harness,
        "plain": plain,
        "harness_s_per_iter": a,
        "plain_s_per_iter": b,
        "ratio_a_over_b": a / b,
        "ratio_best_a_over_best_b": min(x["s_per_iter"] for x in harness)
        / min(x["s_per_iter"] for x in plain),
        "flops": flops,
        "other_processes_cores": other_cores,
        "closure_evals_per_iter": evals,
        "gflops_b": per_iter / b / 1e9,
        "gflops_a": per_iter / a / 1e9,
        "gflops_counted_b": flops["per_iter_counted"] * evals / b / 1e9,
        "same_final_loss": all(
            math.isclose(x["final_loss"], y["final_loss"], rel_tol=1e-4)
            for x, y in zip(harness, plain, strict=True)
        ),
    }


def step(ctx: Context) -> dict[str, Any]:
    """Every size of ``--sizes``, one after the other."""
    return {
        "sizes": [
            measure_size(size, ctx.iters, ctx.device, ctx.args, ctx.tmp, ctx.log)
            for size in ctx.sizes
        ]
    }


# --- report ------------------------------------------------------------------------------------


def idle_ratio(r: dict[str, Any]) -> tuple[float | None, int]:
    """Median a / median b over the repeats where neither measurement was disturbed."""

    def idle(x: dict[str, Any]) -> bool:
        other = x.get("other_processes_cores")
        return other is not None and other <= IDLE_CORES

    pairs = [(x, y) for x, y in zip(r["harness"], r["plain"], strict=True) if idle(x) and idle(y)]
    if not pairs:
        return None, 0
    a = statistics.median(x["s_per_iter"] for x, _ in pairs)
    b = statistics.median(y["s_per_iter"] for _, y in pairs)
    return a / b, len(pairs)


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.4f}"
    return f"{med:.4f} ({min(values):.4f}-{max(values):.4f})"


def size_rows(sizes: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The timing table's rows, and the sizes measured while other processes were busy."""
    lines: list[str] = []
    busy: list[str] = []
    for r in sizes:
        a = [x["s_per_iter"] for x in r["harness"]]
        b = [x["s_per_iter"] for x in r["plain"]]
        fixed = [x["fixed_s"] for x in r["harness"] if x["fixed_s"] is not None]
        f = r["flops"]
        h, w = f["image_hw"]
        other = r["other_processes_cores"]
        ratio, n_idle = idle_ratio(r)
        idle_text = "none" if ratio is None else f"{ratio:.3f} ({n_idle} of {len(r['harness'])})"
        if other is not None and other > IDLE_CORES:
            busy.append(f"{r['size']} ({other:.2f} cores)")
        lines.append(
            f"| {r['size']} | {h}x{w} | {spread(a)} | {spread(b)} | {r['ratio_a_over_b']:.3f} "
            f"| {idle_text} "
            f"| {(r['harness_s_per_iter'] - r['plain_s_per_iter']) * 1e3:.1f} "
            f"| {f['forward'] / 1e9:.2f} | {f['per_iter_3x'] / 1e9:.2f} "
            f"| {r['gflops_b']:.1f} | {r['gflops_a']:.1f} "
            f"| {statistics.median(fixed):.2f} "
            f"| {max(x['peak_mb'] for x in r['harness']):.0f} "
            f"| {max(x['peak_mb'] for x in r['plain']):.0f} "
            f"| {'n/a' if other is None else f'{other:.2f}'} |"
        )
    return lines, busy


def table(sizes: list[dict[str, Any]]) -> list[str]:
    """The timing table, and a warning when other processes were busy while measuring."""
    lines = [
        "| size | image HxW | (a) harness s/it | (b) plain s/it | a/b | a/b idle repeats | a-b ms/it "
        "| fwd GFLOP | GFLOP/it (3x fwd) | GFLOP/s (b) | GFLOP/s (a) | harness fixed s/run "
        "| peak MiB (a) | peak MiB (b) | other procs (cores) |",
        "|" + "---:|" * 15,
    ]
    rows, busy = size_rows(sizes)
    lines += rows
    if busy:
        lines += [
            "",
            f"**Warning: other processes used CPU while measuring size {', '.join(busy)}; "
            "torch's threads then compete for cores and the timings are not trustworthy. "
            "Rerun on an idle machine.**",
        ]
    return lines


def markdown(sizes: list[dict[str, Any]], device: str) -> list[str]:
    """The timing table and what its columns mean."""
    mem_note = (
        "peak = torch.cuda.max_memory_allocated, reset before each measurement (max over repeats)"
        if device == "cuda"
        else "peak = resident set size of the whole bench process (Python, libraries, weights "
        "included), high-water mark reset before each measurement (max over repeats)"
    )
    return [
        *table(sizes),
        "",
        f"- {mem_note}.",
        "- GFLOP/s = conv FLOPs per iteration (3x the forward FLOPs of the convs up to the deepest "
        "layer used, one forward+backward per iteration, targets free) / seconds per iteration. "
        "With the extractor frozen there are no weight gradients: torch's FlopCounterMode counts "
        + ", ".join(
            f"{r['flops']['per_iter_counted'] / 1e9:.2f} GFLOP/it at {r['size']}" for r in sizes
        )
        + " (about 2x forward), so the real arithmetic rate is about 2/3 of the column.",
        "- a/b idle repeats = the ratio of medians over the repeats where other processes kept "
        f"at most {IDLE_CORES} cores busy during both (a) and (b): trust it over a/b when they "
        "differ. bench.json also has ratio_best_a_over_best_b (fastest repeat of each).",
        "- same work check: the last logged loss/total of (a) and of (b) agree at every size: "
        + ", ".join(f"{r['size']}: {'yes' if r['same_final_loss'] else 'NO'}" for r in sizes)
        + " (relative tolerance 1e-4).",
        "- harness fixed s/run = run() call time - iterations x s/it: set-up (weights, hashes, git, "
        "W&B init), the first step and W&B finish.",
        "- other procs = average cores kept busy by other processes during the size's "
        "measurements (/proc/stat busy time minus this process's CPU time).",
        "- the harness runs' progress bar and W&B messages go to harness.log beside this file "
        "(unless --show-harness-output).",
        "",
    ]
