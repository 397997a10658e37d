"""Every ``style_loss=`` option in the plain loop at one size, against ``gram`` in the same run:
seconds per iteration, the memory estimate's term and the measured peak. The options are the
config group's files (``conf/style_loss/*.yaml`` and ``$NST_CONFIG_DIR``'s), found at run time."""

from __future__ import annotations

import argparse
import gc
from typing import Any

from common import Context, compose_cfg, fmt_cores, say
from plain import PlainSetup, time_plain

from nst_research.configs.compose import group_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--style-losses-size",
        type=int,
        default=256,
        help="size of the per-style_loss rows (px; 0: skip them)",
    )
    p.add_argument(
        "--style-losses-iters", type=int, default=5, help="iterations per style_loss option"
    )
    p.add_argument(
        "--style-losses-options",
        nargs="+",
        metavar="NAME",
        help="only these style_loss options (default: every option of the config group)",
    )


def options() -> list[str]:
    """The ``style_loss`` options, ``gram`` (the reference of the ratios) first, then sorted."""
    return sorted(group_options("style_loss"), key=lambda option: option != "gram")


def measure(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """The plain loop's seconds per iteration for every ``style_loss=`` option at one size
    (the defaults of each option's YAML, gatys2016 layers), against ``gram`` in the same run."""
    size, iters = args.style_losses_size, args.style_losses_iters
    chosen = options()
    if args.style_losses_options:
        unknown = sorted(set(args.style_losses_options) - set(chosen))
        if unknown:
            raise SystemExit(f"--style-losses-options: unknown {', '.join(unknown)}")
        chosen = [o for o in chosen if o in args.style_losses_options]
    rows = []
    for option in chosen:
        say(f"style_loss={option} at {size} px ...")
        setup = PlainSetup(
            compose_cfg(size, iters, device, [f"style_loss={option}", *args.set]), device
        )
        time_plain(setup, 2, drop=1)  # warm-up
        r = time_plain(setup, iters, drop=1)
        rows.append({"option": option, "estimate_work_mb": setup.style_work_mb, **r})
        del setup
        gc.collect()
    gram = rows[0]["s_per_iter"]
    for r in rows:
        r["ratio_to_gram"] = r["s_per_iter"] / gram
    return {"size": size, "iterations": iters, "rows": rows}


def step(ctx: Context) -> dict[str, Any]:
    """The rows, unless ``--style-losses-size 0``."""
    if ctx.args.style_losses_size <= 0:
        return {"style_losses": {}}
    return {"style_losses": measure(ctx.args, ctx.device)}


def markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"## Style losses ({result['size']} px, plain loop)",
        "",
        "| style_loss | s/it | x gram | estimate: term MiB | peak MiB | other procs (cores) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['option']} | {r['s_per_iter']:.3f} | {r['ratio_to_gram']:.2f} "
            f"| {r['estimate_work_mb']:.0f} | {r['peak_mb']:.0f} "
            f"| {fmt_cores(r['other_processes_cores'])} |"
        )
    lines += [
        "",
        f"- each option at its YAML's defaults on the gatys2016 layers (relu1_1..relu5_1), "
        f"{result['iterations']} iterations after a 2-iteration warm-up, median s/it (first "
        "dropped); x gram = the ratio to the first row of the same run.",
        "- estimate: term MiB = what `nst_research.engine.memory` adds for the style term (stored "
        "targets, tensors kept for the backward, MRF's similarity chunk) on top of the network; "
        "peak MiB = the process's resident high-water mark during the measurement.",
    ]
    return lines
