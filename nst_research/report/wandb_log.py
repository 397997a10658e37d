"""Logging a sweep's report to W&B: the table (ranked, for a sweep with evaluation metrics) and
the figures (contact sheet, loss curves, and the style/content plane when ranked), in one
``report`` run."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nst_research.report.configs import swept_keys
from nst_research.report.records import RunRecord, read_config
from nst_research.tracking.wandb_dir import wandb_dir

DEFAULT_PROJECT = "nst-research"


def run_columns(records: Sequence[RunRecord]) -> list[str]:
    """The ``report/runs`` columns: ``job``, one per swept key (the seed among them), ``status``,
    the ``eval/`` metrics some run recorded, ``objective`` and the ``final`` image."""
    evals = dict.fromkeys(k for r in records for k in ((r.metrics or {}).get("eval") or {}))
    return ["job", *swept_keys(records), "status", *evals, "objective", "final"]


def run_rows(records: Sequence[RunRecord]) -> list[list[Any]]:
    """One row per job for the ``report/runs`` table (:func:`run_columns`); the last cell is the
    final image's path (None for a job without one), a ``wandb.Image`` once logged."""
    columns = run_columns(records)
    keys, evals = swept_keys(records), columns[len(swept_keys(records)) + 2 : -2]
    rows = []
    for r in records:
        metrics = r.metrics or {}
        scores = metrics.get("eval") or {}
        rows.append([r.name, *(r.overrides.get(k) for k in keys), r.status,
                     *(scores.get(k) for k in evals), metrics.get("objective"), r.final_image])  # fmt: skip
    return rows


def _wandb_project(records: Sequence[RunRecord]) -> str:
    """The W&B project the sweep's jobs logged to (their resolved config), else ``nst-research``."""
    for record in records:
        logger = read_config(record.job_dir).get("logger")
        if isinstance(logger, dict) and logger.get("project"):
            return str(logger["project"])
    return DEFAULT_PROJECT


def log_report_to_wandb(
    sweep_dir: Path,
    records: Sequence[RunRecord],
    header: list[str],
    cells: list[list[Any]],
    images: dict[str, Path],
) -> bool:
    """Log the table and figures to a W&B run (``job_type="report"``, in the jobs' group).

    The table goes to ``report/table`` (a ``wandb.Table``), each image to ``report/<name>``, and
    ``report/runs`` is a table of the jobs with their final images (:func:`run_rows`), to sort
    and filter in the W&B UI with the pictures beside the numbers.

    The mode comes from ``WANDB_MODE`` (default ``offline``); the run lives in ``$WANDB_DIR/wandb``
    when WANDB_DIR is set, else in ``sweep_dir/wandb``.
    Returns False, with a note on stderr, when wandb is not installed or W&B refuses the run
    (e.g. online without a login): the report files are written either way.
    """
    try:
        import wandb
    except ImportError:
        print("note: wandb is not installed; skipping W&B logging", file=sys.stderr)
        return False
    # the group the jobs logged to (metrics.json records it), else the sweep dir's name
    recorded = [r.metrics.get("group") for r in records if r.metrics and r.metrics.get("group")]
    group = str(recorded[0]) if recorded else sweep_dir.name
    try:
        run = wandb.init(
            project=_wandb_project(records),
            group=group,
            job_type="report",
            name=f"report-{group}",
            mode=os.environ.get("WANDB_MODE", "offline"),
            dir=str(wandb_dir(sweep_dir)),  # $WANDB_DIR, honoured, else the sweep dir
            config={"sweep_dir": str(sweep_dir)},
        )
        runs = [
            [*row[:-1], wandb.Image(str(row[-1])) if row[-1] else None] for row in run_rows(records)
        ]
        payload: dict[str, Any] = {
            "report/table": wandb.Table(columns=header, data=cells, allow_mixed_types=True),
            "report/runs": wandb.Table(columns=run_columns(records), data=runs),
        }
        for name, path in images.items():
            payload[f"report/{name}"] = wandb.Image(str(path))
        run.log(payload)
    except wandb.errors.Error as exc:
        print(f"warning: W&B logging failed: {exc}", file=sys.stderr)
        return False
    finally:
        wandb.finish()
    return True
