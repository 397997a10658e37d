"""The benchmark's pictures: the methods' plane and the contact sheet of pairs x methods.

The plane puts each method at its mean style metric (x) and content metric (y) over pairs, with
their 95% t intervals as error bars, and a few of its outputs beside the point; lower is better
on both axes by default (the bottom-left corner). The contact sheet has a row per pair: content,
style, then each method's output. Both are drawn on the Agg canvas without metadata
(:mod:`nst_research.io.grid`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nst_research.benchmark.plan import pair_name
from nst_research.benchmark.stats import HIGHER_IS_BETTER
from nst_research.benchmark.table import Results, method_rows
from nst_research.io.grid import agg_figure, draw_grid, save_figure

STYLE_AXES = ("eval/random_style_ratio", "eval/style_ratio")
CONTENT_AXES = ("eval/cfsd", "eval/random_content_ratio", "eval/content_ratio")
THUMBS = 3  # outputs drawn beside each point
THUMB_PX = 96


def _first(res: Results, wanted: str | None, options: tuple[str, ...]) -> str | None:
    for k in [wanted] if wanted else options:
        if k in res.metrics:
            return k
    return None


def thumbnail(path: Path, px: int = THUMB_PX) -> np.ndarray | None:
    """An image file as an (h, w, 3) uint8 array, long side at most ``px``."""
    from PIL import Image

    if not path.is_file():
        return None
    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((px, px))
        return np.asarray(img)


def draw_plane(
    res: Results, path: Path, style_metric: str | None = None, content_metric: str | None = None
) -> Path | None:
    """One point per method with its interval; None when a metric is missing."""
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    x_key, y_key = _first(res, style_metric, STYLE_AXES), _first(res, content_metric, CONTENT_AXES)
    if x_key is None or y_key is None:
        return None
    rows = method_rows(res)
    fig = agg_figure(8.0, 6.0)
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    for i, m in enumerate(res.methods):
        x, y = rows[m][x_key], rows[m][y_key]
        if x.n == 0 or y.n == 0:
            continue
        xerr = [[x.mean - x.lo], [x.hi - x.mean]] if math.isfinite(x.lo) else None
        yerr = [[y.mean - y.lo], [y.hi - y.mean]] if math.isfinite(y.lo) else None
        ax.errorbar(
            [x.mean],
            [y.mean],
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            color=colours[i % 10],
            capsize=4,
            label=f"{m} (n={x.n})",
        )
        jobs = [
            res.jobs[(m, p)]
            for p in res.pairs
            if (m, p) in res.jobs and res.jobs[(m, p)].status == "completed"
        ]
        for j, job in enumerate(jobs[:THUMBS]):
            img = thumbnail(job.job_dir / "final.png", 40)
            if img is None:
                continue
            box = AnnotationBbox(
                OffsetImage(img, zoom=1.0),
                (x.mean, y.mean),
                xybox=(40 + 46 * j, 46 * (i - 1)),
                boxcoords="offset points",
                frameon=True,
                pad=0.1,
                bboxprops={"edgecolor": colours[i % 10]},
            )
            ax.add_artist(box)
    arrow = {
        k: "(higher is better)" if k in HIGHER_IS_BETTER else "(lower is better)"
        for k in (x_key, y_key)
    }
    ax.set_xlabel(f"{x_key} {arrow[x_key]}: style")
    ax.set_ylabel(f"{y_key} {arrow[y_key]}: content")
    ax.set_title(f"methods over {len(res.pairs)} pairs: mean and 95% t interval", fontsize=10)
    ax.margins(0.35)
    ax.legend(fontsize=8, loc="best")
    save_figure(fig, [path])
    return path


def contact_sheet(res: Results, path: Path, tile_in: float = 1.0) -> Path | None:
    """Rows: pairs; columns: content, style, each method's output (grey 'failed' when none)."""
    if not res.pairs:
        return None
    images, notes, labels = [], [], []
    for c, s in res.plan.pairs:
        p = pair_name(c, s)
        row = [thumbnail(Path(c), 128), thumbnail(Path(s), 128)]
        note = ["", ""]
        for m in res.methods:
            job = res.jobs.get((m, p))
            ok = job is not None and job.status == "completed"
            row.append(thumbnail(job.job_dir / "final.png", 128) if ok else None)
            note.append("" if ok else (job.status if job else "not run"))
        images.append(row)
        notes.append(note)
        labels.append(p.replace("__", "\n"))
    draw_grid(
        images,
        [path],
        row_labels=labels,
        col_labels=["content", "style", *res.methods],
        notes=notes,
        tile_in=tile_in,
    )
    return path
