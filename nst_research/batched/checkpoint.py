"""A batched problem's ``checkpoint.ckpt``: what a single run's Lightning checkpoint holds.

A problem of a batch has no Lightning Trainer (:class:`~nst_research.batched.problems.ProblemTrainer`
stands in), so Lightning cannot write its checkpoint. This module writes the same dict Lightning
writes for a single run after the same steps: the module's state (the image parameter, the VGG
weights left out by ``StyleTransfer.on_save_checkpoint``), the optimiser's state, the stateful
callbacks (the loss history), and the fit loop's progress counters at ``n`` optimiser steps.
``nst resume=RUN_DIR`` then goes on from it as a single run, exactly as from a single run's
checkpoint (``tests/test_batched.py`` checks the pixels).

The loops' layout is taken from a fresh Trainer of the installed Lightning (so it is that
version's), then its counters are set as Lightning leaves them: mid-epoch for a run that stopped
early (interrupted, diverged), at the end of the epoch for a completed one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from nst_research.batched.problems import Problem
from nst_research.engine.status import RunStatus
from nst_research.errors import NSTError, warn
from nst_research.io.files import DiskFull, UnwritableDir, atomic_path


def loops_state(steps: int, completed: bool) -> dict[str, Any]:
    """The ``loops`` entry of a Lightning checkpoint after ``steps`` manual optimiser steps."""
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    fit = trainer.fit_loop
    epoch = fit.epoch_loop
    epoch._batches_that_stepped = steps
    for tracker in (epoch.batch_progress.total, epoch.batch_progress.current):
        tracker.ready = tracker.started = tracker.processed = tracker.completed = steps
    epoch.batch_progress.is_last_batch = completed
    step_progress = epoch.manual_optimization.optim_step_progress
    for tracker in (step_progress.total, step_progress.current):
        tracker.ready = tracker.completed = steps
    for tracker in (fit.epoch_progress.total, fit.epoch_progress.current):
        tracker.ready = tracker.started = 1
        tracker.processed = tracker.completed = int(completed)
    return {
        "fit_loop": fit.state_dict(),
        "validate_loop": trainer.validate_loop.state_dict(),
        "test_loop": trainer.test_loop.state_dict(),
        "predict_loop": trainer.predict_loop.state_dict(),
    }


def problem_checkpoint(problem: Problem) -> dict[str, Any]:
    """The checkpoint dict of one problem, as Lightning's ``Trainer.save_checkpoint`` builds it."""
    module, trainer = problem.module, problem.run.trainer
    steps = int(trainer.global_step)
    completed = module.status is RunStatus.COMPLETED
    callbacks = {}
    for callback in trainer.callbacks:
        state = callback.state_dict()
        if state:
            callbacks[callback.state_key] = state
    checkpoint: dict[str, Any] = {
        "epoch": int(completed),
        "global_step": steps,
        "pytorch-lightning_version": pl.__version__,
        "state_dict": module.state_dict(),
        "loops": loops_state(steps, completed),
        "callbacks": callbacks,
        "optimizer_states": [problem.optimizer.state_dict()] if problem.optimizer else [],
        "lr_schedulers": [],
    }
    module.on_save_checkpoint(checkpoint)  # drops the extractor; the image's stage and scheduler
    return checkpoint


def save_problem_checkpoint(problem: Problem, path: Path) -> NSTError | None:
    """Write ``checkpoint.ckpt`` atomically; a full disk or an unwritable dir is returned (raised
    once the run's other outputs are written), anything else is a warning (as a single run's)."""
    try:
        checkpoint = problem_checkpoint(problem)
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
    except (DiskFull, UnwritableDir) as e:
        return e
    except Exception as e:
        warn(f"could not save a checkpoint to {path}: {e}")
    return None
