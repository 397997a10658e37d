"""The experiment loggers (``conf/logger/*.yaml``: none, csv, wandb) and closing them.

W&B runs offline unless online is asked for and possible (:func:`wandb_mode`); its step is the
trainer step; a failure of W&B never costs a run its own outputs.
"""

from __future__ import annotations

import netrc
import os
import socket
import urllib.parse
from pathlib import Path
from typing import Any

from nst_research.engine.status import RunStatus
from nst_research.errors import ConfigError, choose, warn


def wandb_mode(requested: str) -> str:
    """``online`` only with credentials and a reachable server; otherwise offline, with a message."""
    if requested != "online":
        return requested
    key = os.environ.get("WANDB_API_KEY")
    base = urllib.parse.urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai"))
    host = base.hostname or "api.wandb.ai"
    port = base.port or (443 if base.scheme == "https" else 80)
    if not key:
        try:
            key = (netrc.netrc().authenticators(host) or (None, None, None))[2]
        except (OSError, netrc.NetrcParseError):
            key = None
    if not key:
        warn(
            "W&B online mode needs credentials (run `wandb login` or set WANDB_API_KEY); "
            "logging offline instead (upload later with `wandb sync`)"
        )
        return "offline"
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as e:
        warn(
            f"cannot reach W&B at {host}:{port} ({e}); logging offline instead (`wandb sync` later)"
        )
        return "offline"
    return "online"


class NoLogger:
    """``logger=none``: no experiment logger (the run dir's outputs are still written)."""

    def __call__(self, run_dir: Path, run_name: str, group: str | None, job_type: str):
        return False


class CSVLog:
    """``logger=csv``: Lightning's CSVLogger into the run dir."""

    def __call__(self, run_dir: Path, run_name: str, group: str | None, job_type: str):
        from pytorch_lightning.loggers import CSVLogger

        return CSVLogger(save_dir=str(run_dir), name="csv", version="")


def _step_logger_class():
    """Lightning's WandbLogger whose W&B step (``_step``) is the trainer step.

    Lightning logs without ``step=``, so W&B counts log calls: every image, eval row and the
    step-0 scores moved later rows on (the step-20 snapshot was at ``_step`` 22). Rows logged at
    the same step are merged into one.
    """
    from pytorch_lightning.loggers import WandbLogger

    class StepWandbLogger(WandbLogger):
        def log_metrics(self, metrics, step: int | None = None) -> None:
            if step is None:
                return super().log_metrics(metrics, step)
            self.experiment.log({**metrics, "trainer/global_step": step}, step=int(step))
            return None

    return StepWandbLogger


class WandbLog:
    """``logger=wandb``: a W&B run through Lightning's WandbLogger (offline by default)."""

    # W&B's names, also as WANDB_MODE gives them (dryrun = offline, run = online)
    MODES = {
        "offline": "offline",
        "online": "online",
        "disabled": "disabled",
        "dryrun": "offline",
        "run": "online",
    }

    def __init__(
        self,
        mode: str = "offline",
        project: str = "nst-research",
        entity: str | None = None,
        group: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
    ) -> None:
        try:
            self.mode = choose(self.MODES, mode, "logger.mode")
        except ConfigError as e:  # the default comes from $WANDB_MODE: say so when it was that
            env = os.environ.get("WANDB_MODE")
            note = f" (logger.mode defaults to $WANDB_MODE={env!r})" if env == mode else ""
            raise ConfigError(f"{e}{note}") from None
        self.project, self.entity, self.group, self.tags = project, entity, group, list(tags)

    def __call__(self, run_dir: Path, run_name: str, group: str | None, job_type: str):
        import wandb

        from nst_research.tracking.wandb_dir import wandb_dir

        mode = wandb_mode(self.mode)
        # WandbLogger(offline=True) sets WANDB_MODE for the whole process: set it per run,
        # explicitly (run_settings restores it afterwards).
        os.environ["WANDB_MODE"] = mode
        try:
            logger = _step_logger_class()(
                project=self.project,
                entity=self.entity,
                name=run_name,
                group=self.group or group,
                job_type=job_type,
                tags=self.tags,
                save_dir=str(wandb_dir(run_dir)),  # $WANDB_DIR, honoured, else the run dir
                offline=mode == "offline",
                mode=mode,
                # no requirements.txt scan (0.3 s a run): environment.txt records the packages
                settings=wandb.Settings(init_timeout=60, x_save_requirements=False),
            )
            logger._wandb_init.pop("anonymous", None)  # deprecated in wandb; Lightning sends it
            # A run of its own, beside any active one (a notebook's wandb.run, an earlier job's):
            # never logged into, never finished here; Lightning would reuse wandb.run.
            run = wandb.init(**logger._wandb_init, reinit="create_new")
            run.define_metric("trainer/global_step")
            run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
            logger._experiment = run
            logger.nst_run_dir = Path(run_dir)  # its final.png (save_dir may be $WANDB_DIR)
        except Exception as e:  # W&B must never cost the run its own outputs
            warn(f"W&B could not start ({type(e).__name__}: {e}); going on without it")
            return False
        return logger


def finish_logger(logger, status: str, summary: dict[str, Any]) -> None:
    """Close the experiment logger: W&B gets the summary and an exit code, others finalise.

    A failure here (W&B cannot write or sync) never changes the run's outcome: one warning line.
    """
    try:
        _finish_logger(logger, status, summary)
    except Exception as e:
        warn(f"the experiment logger could not finish ({type(e).__name__}: {_one_line(e)})")


def _one_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _finish_logger(logger, status: str, summary: dict[str, Any]) -> None:
    if not logger or getattr(logger, "experiment", None) is None:
        return
    from pytorch_lightning.loggers import WandbLogger

    if not isinstance(logger, WandbLogger):
        logger.finalize(str(status))
        return

    for key, value in summary.items():
        logger.experiment.summary[key] = value
    run_dir = Path(getattr(logger, "nst_run_dir", None) or logger.save_dir)
    log_final_artifact(logger.experiment, run_dir / "final.png", summary)
    exit_codes = {RunStatus.COMPLETED: 0, RunStatus.INTERRUPTED: 255}
    logger.experiment.finish(exit_code=exit_codes.get(RunStatus(status), 1))  # this run only


def log_final_artifact(experiment, final: Path, summary: dict[str, Any]) -> None:
    """The final image as a versioned W&B artifact (``final-<run id>``, type ``image``), with the
    run's status and scores as metadata: other runs and reports can ``use_artifact`` it.
    Offline runs keep it with the run until ``wandb sync``."""
    if not final.is_file():
        return
    import wandb

    artifact = wandb.Artifact(f"final-{experiment.id}", type="image", metadata=dict(summary))
    artifact.add_file(str(final), name="final.png")
    experiment.log_artifact(artifact, aliases=["latest", str(summary.get("status", "unknown"))])
