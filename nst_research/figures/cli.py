"""``python -m nst_research.figures``: regenerate paper figures (runs, then a labelled grid).

Usage::

    python -m nst_research.figures gatys2016_fig4 [--quick] [--settings paper|reference]
    python -m nst_research.figures all --size 256 --iterations 300 --out figures
    python -m nst_research.figures gatys2016_fig1 --dry-run     # the nst command of every run
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nst_research.engine.status import RunStatus
from nst_research.errors import ConfigError, NSTError
from nst_research.figures.recipes import FIGURES, get_figure
from nst_research.figures.running import (
    FULL_ITERATIONS,
    FULL_SIZE,
    Options,
    make_figure,
    nst_command,
    tile_overrides,
)
from nst_research.figures.settings import SETTINGS

QUICK_SIZE = 48  # --quick: a few iterations on small images, to check the whole pipeline
QUICK_ITERATIONS = 5
LOGGERS = ("wandb", "csv", "none")


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
        "--reuse",
        type=Path,
        metavar="RUNS_DIR",
        help="an earlier render's runs folder (<out>/runs/NAME/STAMP): each tile that completed "
        "there with the same resolved config is copied, not run again",
    )
    p.add_argument(
        "--rows",
        type=int,
        nargs="+",
        metavar="ROW",
        help="run only these rows' tiles (0-based; the others are drawn as not run): render "
        "rows in parallel processes, then assemble with --reuse",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the nst command of every run and exit"
    )
    return p


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def _options(args: argparse.Namespace) -> Options:
    """The options the arguments ask for; a ConfigError for unknown settings or logger."""
    if args.settings not in SETTINGS:
        raise ConfigError(
            f"unknown settings {args.settings!r}; choose one of: {', '.join(SETTINGS)}"
        )
    if args.logger not in LOGGERS:
        raise ConfigError(f"unknown logger {args.logger!r}; choose one of: {', '.join(LOGGERS)}")
    opts = Options(
        settings=args.settings,
        size=_default(args.size, QUICK_SIZE if args.quick else FULL_SIZE),
        iterations=_default(args.iterations, QUICK_ITERATIONS if args.quick else FULL_ITERATIONS),
        quick=args.quick,
        logger=args.logger,
        extra=tuple(args.override),
        reuse=str(args.reuse) if args.reuse else None,
        rows=tuple(args.rows) if args.rows else None,
    )
    if args.reuse and not args.reuse.is_dir():
        raise ConfigError(f"--reuse {args.reuse}: no such folder (an earlier render's runs)")
    if opts.size <= 0 or opts.iterations <= 0:
        raise ConfigError("--size and --iterations must be positive")
    return opts


def dry_run(names: Sequence[str], opts: Options) -> str:
    """The ``nst`` command of every run of the figures, each after a ``# name rXcY key`` line."""
    lines = []
    for name in names:
        fig = FIGURES[name]
        for t in fig.runs:
            lines.append(f"# {name} r{t.row}c{t.col} {t.key}")
            lines.append(nst_command(tile_overrides(fig, t, opts)))
    return "\n".join(lines)


def make_figures(names: Sequence[str], opts: Options, out: Path) -> int:
    """Make each figure and print where it went; the exit code (130 on Ctrl-C, 1 if a run raised)."""
    code = 0
    for name in names:
        grid, results = make_figure(name, opts, out)
        rows, cols = grid.shape
        files = " and ".join(str(p) for p in grid.files)
        counts = Counter(r.status for r in results if r.status != RunStatus.COMPLETED)
        note = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        print(f"{name}: {rows}x{cols} grid in {files}" + (f" ({note})" if note else ""))
        if counts[RunStatus.INTERRUPTED.value]:
            return 130
        if counts[RunStatus.FAILED.value]:
            code = 1  # a run raised; diverged runs are results, marked on their tiles
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit code (2 with one line on stderr for a user error)."""
    args = _parser().parse_args(argv)
    try:
        names = list(FIGURES) if args.names == ["all"] else args.names
        for name in names:
            get_figure(name)
        opts = _options(args)
        if args.dry_run:
            print(dry_run(names, opts))
            return 0
        return make_figures(names, opts, args.out)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
