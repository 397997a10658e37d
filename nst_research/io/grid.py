"""One labelled image grid, drawn with matplotlib: the paper figures and the sweep contact sheets.

A grid is rows x cols of cells. A cell is an (H, W, 3) uint8 RGB array, or None: then a grey tile
saying the cell's note (``failed``, ``missing``), or nothing at all when the cell has no note.
Column labels head the first row, row labels stand left of the first column, each cell may have
a caption above it, and a cell with an image may have a note under it in red (a run that stopped
early). The figure has a fixed size and DPI and no timestamps in its PNG or PDF metadata, so the
same cells give the same bytes. matplotlib is imported lazily, on the Agg canvas (no pyplot, so
no global backend switch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nst_research.io.files import atomic_path

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100  # fixed: the same cells give the same pixels
GREY = 200  # the grey of a tile with no image
DEFAULT_ASPECT = 4 / 3  # width / height of a tile when no cell has an image
LINE_IN = 0.17  # height of one line of 8-10 pt text, inches
CHAR_IN = 0.075  # width of one character of 8-9 pt text, inches (generous)

# Metadata keys matplotlib would fill with its version or the time; None leaves them out.
_NO_METADATA = {
    ".png": {"Software": None},
    ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}


def agg_figure(width_in: float, height_in: float) -> Figure:
    """A constrained-layout matplotlib Figure on the Agg canvas, at :data:`DPI`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    # 0.1 in around each axes (matplotlib's default 3 pt let a tall tile's 3-line title touch the
    # suptitle: found by tests/test_grid_layout.py)
    fig.get_layout_engine().set(h_pad=0.1)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, paths: Sequence[Path]) -> None:
    """Save ``fig`` to each path (format from the suffix), without time or version metadata."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:  # the whole file or none (nst_research/io/files.py)
            meta = _NO_METADATA.get(path.suffix.lower())
            fig.savefig(tmp, format=path.suffix[1:], dpi=DPI, metadata=meta)


def load_rgb(path: Path | None) -> np.ndarray | None:
    """An image file as an (H, W, 3) uint8 array, or None if absent or unreadable."""
    if path is None or not Path(path).is_file():
        return None
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except OSError:
        return None


def _at(table: Sequence[Sequence[str]], i: int, j: int) -> str:
    """``table[i][j]``, or ``""`` where the table is shorter."""
    return table[i][j] if i < len(table) and j < len(table[i]) else ""


def cell_titles(
    n_rows: int, n_cols: int, col_labels: Sequence[str], captions: Sequence[Sequence[str]]
) -> list[list[str]]:
    """What stands above each cell: its caption, under its column's label in the first row."""
    titles = [[_at(captions, i, j) for j in range(n_cols)] for i in range(n_rows)]
    for j in range(n_cols):
        label = col_labels[j] if j < len(col_labels) else ""
        if label:
            titles[0][j] = f"{label}\n{titles[0][j]}" if titles[0][j] else label
    return titles


def aspect(images: Sequence[Sequence[np.ndarray | None]]) -> float:
    """The widest width / height of the images, or :data:`DEFAULT_ASPECT` when there are none."""
    shapes = [im.shape for row in images for im in row if im is not None]
    return max((w / h for h, w, *_ in shapes), default=DEFAULT_ASPECT)


def _lines(texts: Sequence[str]) -> int:
    """The most lines any of ``texts`` takes (0 when all are empty)."""
    return max((t.count("\n") + 1 for t in texts if t), default=0)


def grid_size(
    images: Sequence[Sequence[np.ndarray | None]],
    titles: Sequence[Sequence[str]],
    row_labels: Sequence[str],
    lines_under: int,
    title: str,
    tile_in: float,
    texts: Sequence[str] = (),
) -> tuple[float, float]:
    """Figure width and height in inches: tiles of height ``tile_in`` plus room for the text
    (above and under each tile, with a line's margin; a column as wide as its longest line of
    ``texts``, the titles and the text under the tiles)."""
    n_rows, n_cols = len(images), len(images[0])
    label_in = max(
        (0.08 * len(line) + 0.2 for label in row_labels for line in label.splitlines()),
        default=0.0,
    )
    text_in = LINE_IN * (max(_lines(row) for row in titles) + lines_under + 1)  # + a margin
    text_w = max((CHAR_IN * len(line) for t in texts for line in t.splitlines()), default=0.0)
    width = label_in + n_cols * (max(tile_in * aspect(images), text_w) + 0.1)
    height = 0.2 + 0.2 * _lines([title]) + n_rows * (tile_in + 0.1 + text_in)
    height += 0.1 * lines_under  # the text under the last row's tiles
    return width, height


def _draw_cell(
    ax: Axes,
    image: np.ndarray | None,
    note: str,
    grey: np.ndarray,
    interpolation: str,
    under: str = "",
) -> None:
    """One cell: its image (with ``under`` and ``note`` under it), a grey tile saying ``note``,
    or nothing. The note (a run's status) is red; ``under`` alone (e.g. scores) is dark grey."""
    ax.set_xticks([])
    ax.set_yticks([])
    if image is None and not note:
        ax.set_frame_on(False)
    elif image is None:
        ax.imshow(grey)
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="0.25")
    else:
        ax.imshow(image, interpolation=interpolation)
        text = "\n".join(t for t in (under, note) if t)
        if text:
            ax.set_xlabel(text, fontsize=8, color="tab:red" if note else "0.2")


def _lines_under(images, under, notes) -> int:
    """The most lines of text under any image (its scores, then its note)."""
    n_rows, n_cols = len(images), len(images[0])
    return _lines(
        [
            "\n".join(t for t in (_at(under, i, j), _at(notes, i, j)) if t)
            for i in range(n_rows)
            for j in range(n_cols)
            if images[i][j] is not None
        ]
    )


def _texts(titles, under, notes) -> list[str]:
    """Every text drawn above or under a cell (a column must be as wide as its longest line)."""
    n_rows, n_cols = len(titles), len(titles[0])
    cells = [(i, j) for i in range(n_rows) for j in range(n_cols)]
    return [t for row in titles for t in row] + [
        f"{_at(under, i, j)}\n{_at(notes, i, j)}" for i, j in cells
    ]


def draw_grid(
    images: Sequence[Sequence[np.ndarray | None]],
    paths: Sequence[Path],
    *,
    row_labels: Sequence[str] = (),
    col_labels: Sequence[str] = (),
    captions: Sequence[Sequence[str]] = (),
    notes: Sequence[Sequence[str]] = (),
    under: Sequence[Sequence[str]] = (),
    title: str = "",
    tile_in: float = 1.5,
    interpolation: str = "antialiased",
    on_figure: Callable[[Figure], object] | None = None,
) -> list[list[str]]:
    """Draw ``images`` (rows x cols, each (H, W, 3) uint8 or None) as a labelled grid into ``paths``.

    Args:
        images: the cells, row by row; all rows as long as the first.
        paths: files to write (``.png``, ``.pdf``, ...), all from the same drawing.
        row_labels, col_labels: one per row / column (``""`` for none); may be shorter.
        captions: text above each cell, rows x cols; may be shorter.
        notes: per cell, the word a grey tile says when the cell has no image, or the red note
            under its image; a cell with neither image nor note is left blank.
        under: per cell, text under its image (e.g. evaluation scores), above its note.
        title: above the grid.
        tile_in: tile height in inches (1 px of image = 1 dot at ``tile_in = H / DPI``).
        interpolation: matplotlib's, e.g. ``nearest`` to keep tiny images crisp.
        on_figure: called with the drawn figure before it is saved (tests read its layout).

    Returns:
        The text drawn above each cell (caption, under the column label in the first row).
    """
    import numpy as np

    n_rows, n_cols = len(images), len(images[0])
    titles = cell_titles(n_rows, n_cols, col_labels, captions)
    size = grid_size(images, titles, row_labels, _lines_under(images, under, notes), title,
                     tile_in, _texts(titles, under, notes))  # fmt: skip
    fig = agg_figure(*size)
    grey = np.full((100, round(100 * aspect(images)), 3), GREY, dtype=np.uint8)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i][j]
            _draw_cell(ax, images[i][j], _at(notes, i, j), grey, interpolation, _at(under, i, j))
            if titles[i][j]:
                ax.set_title(titles[i][j], fontsize=9)
            if j == 0 and i < len(row_labels) and row_labels[i]:
                ax.set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    if on_figure is not None:
        on_figure(fig)
    save_figure(fig, paths)
    return titles
