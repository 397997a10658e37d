"""Paper figures of Gatys, Ecker & Bethge (CVPR 2016) as recipes: runs, then one labelled grid.

Each figure is data (:data:`FIGURES`): which tiles, at which grid position, with which labels, and
for each run tile what it changes (task, images, layers, ratio alpha/beta, init, seed). A
:class:`Settings` (``paper`` or ``reference``) turns a tile into Hydra overrides; the configs are
composed with Hydra's compose API from ``conf/`` (experiments/ on the searchpath) and run in-process
by :func:`nst_research.run.run`, the same harness as ``nst``. All runs of one figure share one W&B
group, the figure's name. The grid is drawn with matplotlib (Agg canvas, imported lazily) into
``<out>/<name>.png`` and ``.pdf``; the runs go to ``<out>/runs/<name>/<stamp>/<tile>/``.

Usage::

    python -m nst_research.figures gatys2016_fig4 [--quick] [--settings paper|reference]
    python -m nst_research.figures all --size 256 --iterations 300 --out figures
    python -m nst_research.figures gatys2016_fig1 --dry-run     # the nst command of every run

``experiments/README.md`` describes every figure and the ``nst`` command of one of its tiles.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nst_research.errors import ConfigError, NSTError

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
EXPERIMENTS_DIR = REPO / "experiments"

FULL_SIZE = 256  # px, long side (the paper's figures used about 512)
FULL_ITERATIONS = 300  # L-BFGS iterations
QUICK_SIZE = 48  # --quick: a few iterations on small images, to check the whole pipeline
QUICK_ITERATIONS = 5
MIN_TILE_IN = 1.5  # tile height in inches; larger where the images need it (1 px = 1 dot)
DPI = 100  # fixed: the same command gives the same pixels

# The paper's CVPR 2016 names of the classic images (see nst_research/data.py).
TITLES = {
    "tubingen.jpg": "Neckarfront",
    "starry_night.jpg": "The Starry Night",
    "shipwreck.jpg": "The Shipwreck of the Minotaur",
    "the_scream.jpg": "The Scream",
    "seated-nude.jpg": "Femme nue assise",
    "woman-with-hat-matisse.jpg": "Woman with a Hat\n(for Composition VII)",
}

CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CUMULATIVE_STYLE = tuple(STYLE_LAYERS[: k + 1] for k in range(len(STYLE_LAYERS)))


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How the paper's recipe becomes a config: taps, pooling, init, loss and the ratio's meaning.

    Attributes:
        name: ``paper`` or ``reference``.
        overrides: Hydra overrides every run of a figure gets.
        taps: ``conv`` (the paper's names as written) or ``relu`` (``conv4_2`` -> ``relu4_2``).
        init: the init of a stylisation tile that does not set its own.
        weights: the paper's ratio alpha/beta -> (``loss.content_weight``, ``loss.style_weight``).
        summary: one line for the figure's caption.
    """

    name: str
    overrides: tuple[str, ...]
    taps: str
    init: str
    weights: Callable[[float], tuple[float, float]]
    summary: str

    def layer(self, name: str) -> str:
        """A layer as the paper names it (``conv4_2``), tapped as these settings tap it."""
        return name.replace("conv", "relu", 1) if self.taps == "relu" else name


def _paper_weights(ratio: float) -> tuple[float, float]:
    """alpha/beta = content_weight/style_weight with the paper's summed losses: (1, 1/ratio)."""
    return 1.0, 1.0 / ratio


# The reference losses (means; Grams / CHW) are on another scale than the paper's sums, and the
# factor between them depends on each layer's size, so no exact conversion exists. The mapping
# keeps the ratios' spacing and anchors the paper's usual 1e-3 at the project's default weights
# (content 5, style 500, as jcjohnson/neural-style): style_weight = 500 * (1e-3 / ratio).
REFERENCE_CONTENT_WEIGHT = 5.0
REFERENCE_STYLE_WEIGHT_AT_1E_3 = 500.0


def _reference_weights(ratio: float) -> tuple[float, float]:
    return REFERENCE_CONTENT_WEIGHT, REFERENCE_STYLE_WEIGHT_AT_1E_3 * 1e-3 / ratio


SETTINGS: dict[str, Settings] = {
    "paper": Settings(
        name="paper",
        overrides=("layers=paper_conv", "model.pooling=avg", "loss=paper"),
        taps="conv",
        init="noise",
        weights=_paper_weights,
        summary="paper settings: conv taps, avg pooling, noise init, summed losses "
        "(content_weight 1, style_weight 1/ratio)",
    ),
    "reference": Settings(
        name="reference",
        overrides=("layers=gatys2016", "model.pooling=max", "loss=default"),
        taps="relu",
        init="content",
        weights=_reference_weights,
        summary="reference settings: relu taps, max pooling, content init, mean losses + TV "
        "(content_weight 5, style_weight 0.5/ratio)",
    ),
}


# --- figures as data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One grid position: an input image (``image``) or a run (``task``), or blank (neither).

    Layer names are the paper's (``conv4_2``); :class:`Settings` maps them to its taps. ``None``
    means "the settings' default" (layers, init) or "the figure's" (content, style, ratio).
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

    @property
    def is_run(self) -> bool:
        return self.task is not None


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its grid (row and column labels), its tiles, and what it shows."""

    name: str
    title: str
    shows: str
    content: str
    style: str
    ratio: float
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    tiles: tuple[Tile, ...]

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


def _fig1() -> FigureSpec:
    content, style = "tubingen.jpg", "starry_night.jpg"
    tiles = [
        Tile(0, 0, f"{TITLES[content]} (input)", image=content),
        Tile(1, 0, f"{TITLES[style]} (input)", image=style),
    ]
    for j, layer in enumerate(CONTENT_LAYERS, start=1):
        tiles.append(
            Tile(
                0,
                j,
                layer,
                task="reconstruct_content",
                key=f"content-{layer}",
                content_layers=(layer,),
            )
        )
    for j, layers in enumerate(CUMULATIVE_STYLE, start=1):
        # content = the painting only sets the canvas (its aspect); the content loss is off.
        tiles.append(
            Tile(
                1,
                j,
                layer_range(layers),
                task="reconstruct_style",
                key=f"style-{layer_key(layers)}",
                content=style,
                style_layers=layers,
            )
        )
    return FigureSpec(
        name="gatys2016_fig1",
        title="Gatys et al. 2016, Fig. 1: image representations in VGG19",
        shows="Reconstructions from white noise of the content representation of Neckarfront in "
        "conv1_2 ... conv5_2 (detail is lost with depth, the layout stays) and of the style "
        "representation (Gram matrices) of The Starry Night in conv1_1, conv1_1-conv2_1, ..., "
        "conv1_1-conv5_1 (ever larger structures of the painting).",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("content\nreconstruction", "style\nreconstruction"),
        col_labels=("", "", "", "", "", ""),
        tiles=tuple(tiles),
    )


FIG3_STYLES = (
    ("shipwreck.jpg", 1e-3),
    ("starry_night.jpg", 8e-4),
    ("the_scream.jpg", 5e-3),
    ("seated-nude.jpg", 5e-4),
    ("woman-with-hat-matisse.jpg", 5e-4),
)


def _fig3() -> FigureSpec:
    content = "tubingen.jpg"
    tiles = [Tile(0, 0, f"{TITLES[content]}\n(content)", image=content)]
    for j, (style, ratio) in enumerate(FIG3_STYLES, start=1):
        tiles.append(Tile(0, j, TITLES[style], image=style))
        tiles.append(
            Tile(
                1,
                j,
                f"α/β = {fmt_ratio(ratio)}",
                task="stylize",
                key=f"{Path(style).stem}-{fmt_ratio(ratio)}",
                style=style,
                ratio=ratio,
            )
        )
    return FigureSpec(
        name="gatys2016_fig3",
        title="Gatys et al. 2016, Fig. 3: Neckarfront in the styles of five paintings",
        shows="The same photograph rendered in five styles, each at the paper's ratio alpha/beta.",
        content=content,
        style="starry_night.jpg",
        ratio=1e-3,
        row_labels=("style", "result"),
        col_labels=("",) * 6,
        tiles=tuple(tiles),
    )


FIG4_RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)


def _fig4() -> FigureSpec:
    tiles = [
        Tile(
            i,
            j,
            "",
            task="stylize",
            key=f"ratio{fmt_ratio(r)}-style-{layer_key(layers)}",
            ratio=r,
            style_layers=layers,
        )
        for i, r in enumerate(FIG4_RATIOS)
        for j, layers in enumerate(CUMULATIVE_STYLE)
    ]
    return FigureSpec(
        name="gatys2016_fig4",
        title="Gatys et al. 2016, Fig. 4: content/style ratio x style layers",
        shows="Rows: the ratio alpha/beta from 1e-5 (texture of the painting) to 1e-2 (mostly the "
        "photograph). Columns: the style matched on conv1_1 alone, then conv1_1-conv2_1, ..., "
        "conv1_1-conv5_1 (ever larger structures of the painting). Woman with a Hat stands in "
        "for Kandinsky's Composition VII.",
        content="tubingen.jpg",
        style="woman-with-hat-matisse.jpg",
        ratio=1e-3,
        row_labels=tuple(f"α/β = {fmt_ratio(r)}" for r in FIG4_RATIOS),
        col_labels=tuple(layer_range(s) for s in CUMULATIVE_STYLE),
        tiles=tuple(tiles),
    )


def _fig5() -> FigureSpec:
    content, style = "tubingen.jpg", "starry_night.jpg"
    tiles = [
        Tile(0, 0, f"{TITLES[content]}\n(content)", image=content),
        Tile(0, 1, f"{TITLES[style]}\n(style)", image=style),
        *(
            Tile(
                0,
                j,
                f"content at {layer}",
                task="stylize",
                key=f"content-{layer}",
                content_layers=(layer,),
            )
            for j, layer in enumerate(("conv2_2", "conv4_2"), start=2)
        ),
    ]
    return FigureSpec(
        name="gatys2016_fig5",
        title="Gatys et al. 2016, Fig. 5: the content layer",
        shows="Content matched at conv2_2 (the photograph's fine structure kept, the texture laid "
        "over it) vs conv4_2 (photograph and painting merge). alpha/beta = 1e-3; The Starry Night "
        "stands in for the paper's Jesuiten III (Feininger).",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("",),
        col_labels=("", "", "", ""),
        tiles=tuple(tiles),
    )


FIG6_SEEDS = (1, 2, 3, 4)


def _fig6() -> FigureSpec:
    content, style = "tubingen.jpg", "starry_night.jpg"
    tiles = [
        Tile(0, 0, f"{TITLES[content]}\n(content)", image=content),
        Tile(0, 1, f"{TITLES[style]}\n(style)", image=style),
        Tile(0, 2, "init: content", task="stylize", key="init-content", init="content"),
        Tile(0, 3, "init: style", task="stylize", key="init-style", init="style"),
        *(
            Tile(
                1,
                j,
                f"init: noise, seed {s}",
                task="stylize",
                key=f"init-noise-seed{s}",
                init="noise",
                seed=s,
            )
            for j, s in enumerate(FIG6_SEEDS)
        ),
    ]
    return FigureSpec(
        name="gatys2016_fig6",
        title="Gatys et al. 2016, Fig. 6: the initialisation",
        shows="The same loss (alpha/beta = 1e-3) optimised from the content image, from the style "
        "image and from four white-noise images (seeds 1-4): different local optima, the noise "
        "ones alike in quality but different in detail.",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("", "from noise"),
        col_labels=("", "", "", ""),
        tiles=tuple(tiles),
    )


FIGURES: dict[str, FigureSpec] = {f.name: f for f in (_fig1(), _fig3(), _fig4(), _fig5(), _fig6())}


# --- tiles -> configs ----------------------------------------------------------------------------

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+~")


def _value(text: str) -> str:
    """A Hydra override value: as is when plain, else single-quoted (paths with odd characters)."""
    if text and set(text) <= _SAFE:
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _number(x: float) -> str:
    return f"{x:.6g}"


@dataclass(frozen=True)
class Options:
    """What one figure command varies: settings, size, iterations, logger, extra overrides."""

    settings: str = "paper"
    size: int = FULL_SIZE
    iterations: int = FULL_ITERATIONS
    quick: bool = False
    logger: str = "wandb"
    extra: tuple[str, ...] = ()


def tile_overrides(fig: FigureSpec, tile: Tile, opts: Options) -> list[str]:
    """The Hydra overrides of one run tile (the same as ``nst`` takes on its command line).

    Images are found with :func:`nst_research.data.find_image` (``data/`` or ``$NST_DATA_DIR``).
    """
    from nst_research.data import find_image

    s = SETTINGS[opts.settings]
    content = find_image(tile.content or fig.content).resolve()
    style = find_image(tile.style or fig.style).resolve()
    ov = list(s.overrides)
    if tile.task != "stylize":
        ov.append(f"task={tile.task}")
    ov += [f"content={_value(str(content))}", f"style={_value(str(style))}"]
    if tile.task == "stylize":
        ov.append(f"init={tile.init or s.init}")
        cw, sw = s.weights(tile.ratio if tile.ratio is not None else fig.ratio)
        ov += [f"loss.content_weight={_number(cw)}", f"loss.style_weight={_number(sw)}"]
    else:
        ov.append("init=noise")  # the reconstructions of Fig. 1 start from white noise
    if tile.content_layers is not None:
        ov.append(f"layers.content=[{','.join(s.layer(n) for n in tile.content_layers)}]")
    if tile.style_layers is not None:
        ov.append(f"layers.style=[{','.join(s.layer(n) for n in tile.style_layers)}]")
    ov += [f"size={opts.size}", f"iterations={opts.iterations}", f"seed={tile.seed}"]
    if opts.quick:
        ov.append("snapshot_every=0")
    ov += [f"logger={opts.logger}", "trainer.progress_bar=false"]
    if opts.logger == "wandb":
        ov.append(f"logger.tags=[figures,{s.name}]")
    return [*ov, *opts.extra]


def relabel(label: str, settings: Settings) -> str:
    """A label with its layer names as the settings tap them (conv4_2 -> relu4_2)."""
    return label.replace("conv", "relu") if settings.taps == "relu" else label


def nst_command(overrides: Sequence[str]) -> str:
    """The equivalent ``nst`` command line, shell-quoted."""
    return " ".join(["nst", *(shlex.quote(o) for o in overrides)])


def compose_configs(override_lists: Sequence[Sequence[str]]) -> list[Any]:
    """Compose ``conf/config.yaml`` with each override list (Hydra's compose API, as ``nst``)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from nst_research.config import register

    os.environ.setdefault("NST_EXPERIMENTS_DIR", str(EXPERIMENTS_DIR))
    register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return [compose(config_name="config", overrides=list(ov)) for ov in override_lists]
    except NSTError:
        raise
    except Exception as e:  # Hydra's override / config errors: one line
        raise ConfigError(" ".join(str(e).split())) from e
    finally:
        GlobalHydra.instance().clear()


# --- running -------------------------------------------------------------------------------------


@dataclass
class TileResult:
    tile: Tile
    run_dir: Path | None = None
    status: str = "not run"  # completed | interrupted | diverged | failed | not run
    image: Path | None = None
    iterations: int = 0
    seconds: float = 0.0
    error: str | None = None


def _stamp_dir(root: Path, opts: Options) -> Path:
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    base = f"{stamp}_{opts.settings}" + ("_quick" if opts.quick else "")
    path, n = root / base, 1
    while path.exists():
        path, n = root / f"{base}-{n}", n + 1
    return path


def run_figure(
    fig: FigureSpec, opts: Options, out: Path, log: Callable[[str], object] = print
) -> tuple[list[TileResult], Path]:
    """Run every run tile of ``fig`` in order; returns the results and the figure's runs folder.

    All configs are composed and validated before the first run, so a bad image path or
    override fails at once. A run that raises is recorded as ``failed`` and the others go on;
    Ctrl-C ends the current run as ``interrupted`` and leaves the rest ``not run``.
    """
    from omegaconf import OmegaConf

    from nst_research.config import validate
    from nst_research.run import run

    runs = fig.runs
    override_lists = [tile_overrides(fig, t, opts) for t in runs]
    cfgs = compose_configs(override_lists)
    for cfg in cfgs:
        validate(cfg)
    root = _stamp_dir(out / "runs" / fig.name, opts)
    results = [TileResult(t) for t in runs]
    for i, (res, cfg, ov) in enumerate(zip(results, cfgs, override_lists, strict=True), start=1):
        t, key = res.tile, relabel(res.tile.key, SETTINGS[opts.settings])
        res.run_dir = root / f"r{t.row}c{t.col}-{key}"
        (res.run_dir / ".hydra").mkdir(parents=True)
        (res.run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        (res.run_dir / ".hydra" / "overrides.yaml").write_text(
            "".join(f"- {json.dumps(o)}\n" for o in ov)
        )
        start = time.perf_counter()
        try:
            metrics = run(cfg, res.run_dir, run_name=key, group=fig.name)
        except NSTError as e:
            res.status, res.error = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - one broken run must not lose the others
            res.status, res.error = "failed", f"{type(e).__name__}: {e}"
        else:
            res.status, res.iterations = metrics["status"], int(metrics["iterations"])
            res.image = Path(metrics["final_image"])
        res.seconds = time.perf_counter() - start
        what = res.error or f"{res.status}, {res.iterations} iterations"
        log(f"[{i}/{len(runs)}] {fig.name} {key}: {what} ({res.seconds:.1f} s)")
        if res.status == "interrupted":
            break
    return results, root


# --- assembling ----------------------------------------------------------------------------------


@dataclass
class Grid:
    """What :func:`assemble` drew: shape, labels (as drawn) and the files written."""

    shape: tuple[int, int]
    row_labels: list[str]
    col_labels: list[str]
    tile_labels: list[list[str]]
    files: list[Path] = field(default_factory=list)


def _input_tile(path: Path, size: int):
    import numpy as np

    from nst_research.images import load_image, long_side_size, resize_to

    img = load_image(path, role="figure input")
    return np.asarray(resize_to(img, long_side_size(img.height, img.width, size)))


def _read_png(path: Path | None):
    if path is None or not Path(path).is_file():
        return None
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def assemble(
    fig: FigureSpec,
    images: dict[tuple[int, int], Any],
    out_stem: Path,
    caption: str = "",
    settings: str = "paper",
    notes: dict[tuple[int, int], str] | None = None,
) -> Grid:
    """Draw ``fig``'s grid from ``images`` ((row, col) -> (H, W, 3) uint8) into PNG and PDF.

    ``notes`` holds each run's status: a run tile with no image is a grey tile saying it
    (``failed``, ``not run``); a run that stopped early has it under its image.
    Deterministic: fixed DPI and figure size, no timestamps in the PNG or PDF metadata.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = SETTINGS[settings]
    notes = notes or {}
    n_rows, n_cols = fig.shape
    shapes = [im.shape for im in images.values() if im is not None]
    aspect = max((w / h for h, w, *_ in shapes), default=4 / 3)
    tile_in = max([MIN_TILE_IN] + [h / DPI for h, *_ in shapes])
    row_labels = [relabel(r, s) for r in fig.row_labels]
    col_labels = [relabel(c, s) for c in fig.col_labels]
    tile_labels = [["" for _ in range(n_cols)] for _ in range(n_rows)]
    by_pos = {(t.row, t.col): t for t in fig.tiles}
    label_in = 1.3 if any(row_labels) else 0.0
    fig_w = label_in + n_cols * (tile_in * aspect + 0.1)
    fig_h = 0.9 + n_rows * (tile_in + 0.55)
    mfig = Figure(figsize=(fig_w, fig_h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(mfig)
    axes = mfig.subplots(n_rows, n_cols, squeeze=False)
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            tile = by_pos.get((i, j))
            image = images.get((i, j))
            if tile is None:
                ax.set_frame_on(False)
            elif image is None:
                grey = np.full((100, round(100 * aspect), 3), 200, dtype=np.uint8)
                ax.imshow(grey)
                word = notes.get((i, j), "missing")
                ax.text(0.5, 0.5, word, transform=ax.transAxes, ha="center", va="center")
            else:
                ax.imshow(image, interpolation="antialiased")
                if notes.get((i, j), "completed") != "completed":  # interrupted, diverged
                    ax.set_xlabel(notes[(i, j)], fontsize=8, color="tab:red")
            title = relabel(tile.label, s) if tile is not None else ""
            if i == 0 and col_labels[j]:
                title = f"{col_labels[j]}\n{title}" if title else col_labels[j]
            tile_labels[i][j] = title
            if title:
                ax.set_title(title, fontsize=9)
            if j == 0 and row_labels[i]:
                ax.set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=10)
    mfig.suptitle(f"{fig.title}\n{caption}" if caption else fig.title, fontsize=10)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    png, pdf = out_stem.with_suffix(".png"), out_stem.with_suffix(".pdf")
    mfig.savefig(png, dpi=DPI, metadata={"Software": None})
    mfig.savefig(pdf, dpi=DPI, metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return Grid((n_rows, n_cols), row_labels, col_labels, tile_labels, [png, pdf])


def make_figure(
    name: str, opts: Options, out: Path, log: Callable[[str], object] = print
) -> tuple[Grid, list[TileResult]]:
    """Run one figure's tiles and assemble ``<out>/<name>.png`` and ``.pdf``."""
    from nst_research.data import find_image

    fig = get_figure(name)
    start = time.perf_counter()
    results, root = run_figure(fig, opts, out, log)
    images: dict[tuple[int, int], Any] = {}
    notes: dict[tuple[int, int], str] = {}
    for t in fig.tiles:
        if t.image is not None:
            images[(t.row, t.col)] = _input_tile(find_image(t.image), opts.size)
    for res in results:
        pos = (res.tile.row, res.tile.col)
        images[pos] = _read_png(res.image)
        notes[pos] = res.status
    mode = "quick, " if opts.quick else ""
    how = f"overrides: {' '.join(opts.extra)}" if opts.extra else "L-BFGS, caffe VGG19"
    caption = (
        f"{SETTINGS[opts.settings].summary}\n"
        f"{mode}{opts.size} px, {opts.iterations} iterations, {how}"
    )
    grid = assemble(fig, images, out / name, caption, opts.settings, notes)
    manifest = {
        "figure": name,
        "settings": opts.settings,
        "size": opts.size,
        "iterations": opts.iterations,
        "quick": opts.quick,
        "files": [str(p) for p in grid.files],
        "wall_time_s": time.perf_counter() - start,
        "tiles": [
            {
                "row": r.tile.row,
                "col": r.tile.col,
                "key": r.tile.key,
                "status": r.status,
                "run_dir": str(r.run_dir) if r.run_dir else None,
                "seconds": r.seconds,
                "error": r.error,
            }
            for r in results
        ],
    }
    (root / "figure.json").write_text(json.dumps(manifest, indent=2))
    return grid, results


def get_figure(name: str) -> FigureSpec:
    if name not in FIGURES:
        raise ConfigError(f"unknown figure {name!r}; choose one of: {', '.join(FIGURES)}, all")
    return FIGURES[name]


# --- command line --------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nst_research.figures",
        description="Regenerate figures of Gatys et al. (CVPR 2016): runs, then a labelled grid "
        "in <out>/<name>.png and .pdf. See experiments/README.md.",
        epilog="figures:\n"
        + "\n".join(
            textwrap.fill(f.shows, 96, initial_indent=f"  {f.name}: ", subsequent_indent="    ")
            for f in FIGURES.values()
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("names", nargs="+", metavar="NAME", help=f"{', '.join(FIGURES)} or all")
    p.add_argument(
        "--settings",
        default="paper",
        help="paper (default) or reference (see experiments/README.md)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a small pass that checks the pipeline ({QUICK_SIZE} px, {QUICK_ITERATIONS} iterations)",
    )
    p.add_argument("--size", type=int, help=f"long side in px (default {FULL_SIZE})")
    p.add_argument(
        "--iterations", type=int, help=f"L-BFGS iterations per run (default {FULL_ITERATIONS})"
    )
    p.add_argument("--out", type=Path, default=Path("figures"), help="output folder (figures/)")
    p.add_argument(
        "--logger", default="wandb", help="wandb (offline by default, default), csv or none"
    )
    p.add_argument(
        "-o",
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra Hydra override for every run, e.g. -o trainer=gpu (repeatable)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the nst command of every run and exit"
    )
    return p


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        names = list(FIGURES) if args.names == ["all"] else args.names
        for name in names:
            get_figure(name)
        if args.settings not in SETTINGS:
            raise ConfigError(
                f"unknown settings {args.settings!r}; choose one of: {', '.join(SETTINGS)}"
            )
        if args.logger not in ("wandb", "csv", "none"):
            raise ConfigError(f"unknown logger {args.logger!r}; choose one of: wandb, csv, none")
        opts = Options(
            settings=args.settings,
            size=_default(args.size, QUICK_SIZE if args.quick else FULL_SIZE),
            iterations=_default(
                args.iterations, QUICK_ITERATIONS if args.quick else FULL_ITERATIONS
            ),
            quick=args.quick,
            logger=args.logger,
            extra=tuple(args.override),
        )
        if opts.size <= 0 or opts.iterations <= 0:
            raise ConfigError("--size and --iterations must be positive")
        if args.dry_run:
            lines = []
            for name in names:
                fig = FIGURES[name]
                for t in fig.runs:
                    lines.append(f"# {name} r{t.row}c{t.col} {t.key}")
                    lines.append(nst_command(tile_overrides(fig, t, opts)))
            print("\n".join(lines))
            return 0
        code = 0
        for name in names:
            grid, results = make_figure(name, opts, args.out)
            rows, cols = grid.shape
            files = " and ".join(str(p) for p in grid.files)
            counts = Counter(r.status for r in results if r.status != "completed")
            note = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            print(f"{name}: {rows}x{cols} grid in {files}" + (f" ({note})" if note else ""))
            if counts["interrupted"]:
                return 130
            if counts["failed"]:
                code = 1  # a run raised; diverged runs are results, marked on their tiles
        return code
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
