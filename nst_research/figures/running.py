"""From figure tiles to runs: Hydra overrides, composed configs, in-process runs, the figure.

A tile becomes the overrides ``nst`` would take on its command line (:func:`tile_overrides`); the
configs are composed with :func:`nst_research.configs.compose.compose_many` (``conf/``, experiments/ on the
searchpath) and run in-process by :func:`nst_research.run.run`, the same harness as ``nst``. All
runs of one figure share one W&B group, the figure's name, and go to
``<out>/runs/<name>/<stamp>/<tile>/``.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from nst_research.configs.compose import compose_many
from nst_research.configs.names import EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO
from nst_research.engine.status import RunStatus
from nst_research.errors import ConfigError, NSTError
from nst_research.figures.drawing import Grid, assemble, input_tile
from nst_research.figures.recipes import get_figure
from nst_research.figures.settings import SETTINGS, relabel
from nst_research.figures.specs import FigureSpec, Tile
from nst_research.io.files import write_json, write_text
from nst_research.io.grid import load_rgb

FULL_SIZE = 256  # px, long side (the paper's figures used about 512)
FULL_ITERATIONS = 300  # L-BFGS iterations
NOT_RUN = "not run"  # a tile's status before its run (not a RunStatus: no run exists)

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
    reuse: str | None = None  # an earlier render's runs folder: its matching tiles are kept
    rows: tuple[int, ...] | None = None  # only these rows' tiles run (others: not run)


def settings_name(fig: FigureSpec, opts: Options) -> str:
    """The settings a figure runs with: its own if it pins them, else the command's."""
    return fig.settings or opts.settings


def tile_overrides(fig: FigureSpec, tile: Tile, opts: Options) -> list[str]:
    """The Hydra overrides of one run tile (the same as ``nst`` takes on its command line).

    Images are found with :func:`nst_research.io.data.find_image` (``data/`` or ``$NST_DATA_DIR``).
    """
    from nst_research.io.data import find_image

    s = SETTINGS[settings_name(fig, opts)]
    content = find_image(tile.content or fig.content).resolve()
    style = find_image(tile.style or fig.style).resolve()
    ov = list(s.overrides) if tile.method is None else [f"method={tile.method}"]
    if tile.task != "stylize":
        ov.append(f"task={tile.task}")
    if tile.styles:
        paths = ",".join(_value(str(find_image(n).resolve())) for n in tile.styles)
        ov += [f"content={_value(str(content))}", f"style=[{paths}]"]
    else:
        ov += [f"content={_value(str(content))}", f"style={_value(str(style))}"]
    if tile.task == "stylize" and tile.method is None:  # a method keeps its own init and weights
        ov.append(f"init={tile.init or s.init}")
        cw, sw = s.weights(tile.ratio if tile.ratio is not None else fig.ratio)
        ov += [f"loss.content_weight={_number(cw)}", f"loss.style_weight={_number(sw)}"]
    elif tile.task != "stylize":
        ov.append("init=noise")  # the reconstructions of Fig. 1 start from white noise
    if tile.content_layers is not None:
        ov.append(f"layers.content=[{','.join(s.layer(n) for n in tile.content_layers)}]")
    if tile.style_layers is not None:
        ov.append(f"layers.style=[{','.join(s.layer(n) for n in tile.style_layers)}]")
    ov += [*tile.overrides, f"size={opts.size}", f"iterations={opts.iterations}"]
    ov.append(f"seed={tile.seed}")
    if opts.quick:
        ov.append("snapshot_every=0")
    ov += [f"logger={opts.logger}", "trainer.progress_bar=false"]
    if opts.logger == "wandb":
        ov.append(f"logger.tags=[figures,{s.name}]")
    return [*ov, *opts.extra]


def nst_command(overrides: Sequence[str]) -> str:
    """The equivalent ``nst`` command line, shell-quoted."""
    return " ".join(["nst", *(shlex.quote(o) for o in overrides)])


@dataclass
class TileResult:
    """What became of one run tile: its run dir, status, final image, and time or error."""

    tile: Tile
    run_dir: Path | None = None
    status: str = NOT_RUN  # a RunStatus value (completed, interrupted, ...) once run
    image: Path | None = None
    scores: dict[str, float] = field(default_factory=dict)  # metrics.json's eval
    iterations: int = 0
    seconds: float = 0.0
    error: str | None = None
    reused_from: Path | None = None  # the earlier run dir copied in (``--reuse``)


def _stamp_dir(root: Path, opts: Options) -> Path:
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    base = f"{stamp}_{opts.settings}" + ("_quick" if opts.quick else "")
    path, n = root / base, 1
    while path.exists():
        path, n = root / f"{base}-{n}", n + 1
    return path


def _write_hydra_files(run_dir: Path, cfg: Any, overrides: Sequence[str]) -> None:
    """``.hydra/config.yaml`` and ``overrides.yaml``, as ``nst`` leaves them (for ``nst-report``)."""
    from omegaconf import OmegaConf

    (run_dir / ".hydra").mkdir(parents=True)
    write_text(run_dir / ".hydra" / "config.yaml", OmegaConf.to_yaml(cfg))
    write_text(
        run_dir / ".hydra" / "overrides.yaml", "".join(f"- {json.dumps(o)}\n" for o in overrides)
    )


def _run_tile(res: TileResult, cfg: Any, key: str, group: str) -> None:
    """Run one tile into ``res.run_dir``; a run that raises is recorded as failed."""
    from nst_research.run import run

    start = time.perf_counter()
    try:
        metrics = run(cfg, res.run_dir, run_name=key, group=group)
    except NSTError as e:
        res.status, res.error = RunStatus.FAILED.value, str(e)
    except Exception as e:  # noqa: BLE001 - one broken run must not lose the others
        res.status, res.error = RunStatus.FAILED.value, f"{type(e).__name__}: {e}"
    else:
        res.status, res.iterations = str(metrics["status"]), int(metrics["iterations"])
        res.image = Path(metrics["final_image"])
        res.scores = dict(metrics.get("eval") or {})
    res.seconds = time.perf_counter() - start


def _reuse_tile(res: TileResult, cfg: Any, earlier: Path) -> bool:
    """Copy the earlier render's run of this tile into ``res.run_dir`` when it completed with
    the very config this tile composes now (``.hydra/config.yaml`` equal: a changed preset, size
    or override runs the tile again; a key added since, :mod:`nst_research.configs.later`, counts
    as the value the run ran with only at its neutral value). The code is not compared: the
    run's ``metrics.json`` keeps its own git commit, and ``figure.json`` names the reused dir."""
    import shutil

    from omegaconf import OmegaConf

    from nst_research.configs.later import same_config

    assert res.run_dir is not None
    old = earlier / res.run_dir.name
    try:
        metrics = json.loads((old / "metrics.json").read_text())
        recorded = OmegaConf.load(old / ".hydra" / "config.yaml")
        same = same_config(
            OmegaConf.to_container(recorded, resolve=False),
            OmegaConf.to_container(cfg, resolve=False),
        )
    except Exception:  # noqa: BLE001 - an unreadable earlier run is simply run again
        return False
    if (
        not same
        or metrics.get("status") != RunStatus.COMPLETED
        or not (old / "final.png").is_file()
    ):
        return False
    shutil.copytree(old, res.run_dir)
    res.status, res.iterations = RunStatus.COMPLETED.value, int(metrics["iterations"])
    res.image, res.scores = res.run_dir / "final.png", dict(metrics.get("eval") or {})
    res.seconds, res.reused_from = float(metrics.get("wall_time_s") or 0.0), old
    return True


def run_figure(
    fig: FigureSpec, opts: Options, out: Path, log: Callable[[str], object] = print
) -> tuple[list[TileResult], Path]:
    """Run every run tile of ``fig`` in order; returns the results and the figure's runs folder.

    All configs are composed and validated before the first run, so a bad image path or
    override fails at once. A run that raises is recorded as ``failed`` and the others go on;
    Ctrl-C ends the current run as ``interrupted`` and leaves the rest ``not run``.
    """
    from nst_research.configs.checks import validate

    runs = [t for t in fig.runs if opts.rows is None or t.row in opts.rows]
    n_rows = fig.shape[0]
    if opts.rows is not None and not set(opts.rows) <= set(range(n_rows)):
        raise ConfigError(
            f"--rows {' '.join(map(str, opts.rows))}: {fig.name} has rows 0-{n_rows - 1}"
        )
    override_lists = [tile_overrides(fig, t, opts) for t in runs]
    cfgs = compose_many(override_lists)
    for cfg in cfgs:
        validate(cfg)
    root = _stamp_dir(out / "runs" / fig.name, opts)
    results = [TileResult(t) for t in runs]
    settings = SETTINGS[settings_name(fig, opts)]
    for i, (res, cfg, ov) in enumerate(zip(results, cfgs, override_lists, strict=True), start=1):
        t, key = res.tile, relabel(res.tile.key, settings)
        res.run_dir = root / f"r{t.row}c{t.col}-{key}"
        if opts.reuse and _reuse_tile(res, cfg, Path(opts.reuse)):
            log(f"[{i}/{len(runs)}] {fig.name} {key}: reused {res.reused_from} "
                f"({res.status}, {res.seconds:.1f} s when it ran)")  # fmt: skip
            continue
        _write_hydra_files(res.run_dir, cfg, ov)
        _run_tile(res, cfg, key, fig.name)
        what = res.error or f"{res.status}, {res.iterations} iterations"
        log(f"[{i}/{len(runs)}] {fig.name} {key}: {what} ({res.seconds:.1f} s)")
        if res.status == RunStatus.INTERRUPTED:
            break
    return results, root


SCORES = (("style", EVAL_STYLE_RATIO), ("content", EVAL_CONTENT_RATIO))
SCORES_NOTE = (
    "under each result: eval style ratio (1 = the photo's style, 0 = the painting's) "
    "and content ratio (0 = the photo's content)"
)


PRESETS_NOTE = "each column runs its method= preset's own settings (conf/method/NAME.yaml)"


def scores_text(scores: dict[str, float]) -> str:
    """A run's evaluation scores as the line under its tile, e.g. ``style 0.18  content 0.35``."""
    parts = [f"{word} {scores[key]:.2f}" for word, key in SCORES if key in scores]
    return "  ".join(parts)


def _caption(
    opts: Options, scores: bool = False, inits: Sequence[str | None] = (), presets: bool = False
) -> str:
    """The figure's caption: settings, size, iterations, extra overrides, what the scores are.

    ``inits``: the run tiles' own inits (None: the settings'); when they all start elsewhere than
    the settings do (the 2017 recipes start from the content), the summary says so.
    ``presets``: every run tile is a ``method=`` preset with its own settings.
    """
    mode = "quick, " if opts.quick else ""
    how = f"overrides: {' '.join(opts.extra)}" if opts.extra else "L-BFGS, caffe VGG19"
    settings = SETTINGS[opts.settings]
    summary = settings.summary
    own = {i for i in inits if i is not None}
    if inits and None not in inits and len(own) == 1 and own != {settings.init}:
        summary = summary.replace(f"{settings.init} init", f"{own.pop()} init")
    if presets:
        summary, how = PRESETS_NOTE, how.replace("L-BFGS, ", "")
    lines = [
        summary,
        f"{mode}{opts.size} px, {opts.iterations} iterations, {how}",
    ]
    return "\n".join(lines + ([SCORES_NOTE] if scores else []))


def _manifest(
    name: str, opts: Options, grid: Grid, results: Sequence[TileResult], seconds: float
) -> dict[str, Any]:
    """``figure.json``: the options, the files drawn and what became of each run tile."""
    return {
        "figure": name,
        "settings": opts.settings,
        "size": opts.size,
        "iterations": opts.iterations,
        "quick": opts.quick,
        "files": [str(p) for p in grid.files],
        "wall_time_s": seconds,
        "tiles": [
            {
                "row": r.tile.row,
                "col": r.tile.col,
                "key": r.tile.key,
                "status": r.status,
                "run_dir": str(r.run_dir) if r.run_dir else None,
                "seconds": r.seconds,
                "error": r.error,
                "reused_from": str(r.reused_from) if r.reused_from else None,
            }
            for r in results
        ],
    }


def make_figure(
    name: str, opts: Options, out: Path, log: Callable[[str], object] = print
) -> tuple[Grid, list[TileResult]]:
    """Run one figure's tiles and assemble ``<out>/<name>.png`` and ``.pdf``."""
    from nst_research.io.data import find_image
    from nst_research.io.images import resolve_image

    fig = get_figure(name)
    opts = replace(opts, settings=settings_name(fig, opts))
    start = time.perf_counter()
    results, root = run_figure(fig, opts, out, log)
    images: dict[tuple[int, int], Any] = {}
    notes: dict[tuple[int, int], str] = {}
    under: dict[tuple[int, int], str] = {}
    for t in fig.tiles:
        if t.image is not None:
            path = resolve_image(t.image, "figure input") if ":" in t.image else find_image(t.image)
            images[(t.row, t.col)] = input_tile(path, opts.size)
    for res in results:
        pos = (res.tile.row, res.tile.col)
        images[pos] = load_rgb(res.image)
        notes[pos] = res.status
        under[pos] = scores_text(res.scores)
        if fig.show_seconds and res.status != NOT_RUN:
            under[pos] = f"{under[pos]}  {res.seconds:.0f} s".strip()
    for t in fig.runs:  # tiles of the rows left out (--rows)
        notes.setdefault((t.row, t.col), NOT_RUN)
    inits = [t.init for t in fig.tiles if t.task is not None]
    presets = all(t.method is not None for t in fig.runs)
    caption = _caption(opts, scores=any(under.values()), inits=inits, presets=presets)
    grid = assemble(fig, images, out / name, caption, opts.settings, notes, under)
    manifest = _manifest(name, opts, grid, results, time.perf_counter() - start)
    write_json(root / "figure.json", manifest)
    return grid, results
