"""The ``nst-report`` command: write a sweep's report files, and optionally log them to W&B."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nst_research.report.configs import config_keys
from nst_research.report.markdown import render_markdown
from nst_research.report.plots import draw_contact_sheet, draw_loss_curves
from nst_research.report.records import ReportError, collect
from nst_research.report.table import build_rows, table, write_csv
from nst_research.report.wandb_log import log_report_to_wandb


def write_report(sweep_dir: str | os.PathLike[str], log_to_wandb: bool = False) -> dict[str, Path]:
    """Write ``report.md``, ``report.csv``, ``contact_sheet.png`` and ``loss_curves.png`` into ``sweep_dir``.

    Returns their paths by name (``"md"``, ``"csv"``, ``"contact_sheet"``, ``"loss_curves"``).

    Raises:
        ReportError: the dir is missing or holds no job dirs.
    """
    sweep = Path(sweep_dir).resolve()
    records = collect(sweep)
    keys = config_keys(records)
    rows = build_rows(records)
    paths = {
        "md": sweep / "report.md",
        "csv": write_csv(rows, keys, sweep / "report.csv"),
        "contact_sheet": sweep / "contact_sheet.png",
        "loss_curves": sweep / "loss_curves.png",
    }
    draw_contact_sheet(records, paths["contact_sheet"], title=f"sweep {sweep.name}")
    draw_loss_curves(records, paths["loss_curves"])
    paths["md"].write_text(render_markdown(sweep, records, rows, keys))
    if log_to_wandb:
        header, cells = table(rows, keys)
        images = {k: paths[k] for k in ("contact_sheet", "loss_curves")}
        log_report_to_wandb(sweep, records, header, cells, images)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``nst-report SWEEP_DIR [--wandb]``: write the report and print the paths written."""
    parser = argparse.ArgumentParser(
        prog="nst-report",
        description="Summarise a Hydra multirun sweep of `nst`: table, contact sheet, loss curves.",
    )
    parser.add_argument(
        "sweep_dir", metavar="SWEEP_DIR", type=Path, help="e.g. multirun/2024-01-01/12-00-00"
    )
    parser.add_argument(
        "--wandb",
        action="store_true",
        help="also log the table and images to a W&B run (mode from WANDB_MODE, default offline)",
    )
    args = parser.parse_args(argv)
    try:
        paths = write_report(args.sweep_dir, log_to_wandb=args.wandb)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(path)
    return 0
