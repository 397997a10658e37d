"""The ``nst-report`` command: compare the runs of a Hydra multirun sweep.

It reads the job dirs of a sweep (``multirun/<date>/<time>/<job>/``, each with
``.hydra/overrides.yaml`` and, when the job finished, ``metrics.json``, ``losses.csv`` and
``final.png``) and writes into the sweep dir:

- ``report.csv`` / ``report.md``: one row per configuration (the swept overrides other than
  ``seed``), with mean and sample sd over seed replicates, plus one row per failed job with its
  reason;
- ``contact_sheet.png``: the final images in a labelled grid;
- ``loss_curves.png``: the total and style losses against step, one line per configuration;
- when the runs recorded evaluation metrics (``eval/...``) or an objective: the table ranked by
  one of them (:mod:`.ranking`), a verdict per swept key (:mod:`.verdicts`) and ``plane.png``,
  the configurations on the style/content plane with their Pareto front (:mod:`.plane`).

``nst-report --compare A B`` ranks two sweeps' configurations together (:mod:`.compare`).

A job with no ``metrics.json`` (it raised) is reported as ``failed``, never dropped.

Modules, by job: :mod:`.records` (reading job dirs), :mod:`.configs` (grouping jobs into
configurations), :mod:`.table` (rows and stats, ``report.csv``), :mod:`.markdown` (``report.md``),
:mod:`.plots` (contact sheet, loss curves), :mod:`.wandb_log` (W&B), :mod:`.cli` (the command).
"""

from __future__ import annotations

from nst_research.configs.names import LOSS_KEYS
from nst_research.report.cli import main, write_report
from nst_research.report.compare import write_compare
from nst_research.report.configs import (
    UNSET,
    Config,
    config_keys,
    config_label,
    config_of,
    group_by_config,
    stat_runs,
    status_summary,
    swept_keys,
)
from nst_research.report.markdown import fmt_number, fmt_stat, md_cell, render_markdown
from nst_research.report.plane import PlanePoint, draw_plane, pareto_front, plane_points
from nst_research.report.plots import (
    contact_sheet_grid,
    draw_contact_sheet,
    draw_loss_curves,
    mean_curve,
    read_losses,
    wrap_label,
)
from nst_research.report.ranking import (
    RANK_KEYS,
    RATIO_SUM,
    choose_rank_key,
    has_eval,
    metric_value,
    rank_rows,
)
from nst_research.report.records import (
    FAILED,
    SEED_KEY,
    ReportError,
    RunRecord,
    collect,
    failure_reason,
    find_job_dirs,
    job_seed,
    natural_key,
    read_config,
    read_overrides,
    read_record,
)
from nst_research.report.table import (
    NUMERIC_KEYS,
    RUN_KEYS,
    ReportRow,
    build_rows,
    has_replicates,
    mean_sd,
    table,
    write_csv,
)
from nst_research.report.verdicts import Setting, sweep_verdicts, verdict_line
from nst_research.report.wandb_log import log_report_to_wandb

__all__ = [
    "FAILED",
    "LOSS_KEYS",
    "NUMERIC_KEYS",
    "RANK_KEYS",
    "RATIO_SUM",
    "RUN_KEYS",
    "SEED_KEY",
    "UNSET",
    "Config",
    "PlanePoint",
    "ReportError",
    "ReportRow",
    "RunRecord",
    "Setting",
    "build_rows",
    "choose_rank_key",
    "collect",
    "config_keys",
    "config_label",
    "config_of",
    "contact_sheet_grid",
    "draw_contact_sheet",
    "draw_loss_curves",
    "draw_plane",
    "failure_reason",
    "find_job_dirs",
    "fmt_number",
    "fmt_stat",
    "group_by_config",
    "has_eval",
    "has_replicates",
    "job_seed",
    "log_report_to_wandb",
    "main",
    "md_cell",
    "mean_curve",
    "mean_sd",
    "metric_value",
    "natural_key",
    "pareto_front",
    "plane_points",
    "rank_rows",
    "read_config",
    "read_losses",
    "read_overrides",
    "read_record",
    "render_markdown",
    "stat_runs",
    "status_summary",
    "sweep_verdicts",
    "swept_keys",
    "table",
    "verdict_line",
    "wrap_label",
    "write_compare",
    "write_csv",
    "write_report",
]
