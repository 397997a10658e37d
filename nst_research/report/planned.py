"""The jobs a sweep planned and never ran (it was stopped by Ctrl-C / SIGTERM, or killed).

Hydra's basic sweeper saves the sweep's config, with the command's overrides, in the sweep
dir's ``multirun.yaml`` before the first job; its job list is the product of the swept values,
numbered in order (job ``n`` runs in ``<sweep>/n``). A planned job with no job dir never
started; a job dir with no ``metrics.json`` did start and is reported as failed (its reason
says it may have been killed). Sweepers that choose jobs as they go (optuna) plan no list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass(frozen=True)
class PlannedJob:
    num: int
    overrides: list[str]


def planned_jobs(sweep_dir: Path) -> list[PlannedJob]:
    """The sweep's job list from ``multirun.yaml`` ([] when unknown or unreadable)."""
    try:
        saved = yaml.safe_load((Path(sweep_dir) / "multirun.yaml").read_text())
        hydra = saved["hydra"]
        sweeper = hydra.get("sweeper") or {}
        task = list(hydra["overrides"]["task"] or [])
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return []
    if sweeper.get("_target_") != BASIC_SWEEPER:
        return []
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
    try:
        parser = OverridesParser.create(config_loader=_loader(hydra))
        parsed = parser.parse_overrides([*params, *task])
        (batch,) = BasicSweeper.split_arguments(parsed, None)
    except (HydraException, ValueError):
        return []
    return [PlannedJob(num, list(overrides)) for num, overrides in enumerate(batch)]


def _loader(hydra: dict):
    """Hydra's config loader on the sweep's config sources (``glob(...)`` sweeps list options)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path

    search_path = create_config_search_path(None)
    for source in (hydra.get("runtime") or {}).get("config_sources") or []:
        if source.get("path") and source.get("schema") in ("file", "pkg"):
            search_path.append(
                str(source.get("provider")), f"{source['schema']}://{source['path']}"
            )
    return ConfigLoaderImpl(config_search_path=search_path)


def not_run(sweep_dir: Path) -> tuple[list[PlannedJob], int]:
    """The planned jobs that have no job dir (``<sweep>/<num>``), each with its swept overrides
    only (those that differ between jobs); and how many jobs were planned."""
    planned = planned_jobs(sweep_dir)
    varying = {
        o for job in planned for o in job.overrides if not all(o in j.overrides for j in planned)
    }
    missing = [job for job in planned if not (Path(sweep_dir) / str(job.num)).is_dir()]
    return [PlannedJob(j.num, [o for o in j.overrides if o in varying]) for j in missing], len(
        planned
    )


def not_run_lines(jobs: list[PlannedJob]) -> list[str]:
    """``report.md``'s section listing the jobs that never ran; none if every job ran."""
    if not jobs:
        return []
    lines = ["", "## Jobs not run", "", "The sweep stopped before these jobs started:", ""]
    return lines + [f"- job {job.num}: `{' '.join(job.overrides)}`" for job in jobs]


def not_run_line(jobs: list[PlannedJob], total: int) -> str:
    """One line for the terminal: ``2 of 3 planned jobs never ran: 1 (seed=2), 2 (seed=3)``."""
    named = ", ".join(f"{job.num} ({' '.join(job.overrides)})" for job in jobs)
    return f"{len(jobs)} of {total} planned jobs never ran (the sweep was stopped): {named}"
