"""Grouping a sweep's jobs into configurations: the swept overrides other than the seed.

Jobs that differ only in their seed are replicates of one configuration; the report summarises
them together (mean and sd) and the contact sheet and loss curves show one entry per configuration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from nst_research.engine.status import RunStatus
from nst_research.report.records import SEED_KEY, RunRecord, natural_key

UNSET = "(unset)"  # a swept key a job did not set

Config = tuple[str | None, ...]  # a configuration: the values of the config keys, in order


@dataclass
class ReportRow:
    """One row of the report: a configuration, or one failed job of it."""

    config: Config
    n_runs: int
    n_failed: int
    status: str
    stats: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    n_stat: int = 0
    seeds: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    reason: str | None = None
    rank: int | None = None
    identical: bool = False  # its seed replicates gave identical results: the sd is no spread


def swept_keys(records: Sequence[RunRecord]) -> list[str]:
    """Override keys whose value differs across jobs (absent counts as a value), in CLI order."""
    keys: list[str] = []
    for record in records:
        keys.extend(k for k in record.overrides if k not in keys)
    return [k for k in keys if len({r.overrides.get(k) for r in records}) > 1]


def config_keys(records: Sequence[RunRecord]) -> list[str]:
    """The swept keys that identify a configuration: all but ``seed``."""
    return [k for k in swept_keys(records) if k != SEED_KEY]


def config_of(record: RunRecord, keys: Sequence[str]) -> Config:
    return tuple(record.overrides.get(k) for k in keys)


def config_label(config: Config, keys: Sequence[str], records: Sequence[RunRecord] = ()) -> str:
    """``k=v, k=v`` for a configuration; with no swept keys, the overrides shared by all jobs."""
    if keys:
        return ", ".join(
            f"{k}={UNSET if v is None else v}" for k, v in zip(keys, config, strict=True)
        )
    if records:
        common = {k: v for k, v in records[0].overrides.items() if k != SEED_KEY}
        return ", ".join(f"{k}={v}" for k, v in common.items()) or "defaults"
    return "all runs"


def group_by_config(
    records: Sequence[RunRecord], keys: Sequence[str]
) -> dict[Config, list[RunRecord]]:
    """Records per configuration, configurations in natural order, runs ordered by seed."""
    groups: dict[Config, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(config_of(record, keys), []).append(record)
    ordered = sorted(groups, key=lambda c: tuple(natural_key(v) for v in c))
    return {c: sorted(groups[c], key=lambda r: natural_key(r.seed)) for c in ordered}


def stat_runs(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs whose numbers are summarised: the completed ones, else any that left metrics."""
    completed = [r for r in runs if r.status == RunStatus.COMPLETED]
    return completed or [r for r in runs if not r.failed]


def status_summary(runs: Sequence[RunRecord]) -> str:
    """``completed`` when all agree, else counts such as ``2 completed, 1 failed``."""
    counts = Counter(r.status for r in runs)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
