"""The ``nst`` command: Hydra composes the config, :func:`nst_research.run.run` does the work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from nst_research.configs import help as help_text
from nst_research.configs.compose import CONF_DIR as _CONF_DIR
from nst_research.configs.compose import CONFIG_PATH, set_search_path
from nst_research.configs.names import OBJECTIVE
from nst_research.configs.schema import register
from nst_research.engine.status import RunStatus
from nst_research.errors import NSTError
from nst_research.io import hydra_files, locks, stop
from nst_research.io.claims import RESUMING
from nst_research.tracking.naming import identity
from nst_research.tracking.sweeps import FAILED_SWEEP
from nst_research.validation.argv import (  # noqa: F401 - the CLI's checks, importable from here
    NO_RUN,
    check_group_choices,
    check_group_keys,
    check_run_dir,
    check_top_level_values,
)

CONF_DIR = str(_CONF_DIR)
hydra_files.install()  # here, so that joblib's and submitit's workers (which import us) have it


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def _app(cfg: DictConfig) -> float | None:
    global _JOB_STARTED, _MULTIRUN
    _JOB_STARTED = True
    from nst_research.run import run

    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    _MULTIRUN = multirun
    run_dir = Path(hc.runtime.output_dir)
    name, group, tags = identity(cfg, hc, multirun)  # W&B conventions (nst_research/tracking)
    if "tags" in cfg.logger:
        cfg.logger.tags = [*cfg.logger.tags, *(t for t in tags if t not in cfg.logger.tags)]
    resume_from = None
    worker = multirun and stop.in_worker()  # a joblib worker: Ctrl-C as nst_research.io.stop says
    started = False
    try:
        if worker:  # armed first: a stop that came before is seen in the mark, one after is raised
            stop.arm(True)
            if stop.stopping(run_dir):
                return None
        started = True
        if cfg.resume:
            cfg, resume_from = _resume_config(cfg, hc.overrides.task)
        metrics = run(cfg, run_dir, run_name=name, group=group, resume_from=resume_from)
    except KeyboardInterrupt:
        if not worker:
            raise
        if not started and stop.stopping(run_dir):  # stopped at its start: it leaves nothing
            return None
        stop.stopped(run_dir)
        stopped = KeyboardInterrupt("stopped before it started optimising")
        _record_failure(run_dir, stopped, RunStatus.INTERRUPTED)
        return None
    except Exception as e:
        _record_failure(run_dir, e)
        if multirun and os.environ.get("HYDRA_FULL_ERROR") != "1":
            # The other jobs go on; the sweep's summary line names this one (sweeps.py).
            hint = "" if isinstance(e, NSTError) else " (HYDRA_FULL_ERROR=1 for the traceback)"
            print(f"error in job {hc.job.num}: {type(e).__name__}: {e}{hint}", file=sys.stderr)
            return None
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not isinstance(e, NSTError):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    finally:
        if worker:
            stop.arm(False)
    status = metrics["status"]
    final = metrics["final_image"]
    print(f"{status}: {metrics['iterations']} iterations, result in {final}")
    if status != RunStatus.COMPLETED and not multirun:
        sys.exit(130 if status == RunStatus.INTERRUPTED else 3)
    if status == RunStatus.INTERRUPTED:  # Ctrl-C / SIGTERM stops the sweep
        if not worker:
            raise KeyboardInterrupt
        stop.stopped(run_dir)
    # What a sweeper minimises; a job that did not complete has no value (a failed trial).
    return metrics.get(OBJECTIVE) if status == RunStatus.COMPLETED else None


def _resume_config(cfg: DictConfig, overrides: list[str]) -> tuple[DictConfig, Path]:
    """The config of the run to resume, with this command's allowed keys (``resume.ALLOWED``);
    the resumed run's ``.hydra/config.yaml`` becomes that config (resume of a resume)."""
    from nst_research.engine import resume

    resumed, ckpt = resume.resume_config(cfg, overrides)
    resume.record_config(Path(HydraConfig.get().runtime.output_dir), resumed)
    return resumed, ckpt


def _record_failure(
    run_dir: Path, error: BaseException, status: RunStatus = RunStatus.FAILED
) -> None:
    """A failed job still leaves a metrics.json saying why (sweep reports list it as failed)."""
    from nst_research.io.files import write_json

    path = run_dir / "metrics.json"
    if path.exists() or (run_dir / "final.png").exists():  # never touch a finished run
        return
    try:
        record = {"status": str(status), "error": f"{type(error).__name__}: {error}"}
        write_json(path, record)
    except (OSError, NSTError):  # a full disk or an unwritable dir: the error line says so
        pass


_JOB_STARTED = False
_MULTIRUN = False  # set by the job: which interruption message main() prints


def _resume_sweep(argv: list[str]) -> list[str]:
    """``nst resume=SWEEP_DIR``: the recorded sweep's command (:mod:`nst_research.io.sweep_resume`);
    any other command is returned as it is."""
    from nst_research.engine.resume import resume_value
    from nst_research.io import sweep_resume

    old = resume_value(argv)
    if old is None or "," in old or not sweep_resume.is_sweep_dir(Path(old).expanduser()):
        return argv
    sweep_dir = Path(old).expanduser().absolute()
    RESUMING["sweep"] = sweep_dir
    return sweep_resume.command(sweep_dir, argv)


def main() -> None:
    set_search_path()
    register()
    help_text.register()
    argv = sys.argv[1:]
    try:
        argv = _resume_sweep(argv)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    from nst_research.validation.preflight import check_command

    problem = check_command(argv)  # every job composed and checked; nothing written yet
    if problem:
        for line in problem.splitlines():
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = [sys.argv[0], *argv]
    try:
        _app()
        if FAILED_SWEEP["failed"]:
            raise SystemExit(1)
        if _JOB_STARTED and not _MULTIRUN:  # a single run, done and written: skip the teardown
            from nst_research.engine.process import exit_now  # torch is loaded by now

            locks.release_all()
            exit_now(0)
    except KeyboardInterrupt:
        multirun = _MULTIRUN or any(a in ("-m", "--multirun") for a in argv)
        what = (
            "the sweep stopped; the running jobs saved their outputs as interrupted and later "
            "jobs did not start"
            if multirun
            else "the signal came while the run saved its outputs; they were saved first"
        )
        print(f"interrupted: {what}", file=sys.stderr)
        raise SystemExit(130) from None
    except SystemExit as e:
        # Hydra exits with 1 after printing a compose-time error (unknown option or key, bad
        # type): that is bad input, reported like the others with exit code 2.
        if e.code == 1 and not _JOB_STARTED:
            raise SystemExit(2) from None
        raise


if __name__ == "__main__":
    main()
