"""A figure's grid: its tiles' images, labels and run statuses, drawn by :mod:`nst_research.io.grid`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nst_research.engine.status import RunStatus
from nst_research.figures.settings import SETTINGS, relabel
from nst_research.figures.specs import FigureSpec
from nst_research.io.grid import DPI, draw_grid

if TYPE_CHECKING:
    import numpy as np

MIN_TILE_IN = 1.5  # tile height in inches; larger where the images need it (1 px = 1 dot)
MISSING = "missing"  # the note of a run tile with neither image nor status


@dataclass
class Grid:
    """What :func:`assemble` drew: shape, labels (as drawn) and the files written."""

    shape: tuple[int, int]
    row_labels: list[str]
    col_labels: list[str]
    tile_labels: list[list[str]]
    files: list[Path] = field(default_factory=list)


def input_tile(path: Path, size: int) -> np.ndarray:
    """An input image as the runs see it: long side ``size`` px, (H, W, 3) uint8."""
    import numpy as np

    from nst_research.io.images import load_image, long_side_size, resize_to

    img = load_image(path, role="figure input")
    return np.asarray(resize_to(img, long_side_size(img.height, img.width, size)))


def _note(image: np.ndarray | None, status: str | None) -> str:
    """A run tile's note: its status when it has no image or stopped early, else nothing."""
    if image is None:
        return status or MISSING
    return "" if status in (None, RunStatus.COMPLETED) else status


def assemble(
    fig: FigureSpec,
    images: dict[tuple[int, int], np.ndarray | None],
    out_stem: Path,
    caption: str = "",
    settings: str = "paper",
    notes: dict[tuple[int, int], str] | None = None,
    under: dict[tuple[int, int], str] | None = None,
) -> Grid:
    """Draw ``fig``'s grid from ``images`` ((row, col) -> (H, W, 3) uint8) into PNG and PDF.

    ``notes`` holds each run's status: a run tile with no image is a grey tile saying it
    (``failed``, ``not run``); a run that stopped early has it under its image. ``under``: text
    under a tile's image (its evaluation scores).
    Deterministic: fixed DPI and figure size, no timestamps in the PNG or PDF metadata.
    """
    s = SETTINGS[settings]
    notes, under = notes or {}, under or {}
    n_rows, n_cols = fig.shape
    cells: list[list[np.ndarray | None]] = [[None] * n_cols for _ in range(n_rows)]
    captions = [[""] * n_cols for _ in range(n_rows)]
    cell_notes = [[""] * n_cols for _ in range(n_rows)]
    cell_under = [[""] * n_cols for _ in range(n_rows)]
    for t in fig.tiles:
        image = images.get((t.row, t.col))
        cells[t.row][t.col] = image
        captions[t.row][t.col] = relabel(t.label, s)
        cell_notes[t.row][t.col] = _note(image, notes.get((t.row, t.col)))
        cell_under[t.row][t.col] = under.get((t.row, t.col), "") if image is not None else ""
    heights = [im.shape[0] for row in cells for im in row if im is not None]
    row_labels = [relabel(r, s) for r in fig.row_labels]
    col_labels = [relabel(c, s) for c in fig.col_labels]
    files = [out_stem.with_suffix(".png"), out_stem.with_suffix(".pdf")]
    tile_labels = draw_grid(
        cells,
        files,
        row_labels=row_labels,
        col_labels=col_labels,
        captions=captions,
        notes=cell_notes,
        under=cell_under,
        title=f"{fig.title}\n{caption}" if caption else fig.title,
        tile_in=max([MIN_TILE_IN] + [h / DPI for h in heights]),
    )
    return Grid((n_rows, n_cols), row_labels, col_labels, tile_labels, files)
