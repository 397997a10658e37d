"""Paper figures of Gatys, Ecker & Bethge (CVPR 2016) as recipes: runs, then one labelled grid.

Each figure is data (:data:`FIGURES`, in :mod:`.recipes`): which tiles, at which grid position,
with which labels, and for each run tile what it changes (task, images, layers, ratio alpha/beta,
init, seed). A :class:`Settings` (``paper`` or ``reference``, :mod:`.settings`) turns a tile into
Hydra overrides; :mod:`.running` composes and runs them in-process, the same harness as ``nst``,
and :mod:`.drawing` draws the grid into ``<out>/<name>.png`` and ``.pdf``. :mod:`.cli` is the
command line (``python -m nst_research.figures``).

``experiments/README.md`` describes every figure and the ``nst`` command of one of its tiles.
"""

from __future__ import annotations

from nst_research.configs.compose import compose_many as compose_configs
from nst_research.figures.cli import QUICK_ITERATIONS, QUICK_SIZE, main
from nst_research.figures.drawing import MIN_TILE_IN, Grid, assemble
from nst_research.figures.recipes import FIGURES, TITLES, get_figure
from nst_research.figures.running import (
    FULL_ITERATIONS,
    FULL_SIZE,
    Options,
    TileResult,
    make_figure,
    nst_command,
    run_figure,
    tile_overrides,
)
from nst_research.figures.settings import SETTINGS, Settings, relabel
from nst_research.figures.specs import FigureSpec, Tile, fmt_ratio, layer_key, layer_range

__all__ = [
    "FIGURES",
    "FULL_ITERATIONS",
    "FULL_SIZE",
    "MIN_TILE_IN",
    "QUICK_ITERATIONS",
    "QUICK_SIZE",
    "SETTINGS",
    "TITLES",
    "FigureSpec",
    "Grid",
    "Options",
    "Settings",
    "Tile",
    "TileResult",
    "assemble",
    "compose_configs",
    "fmt_ratio",
    "get_figure",
    "layer_key",
    "layer_range",
    "main",
    "make_figure",
    "nst_command",
    "relabel",
    "run_figure",
    "tile_overrides",
]
