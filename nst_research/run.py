"""One run, from a composed config to a run directory: ``run = build + fit``.

:func:`nst_research.engine.build.build` instantiates everything; :func:`fit` trains and then writes
``final.png``, ``losses.csv`` and ``metrics.json`` and finishes the W&B run, whatever happened.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from nst_research.configs.names import IMAGE_FINAL, OBJECTIVE
from nst_research.engine import process, signals
from nst_research.engine.build import Run, build
from nst_research.engine.callbacks import log_image
from nst_research.engine.memory import peak_mb, reset_peak
from nst_research.engine.parts import check
from nst_research.engine.status import RunStatus
from nst_research.errors import NSTError, warn
from nst_research.evaluation.metrics import objective_value
from nst_research.io.files import DiskFull, UnwritableDir, atomic_path, write_json
from nst_research.io.images import save_image
from nst_research.tracking import loggers


def run(
    cfg: DictConfig,
    run_dir: Path,
    run_name: str = "default",
    group: str | None = None,
    resume_from: Path | None = None,
) -> dict[str, Any]:
    """Stylise (or reconstruct) as configured; returns the contents of ``metrics.json``.

    ``resume_from``: a ``checkpoint.ckpt`` of an earlier run of the same config; the run goes on
    from its image, optimiser state and step up to ``cfg.iterations`` in total. Process-wide
    settings the run changes are restored when it returns.
    """
    parts = check(cfg)  # every value checked before run_settings applies any (trainer.threads)
    with process.run_settings(cfg.trainer):
        return fit(build(cfg, run_dir, run_name, group, resume_from, parts))


def fit(run: Run) -> dict[str, Any]:
    """Train a built run; write its outputs (also when interrupted or diverged)."""
    module, trainer = run.module, run.trainer
    reset_peak(module.device)  # per run, not per process (in-process sweeps, figures)
    t_fit = time.perf_counter()
    ckpt = str(run.resume_from) if run.resume_from else None
    error: Exception | None = None
    try:
        with signals.interrupts():
            trainer.fit(module, ckpt_path=ckpt)
    except (SystemExit, KeyboardInterrupt):
        # Lightning turns Ctrl-C into SystemExit(1) after a graceful shutdown.
        module.status = RunStatus.INTERRUPTED
    except Exception as e:  # a crash is not an interruption: no checkpoint to resume from
        module.status, error = RunStatus.FAILED, e
    finally:
        fit_s = time.perf_counter() - t_fit
        if module.status is RunStatus.RUNNING:
            module.status = RunStatus.INTERRUPTED if trainer.interrupted else RunStatus.COMPLETED
        metrics, saving = _save_outputs(run, fit_s, error)
    if isinstance(error, DiskFull | UnwritableDir):  # already one line naming the place
        raise error
    if error is not None:
        raise RunFailed(
            f"the run failed after {metrics['iterations']} iterations ({metrics['error']}); "
            f"its record and last image are in {run.run_dir}"
        ) from error
    if saving is not None:
        raise saving
    return metrics


def _save_outputs(
    run: Run, fit_s: float, error: Exception | None
) -> tuple[dict[str, Any], NSTError | None]:
    """Checkpoint (by policy), then finish; SIGINT/SIGTERM wait until both are on disk.

    A signal during the save of a run that completed (or failed) stops the process afterwards
    (a ``KeyboardInterrupt``: a sweep stops); one during the save of an interrupted run is the
    same stop. Returns the metrics and a checkpoint's disk error, raised after the outputs.
    """
    saving: NSTError | None = None
    with signals.signals_deferred() as received:
        if _wants_checkpoint(str(run.cfg.checkpoint), run.module.status):
            saving = save_checkpoint(run.trainer, run.run_dir / "checkpoint.ckpt")
        metrics = finish(run, fit_s, error)
        if run.module.status is RunStatus.INTERRUPTED:
            received.clear()
    return metrics, saving


class RunFailed(NSTError):
    """An exception inside the optimisation: recorded as ``failed``, reported as one line."""

    exit_code = 1


def _wants_checkpoint(policy: str, status: RunStatus) -> bool:
    """``always``; or ``interrupt``: a run that can go on (interrupted or diverged), not a crash."""
    resumable = status in (RunStatus.INTERRUPTED, RunStatus.DIVERGED)
    return (
        policy == "always" and status != RunStatus.FAILED or (policy == "interrupt" and resumable)
    )


def save_checkpoint(trainer: pl.Trainer, path: Path) -> NSTError | None:
    """Image, optimiser state, step and loss history, for ``nst resume=RUN_DIR`` (atomic write).

    A failure never loses the run's other outputs: a full disk or an unwritable dir is returned
    (raised once they are written), anything else is a warning.
    """
    try:
        with atomic_path(path) as tmp:
            trainer.save_checkpoint(tmp, weights_only=False)
    except (DiskFull, UnwritableDir) as e:
        return e
    except Exception as e:
        warn(f"could not save a checkpoint to {path}: {e}")
    return None


def finish(run: Run, fit_s: float, error: Exception | None = None) -> dict[str, Any]:
    """Write final.png, losses.csv and metrics.json; log the final image; finish the logger.

    Each file is written atomically (:mod:`nst_research.io.files`); the logger is finished even
    when a write fails (a full disk), and a logger failure is one warning, never an error.
    """
    module, trainer = run.module, run.trainer
    rgb = module.rgb()
    summary: dict[str, Any] = {"status": str(module.status)}
    try:
        metrics = _write_outputs(run, rgb, fit_s, error)
        summary.update({k: metrics[k] for k in ("wall_time_s", "s_per_iter", "peak_memory_mb")})
        summary.update(metrics["eval"])
        summary[OBJECTIVE] = metrics[OBJECTIVE]
    finally:
        if run.logger:
            try:
                log_image(trainer, IMAGE_FINAL, rgb, int(trainer.global_step))
            except Exception as e:
                warn(f"could not log the final image ({type(e).__name__}: {e})")
            loggers.finish_logger(run.logger, module.status, summary)
    return metrics


def _write_outputs(
    run: Run, rgb: torch.Tensor, fit_s: float, error: Exception | None
) -> dict[str, Any]:
    module, trainer, history = run.module, run.trainer, run.history
    final = save_image(rgb, run.run_dir / "final.png")
    history.write_csv(run.run_dir / "losses.csv")
    columns = history.as_columns()
    final_losses = {k: v[-1] for k, v in columns.items() if k != "step" and v}
    step_times = history.step_times()
    scores = run.evaluate.final(trainer, rgb) if run.evaluate is not None and not error else {}
    if run.evaluate is not None:
        run.evaluate.write_csv(run.run_dir / "eval.csv")
    objective = objective_value(run.objective_weights, {**final_losses, **scores})
    metrics = {
        "status": str(module.status),
        **({"error": f"{type(error).__name__}: {' '.join(str(error).split())}"} if error else {}),
        "iterations": int(trainer.global_step),
        "final_losses": final_losses,
        "eval": scores,
        OBJECTIVE: objective,
        "wall_time_s": time.perf_counter() - run.t_start,
        "fit_time_s": fit_s,
        "s_per_iter": step_times,
        # forward + backward passes of the generated image in this process (targets excluded),
        # and the repeated ones answered without a pass (nst_research/engine/recall.py)
        "loss_evaluations": dict(module.evaluations),
        "peak_memory_mb": peak_mb(module.device),
        "device": str(module.device),
        "final_image": str(final),
        **run.provenance,
    }
    write_json(run.run_dir / "metrics.json", metrics)
    return metrics
