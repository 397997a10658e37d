"""Side effects at the edges of a run, in one place, undone after it.

W&B set-up (and the online check), provenance (git, versions), signal handling, GPU backend
flags and warning filters. :func:`run_settings` saves every process-wide setting a run may
change and restores it afterwards, so in-process sweeps and figures start each run clean.
"""

from __future__ import annotations

import logging
import netrc
import os
import platform
import socket
import subprocess
import sys
import urllib.parse
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from nst_research import __version__
from nst_research.errors import ConfigError, choose
from nst_research.signals import (  # noqa: F401 - edges.interrupts is the public name
    _restore_signal_handlers,
    _signal_handlers,
    interrupts,
    signals_deferred,
)
from nst_research.status import RunStatus

REPO = Path(__file__).resolve().parents[1]
_LIGHTNING_LOGGERS = (
    "pytorch_lightning.utilities.rank_zero",
    "lightning.pytorch.utilities.rank_zero",
)
_NOISE = (  # Lightning's start-up tips and warnings that are noise for a frozen-extractor run
    ".*module\\(s\\) in eval mode.*",
    ".*LeafSpec.*",
    ".*does not have many workers.*",
    ".*dataloader is not resumable.*",
)
_ENV = ("WANDB_MODE", "PL_GLOBAL_SEED", "PL_SEED_WORKERS")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# --- process-wide settings ------------------------------------------------------------------------


def _backend_flags() -> dict[str, Any]:
    return {
        "threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
    }


def _restore_backend_flags(flags: dict[str, Any]) -> None:
    if torch.get_num_threads() != flags["threads"]:
        torch.set_num_threads(flags["threads"])
    torch.backends.cudnn.benchmark = flags["cudnn_benchmark"]
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul_tf32"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn_tf32"]


@contextmanager
def run_settings(trainer_cfg: DictConfig | dict) -> Iterator[None]:
    """Apply a run's process-wide settings; restore the previous ones when it ends.

    Covers torch threads, cuDNN/TF32 flags (set by the builder for a GPU run,
    ``build.apply_fast_gpu``; restored here), warning filters, Lightning's log level, SIGINT and
    SIGTERM handlers (Lightning installs its own) and the environment variables that W&B and
    ``seed_everything`` set.
    """
    flags, handlers = _backend_flags(), _signal_handlers()
    env = {k: os.environ.get(k) for k in _ENV}
    levels = {name: logging.getLogger(name).level for name in _LIGHTNING_LOGGERS}
    with warnings.catch_warnings():
        for pattern in _NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        for name in _LIGHTNING_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            if trainer_cfg.get("threads"):
                torch.set_num_threads(int(trainer_cfg["threads"]))
            yield
        finally:
            _restore_backend_flags(flags)
            _restore_signal_handlers(handlers)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            for key, value in env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def gpu_backend_flags(trainer_cfg: DictConfig | dict) -> None:
    """The GPU fast path's process flags: cuDNN autotuning, TF32 convolutions and matmuls."""
    if trainer_cfg.get("cudnn_benchmark", True):
        torch.backends.cudnn.benchmark = True
    if trainer_cfg.get("tf32", True):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


# --- provenance -----------------------------------------------------------------------------------


def git_commit() -> dict[str, Any]:
    """The commit of the checkout this package runs from, and whether it has local changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        status = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def versions() -> dict[str, str]:
    import pytorch_lightning as pl

    return {
        "nst_research": __version__,
        "torch": torch.__version__,
        "pytorch_lightning": pl.__version__,
        "python": platform.python_version(),
    }


# --- experiment loggers (conf/logger/*.yaml) ---------------------------------------------------------


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

        mode = wandb_mode(self.mode)
        wandb_dir = os.environ.get("WANDB_DIR")
        if wandb_dir and Path(wandb_dir).expanduser().resolve() != Path(run_dir).resolve():
            warn(  # said, not silently overridden: the run dir holds the run's whole record
                f"WANDB_DIR={wandb_dir} is not used: this run's W&B files go into its run dir "
                f"({Path(run_dir) / 'wandb'}); unset WANDB_DIR to silence this"
            )
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
                save_dir=str(run_dir),
                offline=mode == "offline",
                mode=mode,
                settings=wandb.Settings(init_timeout=60),
            )
            logger._wandb_init.pop("anonymous", None)  # deprecated in wandb; Lightning sends it
            # A run of its own, beside any active one (a notebook's wandb.run, an earlier job's):
            # never logged into, never finished here; Lightning would reuse wandb.run.
            run = wandb.init(**logger._wandb_init, reinit="create_new")
            run.define_metric("trainer/global_step")
            run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
            logger._experiment = run
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
    log_final_artifact(logger.experiment, Path(logger.save_dir) / "final.png", summary)
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


def exit_now(code: int = 0) -> None:
    """End the process without the interpreter's teardown, once everything is written.

    Unloading torch, Lightning, torchmetrics and sympy module by module takes 0.5-1 s at exit
    (``python -c "import pytorch_lightning"``: 3.8 s, 3.1 s with ``os._exit``), a tenth of a
    30-iteration 256 px run. Called by ``nst`` after a single run has returned, when its files
    and logs are closed: logging is shut down (Hydra's ``cli.log``), W&B's service is torn down
    if W&B was used, and the standard streams are flushed. If any other non-daemon thread is
    still running (work the normal exit would wait for) it returns and Python exits normally.
    """
    import threading

    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    logging.shutdown()
    wandb = sys.modules.get("wandb")
    if wandb is not None and hasattr(wandb, "teardown"):
        try:
            wandb.teardown()
        except Exception:  # a failing teardown must not turn a finished run into an error
            pass
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
