"""Ranking a sweep's configurations by an evaluation metric (``eval/...``) or the objective.

Losses are not comparable across configurations (each run optimises its own objective); the
``eval/`` metrics are (fixed definitions on a fixed network), and so is ``objective``, the value the
Hydra task returned. A sweep whose runs recorded none of them (older sweeps) is not ranked.

The default ranking metric is ``objective`` when every completed run has it, else the sum of the
style and content ratios (:data:`RATIO_SUM`, both 0 at their ideal). Lower is better for all but
the metrics in :data:`nst_research.configs.names.HIGHER_IS_BETTER`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from nst_research.configs.names import (
    EVAL_CONTENT_RATIO,
    EVAL_KEYS,
    EVAL_STYLE_RATIO,
    HIGHER_IS_BETTER,
    OBJECTIVE,
)
from nst_research.report.configs import ReportRow, stat_runs
from nst_research.report.records import FAILED, ReportError, RunRecord

RATIO_SUM = f"{EVAL_STYLE_RATIO}+{EVAL_CONTENT_RATIO}"  # a derived metric: the two ratios added
RANK_KEYS = (OBJECTIVE, *EVAL_KEYS, RATIO_SUM)  # the built-in ones; any recorded eval/ key too
EVAL_STAT_KEYS = RANK_KEYS  # summarised (mean, sd) for every configuration, with eval_keys()


def eval_keys(records: Sequence[RunRecord]) -> tuple[str, ...]:
    """The evaluation metrics: the built-in ones (:data:`EVAL_KEYS`, in their order), then every
    other ``eval/`` key some run recorded (``eval=[...,cfsd]``, a user's metric), sorted."""
    seen = {str(k) for r in records for k in ((r.metrics or {}).get("eval") or {})}
    return (*EVAL_KEYS, *sorted(seen - set(EVAL_KEYS)))


def rank_keys(records: Sequence[RunRecord]) -> tuple[str, ...]:
    """What a sweep can be ranked by: the objective, the eval metrics and :data:`RATIO_SUM`."""
    return (OBJECTIVE, *eval_keys(records), RATIO_SUM)


def is_rank_key(key: str) -> bool:
    """Whether ``key`` can name a ranking metric (the objective, the sum, any ``eval/`` key)."""
    return key in RANK_KEYS or key.startswith("eval/")


def metric_value(record: RunRecord, key: str) -> float | None:
    """A run's value of ``key`` (a loss, an ``eval/`` metric, ``objective``, :data:`RATIO_SUM`, ...).

    None when absent or null; :data:`RATIO_SUM` needs both ratios. A NaN stays NaN (it shows in
    the mean, and a configuration with a NaN mean is not ranked).
    """
    if key == RATIO_SUM:
        parts = [record.value(k) for k in (EVAL_STYLE_RATIO, EVAL_CONTENT_RATIO)]
        return None if None in parts else sum(p for p in parts if p is not None)
    return record.value(key)


def higher_is_better(key: str) -> bool:
    """Whether a larger value of ``key`` is better (SSIM); lower is better for the rest."""
    return key in HIGHER_IS_BETTER


def direction(key: str) -> str:
    """``higher is better`` or ``lower is better``."""
    return "higher is better" if higher_is_better(key) else "lower is better"


def has_eval(records: Sequence[RunRecord]) -> bool:
    """Whether any run recorded an ``eval`` metric or an objective (then the report is ranked)."""
    keys = (OBJECTIVE, *eval_keys(records))
    return any(metric_value(r, k) is not None for r in records for k in keys)


def choose_rank_key(records: Sequence[RunRecord], requested: str | None = None) -> str | None:
    """The ranking metric: ``requested``, else the default; None for a sweep with no eval data.

    Default: ``objective`` when every completed run (every run with metrics, if none completed)
    has it, else :data:`RATIO_SUM`, else (no run has both ratios) the first of :data:`RANK_KEYS`
    that some run has.

    Raises:
        ReportError: ``requested`` is not a rankable key, or no run has a value of it.
    """
    if requested is not None:
        if requested not in rank_keys(records):
            raise ReportError(
                f"cannot rank by {requested!r}; choose one of: {', '.join(rank_keys(records))}"
            )
        if not any(metric_value(r, requested) is not None for r in records):
            raise ReportError(f"cannot rank by {requested}: no run recorded it")
        return requested
    if not has_eval(records):
        return None
    used = stat_runs(records)
    if used and all(metric_value(r, OBJECTIVE) is not None for r in used):
        return OBJECTIVE
    if any(metric_value(r, RATIO_SUM) is not None for r in records):
        return RATIO_SUM
    keys = rank_keys(records)
    return next(k for k in keys if any(metric_value(r, k) is not None for r in records))


def metric_columns(rank_key: str, rows: Sequence[ReportRow] = ()) -> tuple[str, ...]:
    """The metrics a ranked table shows: the ranking metric, then the objective and the eval
    metrics (the built-in ones, then any other ``eval/`` key the rows summarise)."""
    extra = sorted(
        {k for r in rows for k in r.stats if k.startswith("eval/")} - {*EVAL_KEYS, RATIO_SUM}
    )
    return (rank_key, *(k for k in (OBJECTIVE, *EVAL_KEYS, *extra) if k != rank_key))


def sort_value(mean: float | None, key: str) -> float:
    """A number that sorts best first (ascending); ``inf`` for a missing mean."""
    if mean is None or not math.isfinite(mean):
        return math.inf
    return -mean if higher_is_better(key) else mean


def rank_rows(rows: Sequence[ReportRow], key: str) -> list[ReportRow]:
    """The rows best first by the mean of ``key``, each configuration with its rank (1, 2, ...).

    Configurations with no value of ``key`` follow, unranked; failed-job rows come last. Ties
    keep the rows' order (natural order of the configurations).
    """
    configs = [row for row in rows if row.status != FAILED]
    valued = [row for row in configs if sort_value(row.stats.get(key, (None,))[0], key) < math.inf]
    valued.sort(key=lambda row: sort_value(row.stats[key][0], key))
    ranked = [replace(row, rank=n) for n, row in enumerate(valued, start=1)]
    unranked = [row for row in configs if not any(row is v for v in valued)]
    return [*ranked, *unranked, *(row for row in rows if row.status == FAILED)]
