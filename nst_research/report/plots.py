"""The report's figures: the final images as a contact sheet, the loss and evaluation curves.

The contact sheet is drawn by :func:`nst_research.io.grid.draw_grid`, the same drawer as the paper
figures. Both figures are drawn with matplotlib on the Agg canvas (no pyplot).
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst_research.configs.names import EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO, LOSS_STYLE, LOSS_TOTAL
from nst_research.engine.status import RunStatus
from nst_research.io.files import write_with
from nst_research.io.grid import DPI, agg_figure, aspect, draw_grid, load_rgb
from nst_research.report.configs import (
    UNSET,
    config_keys,
    config_label,
    group_by_config,
    stat_runs,
    swept_keys,
)
from nst_research.report.records import FAILED, SEED_KEY, RunRecord, natural_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MISSING = "missing"  # a combination of swept values that no job ran
NO_IMAGE = "no image"  # a run that left metrics but no final.png

Cell = RunRecord | None | str  # a run, or the word of a tile with no run


def wrap_label(text: str, width: int) -> str:
    """Wrap at spaces and after commas (so ``[relu1_1,relu2_1,...]`` breaks between layers)."""
    lines: list[str] = []
    line = ""
    for token in re.split(r"(?<=[, ])", text):
        if line and len(line) + len(token.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        while len(token) > width:
            lines.append(token[:width])
            token = token[width:]
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def _representative(runs: Sequence[RunRecord]) -> RunRecord | None:
    """The run to show for a cell: the lowest seed with a final image, completed ones first."""
    with_image = [r for r in runs if r.final_image is not None]
    completed = [r for r in with_image if r.status == RunStatus.COMPLETED]
    return (completed or with_image or list(runs) or [None])[0]


def contact_sheet_grid(
    records: Sequence[RunRecord],
) -> tuple[list[str], list[str], list[list[Cell]]]:
    """Row labels, column labels and cells (a run, or a string for a tile with no run).

    Two swept keys (besides the seed): rows = values of the first, columns = values of the second,
    each cell the lowest-seed run. Otherwise one row per configuration and one column per seed.
    """
    keys = config_keys(records)
    groups = group_by_config(records, keys)
    if len(keys) == 2:
        row_values = sorted({c[0] for c in groups}, key=natural_key)
        col_values = sorted({c[1] for c in groups}, key=natural_key)
        cells: list[list[Cell]] = [
            [
                _representative(groups[(rv, cv)]) if (rv, cv) in groups else MISSING
                for cv in col_values
            ]
            for rv in row_values
        ]
        fmt = lambda k, v: f"{k}={UNSET if v is None else v}"  # noqa: E731
        return (
            [fmt(keys[0], v) for v in row_values],
            [fmt(keys[1], v) for v in col_values],
            cells,
        )
    row_labels = [config_label(c, keys, records) for c in groups]
    if SEED_KEY in swept_keys(records):
        seeds = sorted({r.seed for r in records}, key=natural_key)
        cells = [
            [next((r for r in runs if r.seed == s), MISSING) for s in seeds]
            for runs in groups.values()
        ]
        return row_labels, [f"seed={s}" for s in seeds], cells
    width = max(len(runs) for runs in groups.values())
    cells = [[*runs, *([MISSING] * (width - len(runs)))] for runs in groups.values()]
    return row_labels, ["" for _ in range(width)], cells


def _note(cell: Cell, has_image: bool) -> str:
    """What a cell says: a run's status unless completed, or why a tile has no image."""
    if isinstance(cell, str):
        return cell
    if cell is None:
        return MISSING
    if cell.failed:
        return FAILED
    if cell.status == RunStatus.COMPLETED:
        return "" if has_image else NO_IMAGE
    return cell.status  # interrupted, diverged: under the image, or on its grey tile


def draw_contact_sheet(
    records: Sequence[RunRecord], path: Path, title: str = "", tile_in: float = 1.8
) -> tuple[int, int]:
    """Draw the final images as a labelled grid into ``path``; returns ``(rows, cols)``.

    Tiles keep the images' aspect (nearest-neighbour, so tiny test images stay crisp); a job with
    no final image is a grey tile saying ``failed`` and a combination never run one saying
    ``missing``. A run that stopped early (interrupted, diverged) has its status under its tile.
    """
    row_labels, col_labels, cells = contact_sheet_grid(records)
    images = [
        [load_rgb(c.final_image) if isinstance(c, RunRecord) else None for c in row]
        for row in cells
    ]
    notes = [
        [_note(c, im is not None) for c, im in zip(row, ims, strict=True)]
        for row, ims in zip(cells, images, strict=True)
    ]
    col_chars = max(12, int(tile_in * aspect(images) * 12))
    draw_grid(
        images,
        [path],
        row_labels=[
            "\n".join(wrap_label(p, 32) for p in label.split(", ")) for label in row_labels
        ],
        col_labels=[wrap_label(label, col_chars) for label in col_labels],
        notes=notes,
        title=title,
        tile_in=tile_in,
        interpolation="nearest",
    )
    return len(cells), len(cells[0])


def read_losses(path: Path) -> dict[str, list[float]]:
    """``losses.csv`` as columns (``step`` and each loss); empty if missing or unreadable."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            columns: dict[str, list[float]] = {k: [] for k in reader.fieldnames or []}
            for line in reader:
                for k in columns:
                    try:
                        columns[k].append(float(line[k]))
                    except (TypeError, ValueError):
                        columns[k].append(math.nan)
    except OSError:
        return {}
    return columns


def mean_curve(
    runs: Sequence[RunRecord], key: str, file: str = "losses.csv"
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Steps present in every run's ``file`` (``losses.csv`` or ``eval.csv``), with the mean, min
    and max of ``key`` there."""
    per_run: list[dict[float, float]] = []
    for run in runs:
        columns = read_losses(run.job_dir / file)
        if "step" in columns and key in columns:
            per_run.append(dict(zip(columns["step"], columns[key], strict=False)))
    if not per_run:
        return [], [], [], []
    steps = sorted(set.intersection(*(set(d) for d in per_run)))
    mean = [statistics.fmean(d[s] for d in per_run) for s in steps]
    low = [min(d[s] for d in per_run) for s in steps]
    high = [max(d[s] for d in per_run) for s in steps]
    return steps, mean, low, high


def _plot_curve(
    ax: Axes, runs: Sequence[RunRecord], key: str, color: Any, label: str, curves: Curves
) -> bool:
    """The mean of ``key`` over ``runs`` against step, with a min..max band; False if no data."""
    steps, mean, low, high = mean_curve(stat_runs(runs), key, curves.file)
    pairs = [
        (s, m, lo, hi)
        for s, m, lo, hi in zip(steps, mean, low, high, strict=True)
        if math.isfinite(m) and (m > 0 or not curves.log)
    ]
    if not pairs:
        return False
    s, m, lo, hi = (list(t) for t in zip(*pairs, strict=True))
    ax.plot(s, m, color=color, label=wrap_label(label, 50), linewidth=1.5)
    if lo != hi and all(math.isfinite(v) and (v > 0 or not curves.log) for v in lo + hi):
        ax.fill_between(s, lo, hi, color=color, alpha=0.15, linewidth=0)
    return True


def _style_axes(ax: Axes, key: str, replicated: bool, curves: Curves) -> None:
    """Log (losses) or linear (scores) y, integer steps, a grid, a note on an axes with no line."""
    from matplotlib.ticker import MaxNLocator

    ax.set_yscale("log" if curves.log else "linear")
    ax.set_xlabel("step")
    ax.set_ylabel(key)
    ax.set_title(key + (" (mean over seeds, band: min..max)" if replicated else ""), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not ax.lines:
        ax.text(0.5, 0.5, f"no data in {curves.file}", transform=ax.transAxes, ha="center")


@dataclass(frozen=True)
class Curves:
    """Which curves a figure draws: the columns ``keys`` of each run's ``file``, log y or not."""

    keys: tuple[str, ...]
    file: str = "losses.csv"
    log: bool = True


LOSS_CURVES = Curves((LOSS_TOTAL, LOSS_STYLE))
# The scores against step (eval.csv: step 0, every snapshot, the end): which arm gets there first.
EVAL_CURVES = Curves((EVAL_STYLE_RATIO, EVAL_CONTENT_RATIO), "eval.csv", log=False)


def draw_loss_curves(
    records: Sequence[RunRecord],
    path: Path,
    curves: Curves = LOSS_CURVES,
    notes: Sequence[str] = (),
) -> int:
    """Plot each of ``curves.keys`` against step, one line per configuration; ``notes`` (the
    verdicts) are written under the plots.

    The line is the mean over the configuration's seeds (failed jobs have no curve), the band
    their min..max. Returns the number of configurations drawn.
    """
    keys = curves.keys
    import matplotlib

    ckeys = config_keys(records)
    groups = group_by_config(records, ckeys)
    fig = agg_figure(6.0 * len(keys) + 3.0, 4.5)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    cmap = matplotlib.colormaps["tab10" if len(groups) <= 10 else "viridis"]
    n_lines = 0
    for n, (config, runs) in enumerate(groups.items()):
        color = cmap(n % 10) if len(groups) <= 10 else cmap(n / max(1, len(groups) - 1))
        label = config_label(config, ckeys, records)
        drawn = [
            _plot_curve(ax, runs, key, color, label, curves)
            for ax, key in zip(axes, keys, strict=True)
        ]
        n_lines += any(drawn)
    replicated = any(len(stat_runs(runs)) > 1 for runs in groups.values())
    for ax, key in zip(axes, keys, strict=True):
        _style_axes(ax, key, replicated, curves)
    if n_lines:
        axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    from nst_research.report.plane import add_notes

    add_notes(fig, notes)
    write_with(
        path,
        lambda tmp: fig.savefig(tmp, format=Path(path).suffix[1:], bbox_inches="tight", dpi=DPI),
    )
    return n_lines
