"""Hydra callbacks that claim a run's or a sweep's directory before anything is written in it.

Hydra calls ``on_run_start`` / ``on_multirun_start`` before its launcher makes the job dirs and
writes ``.hydra/`` (``hydra/_internal/hydra.py`` in 1.3.8; ``on_job_start`` comes after those
writes, too late). Each takes the directory's lock (:mod:`nst_research.io.locks`) and refuses,
in one line with exit code 2, a directory another process holds or one holding another run's
files, whatever state that run ended in. A sweep directory that holds a sweep is taken only by
``nst resume=SWEEP_DIR`` (:mod:`nst_research.io.sweep_resume`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from nst_research.errors import NSTError
from nst_research.io import hydra_files, locks, stop

RESUMING: dict[str, Path | None] = {"sweep": None}  # set by nst resume=SWEEP_DIR (cli.main)


def refuse(message: str) -> None:
    """The one-line refusal: ``error: ...`` and exit code 2 (a ``SystemExit`` passes through
    Hydra's callback runner, which turns other exceptions into warnings)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _dir(config: DictConfig, key: str) -> Path:
    """The resolved dir (``${hydra:...}`` in it needs Hydra's config set, as run_job sets it);
    one that cannot be resolved is refused here, never left unclaimed."""
    from hydra.core.hydra_config import HydraConfig

    try:
        HydraConfig.instance().set_config(config)
        return Path(str(OmegaConf.select(config, key))).expanduser().absolute()
    except Exception as e:
        refuse(f"{key} cannot be resolved ({' '.join(str(e).split())})")
        raise  # unreachable: refuse exits


def _record_status(run_dir: Path) -> str | None:
    try:
        return str(json.loads((run_dir / "metrics.json").read_text()).get("status"))
    except (OSError, ValueError, AttributeError):
        return None


def describe_run_dir(run_dir: Path, names: list[str]) -> str:
    """What a non-empty directory holds, for the refusal: a finished, stopped or killed run."""
    status = _record_status(run_dir)
    if "final.png" in names and status in (None, "completed"):
        return "already holds a finished run"
    if status is not None:
        return f"already holds a run that ended {status}"
    if ".hydra" in names or "snapshots" in names:
        return "already holds the files of a run that never wrote its record (killed?)"
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"is not empty ({shown})"


def claim_run_dir(run_dir: Path) -> None:
    """Lock a single run's dir; refuse it if another process has it or it holds any files."""
    try:
        locks.acquire(run_dir, "hydra.run.dir")
    except (NSTError, OSError) as e:
        refuse(str(e))
    names = locks.entries(run_dir)
    if names:
        locks.release(run_dir)
        what = describe_run_dir(run_dir, names)
        hint = (
            f" (or go on from it in a new dir: nst resume={run_dir})"
            if (run_dir / "checkpoint.ckpt").is_file()
            else ""
        )
        refuse(f"{run_dir} {what}; choose another hydra.run.dir{hint}")


def claim_sweep_dir(sweep_dir: Path, sweeper: str = "") -> None:
    """Lock a sweep's dir; refuse it if another process has it or it holds files, unless this
    command resumes the sweep recorded there (``nst resume=``, or the nst_optuna sweeper, which
    resumes its study in ``optuna.db`` with new job numbers, never rewriting a job)."""
    try:
        locks.acquire(sweep_dir, "hydra.sweep.dir")
    except (NSTError, OSError) as e:
        refuse(str(e))
    names = locks.entries(sweep_dir)
    resuming = RESUMING["sweep"]
    if not names or (resuming is not None and resuming.absolute() == sweep_dir):
        return
    if "nst_optuna" in sweeper and "multirun.yaml" not in names:
        return
    locks.release(sweep_dir)
    jobs = sorted((n for n in names if n.isdigit()), key=int)
    if "multirun.yaml" in names or jobs:
        held = f"jobs {', '.join(jobs)}" if jobs else "no jobs yet"
        refuse(
            f"{sweep_dir} already holds a sweep ({held}); choose another hydra.sweep.dir, or go "
            f"on with that sweep: nst resume={sweep_dir}"
        )
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    refuse(f"{sweep_dir} is not empty ({shown}); choose another hydra.sweep.dir")


class ClaimDir(Callback):
    """``hydra.callbacks.claim_dir``: one directory, one run (see the module docstring)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        claim_run_dir(_dir(config, "hydra.run.dir"))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = _dir(config, "hydra.sweep.dir")
        claim_sweep_dir(sweep_dir, str(OmegaConf.select(config, "hydra.sweeper._target_")))
        stop.guard_parent(sweep_dir, str(OmegaConf.select(config, "hydra.launcher._target_")))
        hydra_files.install()  # again: Hydra's plugin scan re-ran the basic sweeper's module

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        stop.raise_if_stopped(_dir(config, "hydra.sweep.dir"))
