"""The style/content plane: each configuration at its mean content and style ratios.

x = ``eval/content_ratio`` (0: the content's features, 1: the style's), y = ``eval/style_ratio``
(0: the style's Gram statistics, 1: the unstylised content's); lower is better on both, so the
good corner is the bottom left. The Pareto front (configurations no other one beats on both) is
drawn with filled markers joined by a step line; the rest are hollow. Drawn with matplotlib on
the Agg canvas (no pyplot), without time or version metadata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nst_research.configs.names import EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO
from nst_research.io.grid import agg_figure, save_figure
from nst_research.report.configs import UNSET, Config
from nst_research.report.table import ReportRow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LABEL_CHARS = 24  # a point's label is cut to this many characters


@dataclass(frozen=True)
class PlanePoint:
    """One configuration on the plane.

    Attributes:
        name: the configuration in full (``sweep: k=v, k=v`` when comparing), as in report.md.
        label: the short text drawn beside the point (its swept values).
        group: the sweep it belongs to (one colour per group).
        x, y: mean content and style ratios over seeds; x_sd, y_sd: their sample sd (None: one seed).
        on_front: whether it is on the Pareto front of the points drawn with it.
    """

    name: str
    label: str
    group: str
    x: float
    y: float
    x_sd: float | None = None
    y_sd: float | None = None
    on_front: bool = False


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices (ascending) of the points no other point dominates, lower being better on both.

    ``q`` dominates ``p`` when ``q`` is no worse on both coordinates and better on one, so equal
    points do not dominate each other (both are on the front, or neither). Points with a NaN or
    infinite coordinate are never on the front and dominate nothing.
    """
    finite = [i for i, (x, y) in enumerate(points) if math.isfinite(x) and math.isfinite(y)]

    def dominated(i: int) -> bool:
        (x, y) = points[i]
        return any(
            points[j][0] <= x and points[j][1] <= y and (points[j][0] < x or points[j][1] < y)
            for j in finite
        )

    return [i for i in finite if not dominated(i)]


def file_name(value: str) -> str:
    """A path's file name (``/data/the_scream.jpg`` -> ``the_scream.jpg``); other values as they
    are. Image paths swept as ``content=``/``style=`` make unreadable labels otherwise."""
    return value.rsplit("/", 1)[-1] if "/" in value and not value.startswith("[") else value


def short_label(config: Config, name: str = "") -> str:
    """The swept values of a configuration, comma separated (``name`` when nothing was swept),
    cut to :data:`LABEL_CHARS`."""
    text = ", ".join(UNSET if v is None else file_name(v) for v in config) or name
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def plane_points(
    rows: Sequence[ReportRow],
    names: Sequence[str],
    group: str,
    labels: Sequence[str] | None = None,
) -> list[PlanePoint]:
    """The points of the configuration rows with both mean ratios.

    ``names[i]`` names ``rows[i]`` in full; its drawn label is its swept values, or ``labels[i]``
    (default: the name) when nothing was swept.
    """
    points = []
    for i, (row, name) in enumerate(zip(rows, names, strict=True)):
        x, x_sd = row.stats.get(EVAL_CONTENT_RATIO, (None, None))
        y, y_sd = row.stats.get(EVAL_STYLE_RATIO, (None, None))
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
            label = short_label(row.config, name if labels is None else labels[i])
            points.append(PlanePoint(name, label, group, x, y, x_sd, y_sd))
    return points


def add_notes(fig: Figure, notes: Sequence[str], width: int = 110) -> None:
    """Write ``notes`` (e.g. the verdicts) under the figure's plots, wrapped to ``width``."""
    import textwrap

    if notes:
        text = "\n".join(textwrap.fill(n, width, subsequent_indent="    ") for n in notes)
        fig.supxlabel(text, fontsize=7, ha="left", x=0.01, multialignment="left")


def mark_front(points: Sequence[PlanePoint]) -> list[PlanePoint]:
    """The points with ``on_front`` set by :func:`pareto_front` over all of them."""
    front = set(pareto_front([(p.x, p.y) for p in points]))
    return [replace(p, on_front=i in front) for i, p in enumerate(points)]


def draw_plane(
    points: Sequence[PlanePoint],
    path: Path,
    title: str = "",
    notes: Sequence[str] = (),
    thumbnails: Mapping[str, Path] | None = None,
) -> list[PlanePoint]:
    """Draw the points (error bars: sd over seeds) and their Pareto front into ``path``.

    One colour per group (legend when there are several). ``notes``: lines written under the
    plot (the verdicts: winner, margin, test). ``thumbnails``: point name -> an image (its
    final.png), drawn small beside each point on the front. Returns the points drawn, each with
    ``on_front`` set; with no points the figure says so.
    """
    import matplotlib

    marked = mark_front(points)
    groups = list(dict.fromkeys(p.group for p in marked))
    colours = {g: matplotlib.colormaps["tab10"](n % 10) for n, g in enumerate(groups)}
    fig = agg_figure(7.0, 5.5)
    ax = fig.subplots()
    for p in marked:
        colour = colours[p.group]
        ax.errorbar(
            p.x, p.y, xerr=p.x_sd or 0.0, yerr=p.y_sd or 0.0, fmt="none", ecolor=colour, alpha=0.5
        )
        face = colour if p.on_front else "none"
        ax.scatter([p.x], [p.y], s=40, facecolors=[face], edgecolors=[colour], zorder=3)
        ax.annotate(p.label, (p.x, p.y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    front = sorted((p.x, p.y) for p in marked if p.on_front)
    if front:
        xs, ys = zip(*front, strict=True)
        ax.step(
            xs, ys, where="post", color="0.3", linestyle="--", linewidth=1, label="Pareto front"
        )
    _thumbnails(ax, [p for p in marked if p.on_front], thumbnails or {})
    for g in groups if len(groups) > 1 else []:
        ax.scatter([], [], color=colours[g], label=g)
    if marked:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no content and style ratios", transform=ax.transAxes, ha="center")
    ax.set_xlabel(f"{EVAL_CONTENT_RATIO} (lower: closer to the content)")
    ax.set_ylabel(f"{EVAL_STYLE_RATIO} (lower: closer to the style)")
    ax.set_title(title or "style/content plane (mean ± sd over seeds)", fontsize=10)
    ax.grid(True, alpha=0.3)
    add_notes(fig, notes)
    save_figure(fig, [path])
    return marked


THUMB_PX = 48  # long side of a thumbnail on the plane


def _thumbnails(ax, points: Sequence[PlanePoint], images: Mapping[str, Path]) -> None:
    """Each point's image, small, offset alternately above and below it (front points only)."""
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    from nst_research.io.grid import load_rgb

    for n, p in enumerate(points):
        rgb = load_rgb(images.get(p.name))
        if rgb is None:
            continue
        zoom = THUMB_PX / max(rgb.shape[:2])
        box = AnnotationBbox(
            OffsetImage(rgb, zoom=zoom),
            (p.x, p.y),
            xybox=(40, 40 if n % 2 == 0 else -40),
            boxcoords="offset points",
            pad=0.15,
            arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.6},
        )
        ax.add_artist(box)
