"""``nst resume=SWEEP_DIR``: go on with a stopped sweep, with the configuration it recorded.

The command is rebuilt from the sweep's ``multirun.yaml`` (its task and Hydra overrides), so
nothing can differ from what ran; the sweep runs with :class:`~hydra_plugins.nst_resume_sweeper.
ResumeSweeper`, which keeps every job that completed (not run, not rewritten) and runs the others.
A job dir left by a job that did not complete (interrupted, failed, killed) is moved, whole, to
``SWEEP_DIR/.stopped/<job>-<n>`` first, so the job's new run starts in an empty dir and the old
files stay on record. Only sweeps of Hydra's basic sweeper can be resumed this way (their jobs
are the same list every time); the nst_optuna sweeper resumes by running its command again.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from nst_research.errors import ConfigError

BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
RESUMER = "hydra_plugins.nst_resume_sweeper.ResumeSweeper"
STOPPED = ".stopped"


def is_sweep_dir(path: Path) -> bool:
    return (Path(path) / "multirun.yaml").is_file()


def command(sweep_dir: Path, argv: list[str]) -> list[str]:
    """The ``nst`` arguments that go on with the sweep in ``sweep_dir`` (one-line errors)."""
    others = [a for a in argv if a.partition("=")[0].lstrip("+") != "resume" and a not in (
        "-m", "--multirun")]  # fmt: skip
    if others:
        raise ConfigError(
            f"resume={sweep_dir} goes on with that sweep as it was recorded and takes no other "
            f"arguments (got {' '.join(others)}); start a new sweep to change anything"
        )
    recorded = yaml.safe_load((Path(sweep_dir) / "multirun.yaml").read_text())["hydra"]
    sweeper = str(recorded["sweeper"].get("_target_"))
    if sweeper != BASIC:
        raise ConfigError(
            f"cannot resume the sweep in {sweep_dir} with resume=: its sweeper ({sweeper}) is "
            "not Hydra's basic one; run its command again with the same hydra.sweep.dir"
        )
    if str(recorded["sweep"].get("subdir")) != "${hydra.job.num}":
        raise ConfigError(f"cannot resume the sweep in {sweep_dir}: its job dirs are not numbered")
    task = [str(o) for o in recorded["overrides"]["task"]]
    skip = ("hydra.sweep.dir=", "hydra.mode=", "hydra.sweeper._target_=")
    hydra = [str(o) for o in recorded["overrides"]["hydra"] if not str(o).startswith(skip)]
    absolute = Path(sweep_dir).expanduser().absolute()
    return ["-m", *task, *hydra, f"hydra.sweep.dir={absolute}", f"hydra.sweeper._target_={RESUMER}"]


def job_status(job_dir: Path) -> str | None:
    """The job's recorded status (None: no record or no dir)."""
    try:
        return str(json.loads((job_dir / "metrics.json").read_text()).get("status"))
    except (OSError, ValueError, AttributeError):
        return None


def recorded_overrides(job_dir: Path) -> list[str] | None:
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    return [str(o) for o in OmegaConf.load(path)]


def set_aside(job_dir: Path) -> Path:
    """Move a job dir that did not complete to ``<sweep>/.stopped/<job>-<n>``; return where."""
    stopped = job_dir.parent / STOPPED
    stopped.mkdir(exist_ok=True)
    n = 1
    while (stopped / f"{job_dir.name}-{n}").exists():
        n += 1
    dest = stopped / f"{job_dir.name}-{n}"
    job_dir.rename(dest)
    return dest
