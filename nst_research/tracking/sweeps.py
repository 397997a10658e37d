"""The end of a sweep: one summary line, and exit code 1 when a job failed.

A Hydra callback (``hydra.callbacks.sweep_summary`` in ``conf/config.yaml``) runs in the process
that launched the sweep, whatever the launcher; it reads the job dirs' ``metrics.json``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from nst_research.engine.status import RunStatus

FAILED_SWEEP = {"failed": False}  # read by nst_research.cli.main for the exit code


def job_statuses(sweep_dir: Path) -> list[tuple[str, str, str]]:
    """(job, status, error) for every job dir (numbered) of a sweep, in job order."""
    jobs = []
    dirs = [p for p in Path(sweep_dir).iterdir() if p.is_dir() and p.name.isdigit()]
    for job in sorted(dirs, key=lambda p: int(p.name)):
        path = job / "metrics.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            jobs.append((job.name, "no record", ""))
            continue
        jobs.append((job.name, str(record.get("status")), str(record.get("error") or "")))
    return jobs


def summary_line(jobs: list[tuple[str, str, str]]) -> str:
    """``2 of 3 jobs completed; failed: job 1 (ConfigError: unknown layer ...)``."""
    done = sum(status == RunStatus.COMPLETED for _, status, _ in jobs)
    line = f"{done} of {len(jobs)} jobs completed"
    failed = [f"job {j} ({error.split(': ', 1)[-1]})" for j, s, error in jobs if s == "failed"]
    if failed:
        line += "; failed: " + ", ".join(failed)
    others = Counter(s for _, s, _ in jobs if s not in (RunStatus.COMPLETED, "failed"))
    if others:
        line += "; " + ", ".join(f"{n} {s}" for s, n in sorted(others.items()))
    return line


class SweepSummary(Callback):
    """Prints the sweep's summary line; a failed job makes ``nst -m`` exit with code 1."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            return
        jobs = job_statuses(sweep_dir)
        if not jobs:
            return
        print(summary_line(jobs), file=sys.stderr)
        FAILED_SWEEP["failed"] = any(status == "failed" for _, status, _ in jobs)
