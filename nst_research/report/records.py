"""Reading a sweep: one :class:`RunRecord` per job dir of a Hydra multirun.

A job dir (``multirun/<date>/<time>/<job>/``) holds ``.hydra/overrides.yaml`` and, when the job
finished, ``metrics.json``, ``losses.csv`` and ``final.png``. A job with no readable
``metrics.json``, or one whose ``metrics.json`` says it failed, is a failed record with a reason,
never dropped.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nst_research.engine.status import RunStatus

SEED_KEY = "seed"
FAILED = RunStatus.FAILED.value  # the status of a job that left no metrics
UNKNOWN = "unknown"  # the status of a metrics.json that records none


class ReportError(Exception):
    """The sweep dir cannot be reported on (missing, or holds no job dirs)."""


@dataclass
class RunRecord:
    """One job of a sweep, as found on disk.

    Attributes:
        job_dir: the job's run dir.
        name: the job dir relative to the sweep dir (``"0"``, ``"1"``, ...).
        overrides: the job's Hydra overrides, key -> value as written on the command line.
        status: ``metrics.json``'s status (``completed``, ``interrupted``, ``diverged``), or
            ``failed`` when the job left no readable ``metrics.json``.
        metrics: the parsed ``metrics.json``, or None for a failed job.
        reason: why a failed job failed (last non-empty line of its log), else None.
        seed: the seed from the overrides, else ``metrics.json``, else ``.hydra/config.yaml``.
    """

    job_dir: Path
    name: str
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any] | None = None
    reason: str | None = None
    seed: str | None = None

    @property
    def failed(self) -> bool:
        return self.metrics is None

    @property
    def final_image(self) -> Path | None:
        path = self.job_dir / "final.png"
        return path if path.is_file() else None

    def value(self, key: str) -> float | None:
        """A numeric result: a final loss (a key of ``final_losses``), an evaluation metric (a key
        of ``eval``), both named as in :mod:`nst_research.configs.names`, or a top-level metric
        (``iterations``, ``objective``, ...); None if absent or null."""
        if self.metrics is None:
            return None
        losses = self.metrics.get("final_losses") or {}
        evals = self.metrics.get("eval") or {}
        raw = (
            losses[key] if key in losses else evals[key] if key in evals else self.metrics.get(key)
        )
        if raw is None:
            return None
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None


def natural_key(value: str | None) -> tuple[Any, ...]:
    """Sort key: numbers numerically, then strings with digit runs compared as numbers."""
    if value is None:
        return (2, 0.0, ())
    try:
        return (0, float(value), ())
    except ValueError:
        # Lists ("[relu1_1,relu2_1]") sort by length first, so cumulative layer sets read in order.
        length = value.count(",") + 1 if value.startswith("[") and value != "[]" else 0
        parts = re.split(r"(\d+)", value)
        return (1, float(length), tuple(int(p) if i % 2 else p for i, p in enumerate(parts)))


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Every dir under ``sweep_dir`` holding ``.hydra/overrides.yaml``, in natural order."""
    found = {
        p.parent.parent
        for p in sweep_dir.rglob("overrides.yaml")
        if p.parent.name == ".hydra"
        and p.parent.parent != sweep_dir
        # jobs set aside by a resumed sweep (``.stopped/``) are not the sweep's jobs
        and not any(part.startswith(".") for part in p.parent.parent.relative_to(sweep_dir).parts)
    }

    def key(path: Path) -> tuple[tuple[Any, ...], ...]:
        return tuple(natural_key(part) for part in path.relative_to(sweep_dir).parts)

    return sorted(found, key=key)


def read_overrides(job_dir: Path) -> dict[str, str]:
    """``.hydra/overrides.yaml`` (a list of ``key=value``) as a dict; ``+``/``++`` prefixes dropped."""
    items = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
    overrides: dict[str, str] = {}
    for item in items:
        key, _, value = str(item).partition("=")
        overrides[key.lstrip("+")] = value
    return overrides


def failure_reason(job_dir: Path) -> str:
    """The last non-empty line of the job's ``*.log`` files, or a note that there is none."""
    for log in sorted(job_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in reversed(lines):
            if line.strip():
                return line.strip()
    return "no metrics.json and no log output (the job raised, was killed, or is still running)"


def read_config(job_dir: Path) -> dict[str, Any]:
    """The job's resolved config (``.hydra/config.yaml``), or ``{}`` if missing or unreadable."""
    try:
        cfg = yaml.safe_load((job_dir / ".hydra" / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def job_seed(
    overrides: dict[str, str], metrics: dict[str, Any] | None, job_dir: Path
) -> str | None:
    """The seed from the overrides, else the one ``metrics.json`` recorded, else the config's."""
    if SEED_KEY in overrides:
        return overrides[SEED_KEY]
    for source in (metrics or {}, read_config(job_dir)):
        if source.get(SEED_KEY) is not None:
            return str(source[SEED_KEY])
    return None


def read_record(job_dir: Path, sweep_dir: Path) -> RunRecord:
    """One job dir as a :class:`RunRecord`."""
    name = job_dir.relative_to(sweep_dir).as_posix()
    overrides = read_overrides(job_dir)
    metrics: dict[str, Any] | None = None
    reason: str | None = None
    metrics_path = job_dir / "metrics.json"
    if not metrics_path.is_file():
        reason = failure_reason(job_dir)
    else:
        try:
            metrics = json.loads(metrics_path.read_text())
        except (OSError, ValueError) as exc:
            reason = f"unreadable metrics.json: {exc}"
        if metrics is not None and metrics.get("status") == RunStatus.FAILED:
            # nst writes {"status": "failed", "error": ...} for a job that raised.
            reason = str(metrics.get("error") or failure_reason(job_dir))
            metrics = None
    status = FAILED if metrics is None else str(metrics.get("status") or UNKNOWN)
    seed = job_seed(overrides, metrics, job_dir)
    return RunRecord(job_dir, name, overrides, status, metrics, reason, seed)


def collect(sweep_dir: str | os.PathLike[str]) -> list[RunRecord]:
    """Read every job dir of a sweep.

    Raises:
        ReportError: ``sweep_dir`` is not a directory, or holds no job dirs.
    """
    sweep = Path(sweep_dir)
    if not sweep.is_dir():
        raise ReportError(f"sweep dir not found: {sweep}")
    job_dirs = find_job_dirs(sweep)
    if not job_dirs:
        raise ReportError(
            f"no job dirs in {sweep} (expected subdirs like 0/.hydra/overrides.yaml from `nst -m ...`)"
        )
    return [read_record(job_dir, sweep) for job_dir in job_dirs]
