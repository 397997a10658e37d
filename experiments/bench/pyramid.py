"""Coarse to fine against one size: the time to a given quality with and without ``schedule=pyramid``.

For each size, two ordinary harness runs on the default images and settings, scored with the
evaluation metrics every ``every`` iterations: ``schedule=none`` (every iteration at the size) and
``schedule=pyramid`` (its defaults: 3/4 of the iterations at half the size, then the rest at the
size, from the upsampled result; an earlier stage is scored upsampled to full size). The answer
is the first scored iteration that meets the target and the optimisation seconds to it
(``eval.csv``'s ``time_s``, scoring excluded), as in ``quality.py``; the speed-up is the ratio
of those seconds. Used by ``bench.py`` (``make bench``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import quality  # beside this file

if TYPE_CHECKING:
    from common import Context  # beside this file

ARMS = (("none", ["schedule=none"]), ("pyramid", ["schedule=pyramid"]))


def measure(
    sizes: list[int], iterations: int, every: int, target: str, compose_cfg, tmp: Path,
    log: Path | None, extra: list[str], pyramid_extra: list[str],
) -> dict[str, Any]:  # fmt: skip
    """``compose_cfg(size, iterations, extra)`` gives each run's config (``Context.cfg`` in ``common.py``)."""
    rows = []
    for size in sizes:
        for arm, overrides in ARMS:
            more = [*overrides, *(pyramid_extra if arm == "pyramid" else [])]
            cfg = compose_cfg(size, iterations, [f"snapshot_every={every}", *extra, *more])
            run_dir = tmp / f"pyramid_{size}_{arm}"
            result = quality.time_to_quality(cfg, run_dir, target, log)
            result["schedule"], result["overrides"] = arm, more
            result["curve"] = quality.read_eval_csv(run_dir / "eval.csv")
            rows.append(result)
    return {"target": target, "iterations": iterations, "every": every, "rows": rows}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pyramid-sizes",
        type=int,
        nargs="+",
        help="sizes of the time-to-quality comparison with and without schedule=pyramid "
        "(default: 512 1024 on GPU, 512 on CPU, where a plain 1024 px run of 200 iterations "
        "takes about 26 min on 2 cores; 0: skip)",
    )
    p.add_argument(
        "--pyramid-iters", type=int, default=200, help="iterations at most, per run of that"
    )
    p.add_argument("--pyramid-every", type=int, default=10, help="score every N iterations")
    p.add_argument(
        "--pyramid-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an override for the pyramid runs only, e.g. --pyramid-set 'schedule.sizes=[256,512]'",
    )


def step(ctx: Context) -> dict[str, Any]:
    """``bench.py``'s coarse-to-fine comparison at ``--pyramid-sizes`` (needs a ``--quality``)."""
    args = ctx.args
    default = [512, 1024] if ctx.device == "cuda" else [512]
    sizes = [s for s in (args.pyramid_sizes or default) if s > 0]
    if not (sizes and args.quality):
        return {"pyramid": {}}
    print(f"[bench] coarse to fine at {sizes} ...", file=sys.stderr, flush=True)
    result = measure(sizes, args.pyramid_iters, args.pyramid_every, args.quality, ctx.cfg,
                     ctx.tmp, ctx.log, args.set, args.pyramid_set)  # fmt: skip
    return {"pyramid": result}


def plot(result: dict[str, Any], path: Path) -> Path:
    """Style and content ratio against optimisation seconds, per size, both schedules."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({row["size"] for row in result["rows"]})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4), squeeze=False)
    for ax, size in zip(axes[0], sizes, strict=True):
        for row in (r for r in result["rows"] if r["size"] == size):
            curve = row.get("curve") or []
            t = [c["time_s"] for c in curve]
            colour = "tab:blue" if row["schedule"] == "none" else "tab:orange"
            ax.plot(t, [c["eval/style_ratio"] for c in curve], color=colour,
                    label=f"style ratio, schedule={row['schedule']}")  # fmt: skip
            ax.plot(t, [c["eval/content_ratio"] for c in curve], color=colour, linestyle="--",
                    label=f"content ratio, schedule={row['schedule']}")  # fmt: skip
            if row["reached"]:
                ax.axvline(row["time_s"], color=colour, linewidth=0.8, alpha=0.6)
        ax.set_title(f"{size} px (vertical lines: target reached)")
        ax.set_xlabel("optimisation seconds (scoring excluded)")
        ax.set_ylabel("eval ratio (lower is closer)")
        ax.set_ylim(0, 1.1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"coarse to fine: target {result['target']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scores(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    keys = ("eval/style_ratio", "eval/content_ratio")
    return " / ".join(f"{row[k]:.3f}" for k in keys if k in row)


def markdown(result: dict[str, Any]) -> list[str]:
    """The bench report's coarse-to-fine section."""
    lines = [
        "## Coarse to fine: time to quality with and without schedule=pyramid",
        "",
        f"- target: `{result['target']}`; at most {result['iterations']} iterations, scored every "
        f"{result['every']}; seconds are optimisation time (scoring excluded)",
        "",
        "| size | schedule | reached at iteration | seconds to target | s/it (median) "
        "| style / content ratio at target | at the end | speed-up |",
        "|---:|---|---:|---:|---:|---|---|---:|",
    ]
    by_size: dict[int, dict[str, dict[str, Any]]] = {}
    for row in result["rows"]:
        by_size.setdefault(row["size"], {})[row["schedule"]] = row
    for size, arms in by_size.items():
        plain = arms.get("none")
        for arm, row in arms.items():
            speed = ""
            if arm != "none" and plain and plain["reached"] and row["reached"] and row["time_s"]:
                speed = f"{plain['time_s'] / row['time_s']:.2f}x"
            elif arm != "none" and row["reached"] and plain and not plain["reached"]:
                speed = f"> {plain['last']['time_s'] / row['time_s']:.2f}x"
            step = row["step"] if row["reached"] else "not reached"
            secs = f"{row['time_s']:.1f}" if row["reached"] else "-"
            sit = f"{row['s_per_iter']:.3f}" if row.get("s_per_iter") else "-"
            name = " ".join(row["overrides"])
            lines.append(
                f"| {size} | `{name}` | {step} | {secs} | {sit} | {_scores(row['at_target'])} "
                f"| {_scores(row['last'])} | {speed} |"
            )
    lines += [
        "",
        "- speed-up = seconds to the target without the pyramid / with it (`> x`: the plain run "
        "did not reach it in its iterations, so the speed-up is at least x).",
        "- s/it of a pyramid is the median over all its iterations (most are at half size).",
        "- the eval curves of every run: `pyramid.png` beside this report.",
        "",
    ]
    return lines
