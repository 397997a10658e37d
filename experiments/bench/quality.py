"""Time to quality: seconds and iterations until a run first meets evaluation-metric thresholds.

Seconds per iteration measure the machinery; this measures the algorithm (a better start or a
coarse-to-fine schedule reaches the same quality in fewer iterations). The run is an ordinary
harness run scored every ``every`` iterations; ``eval.csv``'s ``time_s`` is optimisation time
with the scoring excluded, so the answer does not depend on how often it is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import operator
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_research.configs.names import TIME_S

if TYPE_CHECKING:
    from common import Context  # beside this file

OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
DEFAULT_TARGET = "eval/style_ratio<=0.2 and eval/content_ratio<=0.5"
_CONDITION = re.compile(r"\s*([\w/]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*")


def parse_target(text: str) -> list[tuple[str, str, float]]:
    """``"eval/style_ratio <= 0.1 and eval/content_ratio <= 0.6"`` -> conditions (also ``,``)."""
    conditions = []
    for part in re.split(r"\band\b|,", text):
        m = _CONDITION.fullmatch(part)
        if m is None:
            raise SystemExit(f"--quality: cannot read {part.strip()!r}; e.g. {DEFAULT_TARGET!r}")
        conditions.append((m.group(1), m.group(2), float(m.group(3))))
    return conditions


def first_reached(rows: list[dict[str, float]], target: list[tuple[str, str, float]]):
    """The first row (in step order) meeting every condition, or None."""
    for row in sorted(rows, key=lambda r: r["step"]):
        if all(key in row and OPS[op](row[key], value) for key, op, value in target):
            return row
    return None


def read_eval_csv(path: Path) -> list[dict[str, float]]:
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def time_to_quality(cfg, run_dir: Path, target_text: str, log: Path | None) -> dict[str, Any]:
    """Run ``cfg`` (scored every ``cfg.snapshot_every`` iterations) and find the first row that
    meets the target; returns the step, optimisation seconds and the scores there."""
    from nst_research.run import run

    target = parse_target(target_text)
    with contextlib.ExitStack() as stack:
        if log is not None:
            f = stack.enter_context(open(log, "a", buffering=1))
            stack.enter_context(contextlib.redirect_stdout(f))
            stack.enter_context(contextlib.redirect_stderr(f))
        metrics = run(cfg, run_dir, run_name="bench-quality")
    rows = read_eval_csv(run_dir / "eval.csv")
    hit = first_reached(rows, target)
    return {
        "target": target_text,
        "size": int(cfg.size),
        "max_iterations": int(cfg.iterations),
        "every": int(cfg.snapshot_every),
        "status": metrics["status"],
        "reached": hit is not None,
        "step": int(hit["step"]) if hit else None,
        "time_s": hit[TIME_S] if hit else None,
        "at_target": hit,
        "last": rows[-1] if rows else None,
        "s_per_iter": metrics["s_per_iter"],
    }


def markdown(result: dict[str, Any], overrides: list[str]) -> str:
    """The bench report's time-to-quality section."""
    keys = [key for key, _, _ in parse_target(result["target"])]
    where = result["at_target"] if result["reached"] else result["last"]
    values = ", ".join(f"{k} {where[k]:.3f}" for k in keys if where and k in where)
    if result["reached"]:
        answer = f"**{result['step']} iterations, {result['time_s']:.1f} s** ({values})"
    else:
        answer = f"**not reached** in {result['max_iterations']} iterations (at the end: {values})"
    settings = " ".join(overrides) or "defaults"
    return "\n".join(
        [
            "## Time to quality",
            "",
            f"- target: `{result['target']}`; {settings} at {result['size']} px, scored every "
            f"{result['every']} iterations, at most {result['max_iterations']}",
            f"- reached: {answer}",
            "- seconds are optimisation time (scoring excluded); iterations are L-BFGS iterations",
            "",
        ]
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``bench.py``'s flags for the time-to-quality run (the pyramid and feed-forward
    measurements use the target, and the feed-forward ones the iterations and scoring too)."""
    p.add_argument(
        "--quality",
        default=DEFAULT_TARGET,
        help=f"time-to-quality target: eval thresholds joined by 'and' (default {DEFAULT_TARGET!r})",
    )
    p.add_argument("--quality-size", type=int, default=256, help="image size of that run (px)")
    p.add_argument("--quality-iters", type=int, default=300, help="iterations at most")
    p.add_argument("--quality-every", type=int, default=10, help="score every N iterations")
    p.add_argument("--no-quality", action="store_true", help="skip the time-to-quality run")


def step(ctx: Context) -> dict[str, Any]:
    """``bench.py``'s time to quality for the default settings (plus ``--set``)."""
    args = ctx.args
    if not args.quality or args.no_quality:
        return {"quality": {}}
    print("[bench] time to quality ...", file=sys.stderr, flush=True)
    overrides = [f"snapshot_every={args.quality_every}", *args.set]
    cfg = ctx.cfg(args.quality_size, args.quality_iters, overrides)
    result = time_to_quality(cfg, ctx.tmp / "quality", args.quality, ctx.log)
    result["overrides"] = list(args.set)
    return {"quality": result}
