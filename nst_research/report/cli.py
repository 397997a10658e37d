"""The ``nst-report`` command: write a sweep's report files (or compare two sweeps), optionally
logging them to W&B."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nst_research.configs.names import OBJECTIVE
from nst_research.io.files import write_text
from nst_research.report.analysis import analyse
from nst_research.report.compare import write_compare
from nst_research.report.configs import config_keys, config_label
from nst_research.report.markdown import render_markdown
from nst_research.report.plane import draw_plane, plane_points
from nst_research.report.planned import not_run, not_run_line, not_run_lines
from nst_research.report.plots import EVAL_CURVES, draw_contact_sheet, draw_loss_curves
from nst_research.report.ranking import (
    RANK_KEYS,
    RATIO_SUM,
    choose_rank_key,
    is_rank_key,
    rank_rows,
)
from nst_research.report.records import FAILED, ReportError, RunRecord, collect
from nst_research.report.table import ReportRow, build_rows, table, write_csv
from nst_research.report.verdicts import caption, sweep_verdicts
from nst_research.report.wandb_log import log_report_to_wandb


def _rank_key(text: str) -> str:
    """``--rank-by``'s value: the objective, the ratio sum or an ``eval/`` metric."""
    import argparse

    if not is_rank_key(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a ranking metric: {', '.join(RANK_KEYS)} or another eval/ metric"
        )
    return text


def write_report(
    sweep_dir: str | os.PathLike[str], log_to_wandb: bool = False, rank_by: str | None = None
) -> dict[str, Path]:
    """Write ``report.md``, ``report.csv``, ``contact_sheet.png`` and ``loss_curves.png`` into ``sweep_dir``.

    A sweep with evaluation metrics (or ``rank_by``) is ranked (:mod:`.ranking`), and also gets
    ``plane.png`` and the verdicts. Returns the paths by name (``"md"``, ``"csv"``,
    ``"contact_sheet"``, ``"loss_curves"``, ``"eval_curves"`` when runs have ``eval.csv``, and
    ``"plane"`` when ranked).

    Raises:
        ReportError: the dir is missing or holds no job dirs, or no run has ``rank_by``.
    """
    sweep = Path(sweep_dir).resolve()
    records = collect(sweep)
    keys = config_keys(records)
    rank_key = choose_rank_key(records, rank_by)
    rows = build_rows(records) if rank_key is None else rank_rows(build_rows(records), rank_key)
    paths = {
        "md": sweep / "report.md",
        "csv": write_csv(rows, keys, sweep / "report.csv", rank_key),
        "contact_sheet": sweep / "contact_sheet.png",
        "loss_curves": sweep / "loss_curves.png",
    }
    verdicts = sweep_verdicts(records, keys, rank_key) if rank_key is not None else []
    notes = [caption(v) for v in verdicts]  # the winner and margin, drawn under the plots
    draw_contact_sheet(records, paths["contact_sheet"], title=f"sweep {sweep.name}")
    draw_loss_curves(records, paths["loss_curves"], notes=notes)
    if any((r.job_dir / EVAL_CURVES.file).is_file() for r in records):
        paths["eval_curves"] = sweep / "eval_curves.png"
        draw_loss_curves(records, paths["eval_curves"], EVAL_CURVES, notes=notes)
    plane = []
    extra: list[str] = []
    if rank_key is not None:
        paths["plane"] = sweep / "plane.png"
        configs = [row for row in rows if row.status != FAILED]
        names = [config_label(row.config, keys, records) for row in configs]
        thumbs = _thumbnails(configs, names, records)
        points = plane_points(configs, names, sweep.name)
        plane = draw_plane(points, paths["plane"], notes=notes, thumbnails=thumbs)
        analysis = analyse(sweep, records, keys, rank_key)
        paths.update(analysis.paths)
        extra = analysis.lines
    md = render_markdown(sweep, records, rows, keys, rank_key, verdicts, plane)
    write_text(paths["md"], "\n".join([md, *extra, *not_run_lines(not_run(sweep)[0])]))
    if log_to_wandb:
        header, cells = table(rows, keys, rank_key)
        figures = ("contact_sheet", "loss_curves", "eval_curves", "plane", "importance", "parallel")
        images = {k: paths[k] for k in figures if k in paths}
        log_report_to_wandb(sweep, records, header, cells, images)
    return paths


def _thumbnails(
    configs: Sequence[ReportRow], names: Sequence[str], records: Sequence[RunRecord]
) -> dict[str, Path]:
    """Point name -> the final image of its configuration's first job that has one."""
    by_name = {r.name: r for r in records}
    thumbs = {}
    for row, name in zip(configs, names, strict=True):
        images = [by_name[j].final_image for j in row.jobs if j in by_name]
        image = next((i for i in images if i is not None), None)
        if image is not None:
            thumbs[name] = image
    return thumbs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nst-report",
        description="Summarise a Hydra multirun sweep of `nst` (ranked table, verdicts, "
        "style/content plane, contact sheet, loss curves), or compare two sweeps.",
    )
    parser.add_argument(
        "sweep_dir",
        metavar="SWEEP_DIR",
        type=Path,
        nargs="?",
        help="e.g. multirun/2024-01-01/12-00-00",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        type=Path,
        help="rank two sweeps' configurations together (written into A/compare_<B's name>/)",
    )
    parser.add_argument("--out", type=Path, help="with --compare: the output dir")
    parser.add_argument(
        "--rank-by",
        type=_rank_key,
        metavar="KEY",
        help=f"the ranking metric: {', '.join(RANK_KEYS)} or any other recorded eval/ metric "
        f"(default: {OBJECTIVE} when every completed run has it, else {RATIO_SUM})",
    )
    parser.add_argument(
        "--wandb",
        action="store_true",
        help="also log the table and images to a W&B run (mode from WANDB_MODE, default offline)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``nst-report SWEEP_DIR [--rank-by KEY] [--wandb]`` or ``nst-report --compare A B [--out
    DIR] [--rank-by KEY]``: write the files and print their paths."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and (Path(argv[0]) / "benchmark.json").is_file():  # an nst-bench dir: the method table
        from nst_research.benchmark.cli import report_cli

        return report_cli(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.sweep_dir is None) == (args.compare is None):
        parser.error("give either SWEEP_DIR or --compare A B")
    if args.compare is None and args.out is not None:
        parser.error("--out goes with --compare")
    if args.compare is not None and args.wandb:
        parser.error("--wandb logs one sweep's report; it does not go with --compare")
    try:
        if args.compare is not None:
            paths = write_compare(*args.compare, out=args.out, rank_by=args.rank_by)
        else:
            paths = write_report(args.sweep_dir, log_to_wandb=args.wandb, rank_by=args.rank_by)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(path)
    if args.compare is None:
        missing, planned = not_run(args.sweep_dir)
        if missing:
            print(not_run_line(missing, planned), file=sys.stderr)
    return 0
