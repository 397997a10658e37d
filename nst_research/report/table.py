"""The report's table: one row per configuration (mean and sd over seeds), one per failed job.

:func:`table` gives the header and typed cells that ``report.csv`` and the W&B table share; for a
sweep with evaluation metrics, ranked rows (:func:`nst_research.report.ranking.rank_rows`) lead with
a rank column and the metrics (:func:`nst_research.report.ranking.metric_columns`).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nst_research.configs.names import LOSS_KEYS
from nst_research.io.files import write_text
from nst_research.report.configs import (  # ReportRow: also importable from here, as before
    ReportRow,
    config_keys,
    group_by_config,
    stat_runs,
    status_summary,
)
from nst_research.report.ranking import EVAL_STAT_KEYS, eval_keys, metric_columns, metric_value
from nst_research.report.records import FAILED, RunRecord
from nst_research.report.stats import identical_replicates

RUN_KEYS = ("iterations", "wall_time_s", "s_per_iter")
NUMERIC_KEYS = LOSS_KEYS + RUN_KEYS


def mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample sd (n - 1); sd is None for fewer than two values.

    A NaN or infinite value makes the mean NaN or infinite and the sd NaN (``statistics.stdev``
    would raise on them).
    """
    if not values:
        return None, None
    if not all(math.isfinite(v) for v in values):
        return statistics.fmean(values), math.nan if len(values) > 1 else None
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else None
    return mean, sd


def build_rows(records: Sequence[RunRecord]) -> list[ReportRow]:
    """One row per configuration that left metrics, followed by one row per failed job of it."""
    keys = config_keys(records)
    stat_keys = dict.fromkeys((*NUMERIC_KEYS, *EVAL_STAT_KEYS, *eval_keys(records)))
    rows: list[ReportRow] = []
    for config, runs in group_by_config(records, keys).items():
        n_failed = sum(r.failed for r in runs)
        used = stat_runs(runs)
        if used:
            stats = {
                k: mean_sd([v for r in used if (v := metric_value(r, k)) is not None])
                for k in stat_keys
            }
            rows.append(
                ReportRow(
                    config=config,
                    n_runs=len(runs),
                    n_failed=n_failed,
                    status=status_summary(runs),
                    stats=stats,
                    n_stat=len(used),
                    seeds=[r.seed or "" for r in runs],
                    jobs=[r.name for r in runs],
                    identical=identical_replicates(used),
                )
            )
        for run in (r for r in runs if r.failed):
            rows.append(
                ReportRow(
                    config=config,
                    n_runs=1,
                    n_failed=1,
                    status=FAILED,
                    seeds=[run.seed or ""],
                    jobs=[run.name],
                    reason=run.reason,
                )
            )
    return rows


def has_replicates(rows: Sequence[ReportRow]) -> bool:
    """Whether any configuration summarises more than one run (then mean and sd are reported)."""
    return any(row.n_stat > 1 for row in rows)


def table(
    rows: Sequence[ReportRow], keys: Sequence[str], rank_key: str | None = None
) -> tuple[list[str], list[list[Any]]]:
    """Header and typed cells (str, int, float or None) shared by the CSV and the W&B table.

    Numeric columns are ``<metric>_mean`` and ``<metric>_sd`` when any configuration has seed
    replicates, else plain ``<metric>``. With ``rank_key`` (rows already ranked), the table starts
    with ``rank``, counts the runs summarised (``n_seeds``), and puts the ranking metric, the
    objective and the eval metrics before the losses.
    """
    replicated = has_replicates(rows)
    stat_keys = (
        NUMERIC_KEYS if rank_key is None else (*metric_columns(rank_key, rows), *NUMERIC_KEYS)
    )
    numeric = [c for k in stat_keys for c in ((f"{k}_mean", f"{k}_sd") if replicated else (k,))]
    ranked = rank_key is not None
    header = [
        *(["rank"] if ranked else []),
        *keys,
        "n_runs",
        "n_failed",
        *(["n_seeds"] if ranked else []),
        "status",
        *numeric,
        "seeds",
        "jobs",
        "reason",
    ]
    cells: list[list[Any]] = []
    for row in rows:
        values: list[Any] = []
        for k in stat_keys:
            mean, sd = row.stats.get(k, (None, None))
            values.extend((mean, sd) if replicated else (mean,))
        cells.append(
            [
                *([row.rank] if ranked else []),
                *row.config,
                row.n_runs,
                row.n_failed,
                *([row.n_stat] if ranked else []),
                row.status,
                *values,
                " ".join(row.seeds),
                " ".join(row.jobs),
                row.reason,
            ]
        )
    return header, cells


def write_csv(
    rows: Sequence[ReportRow], keys: Sequence[str], path: Path, rank_key: str | None = None
) -> Path:
    """``report.csv``: floats at full precision, empty cells for missing values."""
    header, cells = table(rows, keys, rank_key)
    f = io.StringIO(newline="")
    writer = csv.writer(f)
    writer.writerow(header)
    for line in cells:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in line])
    write_text(path, f.getvalue())
    return path
