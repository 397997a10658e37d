"""The pictures of a sweep's analysis: ``importance.png`` (variance shares per swept key, one
panel per metric) and ``parallel.png`` (parallel coordinates of the swept keys and the objective,
one line per job). Agg canvas, no time or version metadata (:mod:`nst_research.io.grid`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from nst_research.io.grid import agg_figure, save_figure
from nst_research.report.importance import SEED_PART, Importance
from nst_research.report.plane import file_name
from nst_research.report.ranking import metric_value
from nst_research.report.records import RunRecord, natural_key

MAX_PAIRS = 3  # interactions drawn per panel (the largest)


def _bars(imp: Importance) -> list[tuple[str, float]]:
    bars = list(imp.shares.items())
    bars += [(f"{a} × {b}", v) for (a, b), v in list(imp.pairs.items())[:MAX_PAIRS]]
    bars += list(imp.other.items())
    return bars


def draw_importance(importances: Sequence[Importance], path: Path) -> None:
    """One horizontal bar panel per metric: the share of its variance each part explains."""
    n = max(1, len(importances))
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    longest = max((len(_bars(i)) for i in importances), default=1)
    fig = agg_figure(4.2 * cols, 0.6 + rows * (0.9 + 0.28 * longest))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, imp in zip(axes, importances, strict=False):
        bars = _bars(imp)
        names = [b[0] for b in bars][::-1]
        values = [b[1] for b in bars][::-1]
        colours = ["0.6" if k == SEED_PART else "tab:blue" for k in names]
        ax.barh(range(len(values)), values, color=colours)
        ax.set_yticks(range(len(values)), labels=[_cut(k) for k in names], fontsize=7)
        ax.set_xlim(0, 1)
        for y, v in enumerate(values):
            ax.text(min(v, 0.8) + 0.01, y, f"{v:.0%}", va="center", fontsize=7)
        ax.set_title(f"{imp.metric} (n={imp.n_runs})", fontsize=8)
        ax.set_xlabel("share of variance", fontsize=7)
    for ax in axes[len(importances) :]:
        ax.set_axis_off()
    if not importances:
        axes[0].text(0.5, 0.5, "nothing to decompose", ha="center", transform=axes[0].transAxes)
    fig.suptitle("What the swept keys explain (functional ANOVA)", fontsize=10)
    save_figure(fig, [path])


def _cut(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _axis(values: Sequence[str | None]) -> tuple[list[float], list[tuple[float, str]]]:
    """Positions in [0, 1] of one key's values and the axis ticks: numbers on a linear or log
    scale, anything else as evenly spaced levels in natural order."""
    try:
        nums = [float(v) for v in values]  # type: ignore[arg-type]
        numeric = all(math.isfinite(x) for x in nums)
    except (TypeError, ValueError):
        numeric = False
    if numeric and len(set(nums)) > 1:
        log = min(nums) > 0 and max(nums) / min(nums) > 10
        f = math.log10 if log else float
        lo, hi = f(min(nums)), f(max(nums))
        pos = [(f(x) - lo) / (hi - lo) for x in nums]
        ticks = {p: v for p, v in zip(pos, values, strict=True)}
        return pos, sorted((p, str(v)) for p, v in ticks.items())
    levels = sorted(set(values), key=natural_key)
    at = {v: (i / (len(levels) - 1) if len(levels) > 1 else 0.5) for i, v in enumerate(levels)}
    return [at[v] for v in values], [(at[v], str(v)) for v in levels]


def draw_parallel(
    records: Sequence[RunRecord], keys: Sequence[str], metric: str, path: Path
) -> int:
    """Parallel coordinates: an axis per swept key (seed included) and the metric last, a line
    per completed job coloured by the metric (the colour bar says which end is better). Returns
    the number of jobs drawn."""
    import matplotlib

    runs = [r for r in records if not r.failed and metric_value(r, metric) is not None]
    runs = [r for r in runs if math.isfinite(metric_value(r, metric) or math.nan)]
    axes_keys = [*keys, *(["seed"] if len({r.seed for r in runs}) > 1 else [])]
    fig = agg_figure(max(5.0, 1.6 * (len(axes_keys) + 1)), 4.5)
    ax = fig.subplots()
    if not runs:
        ax.text(0.5, 0.5, f"no job recorded {metric}", ha="center", transform=ax.transAxes)
        save_figure(fig, [path])
        return 0
    values = [metric_value(r, metric) or 0.0 for r in runs]
    columns = [[r.seed if k == "seed" else r.overrides.get(k) for r in runs] for k in axes_keys]
    columns.append([repr(v) for v in values])
    positions, ticks = zip(*(_axis(c) for c in columns), strict=True)
    lo, hi = min(values), max(values)
    cmap = matplotlib.colormaps["viridis_r"]
    norm = matplotlib.colors.Normalize(lo, hi if hi > lo else lo + 1)
    xs = list(range(len(columns)))
    for j, v in enumerate(values):
        jitter = ((j * 7919) % 11 - 5) * 0.004  # deterministic: overlapping lines stay apart
        ys = [p[j] + (jitter if i < len(columns) - 1 else 0.0) for i, p in enumerate(positions)]
        ax.plot(xs, ys, color=cmap(norm(v)), alpha=0.7, linewidth=1.2)
    for x, tick in zip(xs[:-1], ticks[:-1], strict=True):
        ax.axvline(x, color="0.7", linewidth=0.8)
        for y, text in tick:
            ax.text(x + 0.03, y, _cut(file_name(text), 18), fontsize=6, va="center")
    ax.axvline(xs[-1], color="0.7", linewidth=0.8)
    for y, v in ((0.0, lo), (1.0, hi)) if hi > lo else ((0.5, lo),):
        ax.text(xs[-1] + 0.03, y, f"{v:.4g}", fontsize=6, va="center")
    ax.set_xticks(xs, labels=[_cut(k, 22) for k in [*axes_keys, metric]], fontsize=7)
    ax.set_yticks([])
    ax.set_ylim(-0.08, 1.08)
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax)
    bar.set_label(f"{metric} (yellow: lower)", fontsize=7)
    ax.set_title(f"{len(runs)} jobs, coloured by {metric}", fontsize=9)
    save_figure(fig, [path])
    return len(runs)
