"""A figure as data: a grid of tiles, each an input image, a run, or blank.

Layer names in a spec are the paper's (``conv4_2``); :class:`~nst_research.figures.settings.Settings`
maps them to the taps of the chosen settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """One grid position: an input image (``image``) or a run (``task``), or blank (neither).

    Layer names are the paper's (``conv4_2``); :class:`Settings` maps them to its taps. ``None``
    means "the settings' default" (layers, init) or "the figure's" (content, style, ratio).
    ``overrides``: further ``nst`` overrides of this run (e.g. ``style_loss=mrf``), applied after
    the settings' and before the command's own (``-o``).
    """

    row: int
    col: int
    label: str = ""
    image: str | None = None
    task: str | None = None  # stylize | reconstruct_content | reconstruct_style
    key: str = ""  # run-dir and W&B run name
    content: str | None = None
    style: str | None = None
    content_layers: tuple[str, ...] | None = None
    style_layers: tuple[str, ...] | None = None
    ratio: float | None = None
    init: str | None = None
    seed: int = 0
    styles: tuple[str, ...] | None = None  # several style images (style=[...]), instead of style
    overrides: tuple[str, ...] = ()
    # a method preset (method=NAME): the tile runs with the preset's own settings, so the
    # figure's settings, init and ratio are not applied (only images, size, iterations, seed)
    method: str | None = None

    @property
    def is_run(self) -> bool:
        return self.task is not None


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its grid (row and column labels), its tiles, and what it shows.

    ``settings``: the settings the recipe is made for (``reference``: the project's defaults),
    whatever ``--settings`` says; ``None`` (the paper's figures): the command's.
    """

    name: str
    title: str
    shows: str
    content: str
    style: str
    ratio: float
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    tiles: tuple[Tile, ...]
    settings: str | None = None
    show_seconds: bool = False  # each run tile's wall seconds beside its scores

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_labels), len(self.col_labels)

    @property
    def runs(self) -> list[Tile]:
        return [t for t in self.tiles if t.is_run]

    def __post_init__(self) -> None:
        rows, cols = self.shape
        seen = set()
        for t in self.tiles:
            if not (0 <= t.row < rows and 0 <= t.col < cols) or (t.row, t.col) in seen:
                raise ValueError(f"{self.name}: tile {t.key or t.label!r} at a bad position")
            seen.add((t.row, t.col))
        keys = [t.key for t in self.runs]
        if len(set(keys)) != len(keys) or not all(keys):
            raise ValueError(f"{self.name}: run tiles need distinct keys")


def fmt_ratio(ratio: float) -> str:
    """1e-05 -> '1e-5', 0.0008 -> '8e-4'."""
    mantissa, exponent = f"{ratio:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def layer_range(layers: Sequence[str]) -> str:
    """A cumulative layer set as a label: 'conv1_1', 'conv1_1–conv3_1'."""
    return layers[0] if len(layers) == 1 else f"{layers[0]}–{layers[-1]}"


def layer_key(layers: Sequence[str]) -> str:
    """A cumulative layer set in a run name: 'conv1_1', 'conv1_1-conv3_1'."""
    return layers[0] if len(layers) == 1 else f"{layers[0]}-{layers[-1]}"
