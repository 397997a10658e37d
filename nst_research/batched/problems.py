"""One problem of a batch, and the batched evaluation of several.

A problem is a single run as :func:`nst_research.engine.build.build` makes it (run dir, logger, module,
loss history, evaluation callback, provenance), built with the batch's shared extractor and a
:class:`ProblemTrainer` in place of the Lightning Trainer: the callbacks and writers of a single
run read what they read of a Trainer from it, so every record is written by the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch import Tensor, nn

from nst_research.batched.lockstep import Lockstep
from nst_research.configs.names import LOSS_TOTAL
from nst_research.engine.build import Run
from nst_research.engine.callbacks import Evaluate, LogMetrics, LossHistory, Snapshots


class ProblemTrainer:
    """What the callbacks, :func:`nst_research.run.finish` and the loggers read of a Trainer.

    ``global_step`` is the number of optimiser steps taken (as Lightning counts them); the
    callbacks are a single run's (:func:`nst_research.engine.build._trainer`), less the progress bar.
    """

    def __init__(
        self,
        cfg: DictConfig,
        run_dir: Path,
        logger: Any,
        history: LossHistory,
        evaluate: Evaluate | None,
    ) -> None:
        self.callbacks: list[pl.Callback] = [Snapshots(run_dir, int(cfg.snapshot_every)), history]
        if evaluate is not None:
            self.callbacks.append(evaluate)
        if logger:
            self.callbacks.append(LogMetrics())
        self.logger = logger
        self.loggers = [logger] if logger else []
        self.global_step = 0
        self.should_stop = False
        self.interrupted = False

    def train_start(self, module: pl.LightningModule) -> None:
        for callback in self.callbacks:
            callback.on_train_start(self, module)

    def batch_end(self, module: pl.LightningModule, step: int) -> None:
        """After the optimiser step ``step`` (0-based): the step count, then the callbacks."""
        self.global_step = step + 1
        for callback in self.callbacks:
            callback.on_train_batch_end(self, module, None, step, step)


@dataclass
class Problem:
    """A built run (``run.trainer`` is its :class:`ProblemTrainer`) and its optimiser."""

    index: int
    run: Run
    optimizer: torch.optim.Optimizer | None = None
    error: Exception | None = None
    stopped: bool = False

    @property
    def module(self):
        return self.run.module

    @property
    def live(self) -> bool:
        return not self.stopped and self.error is None


def features(extractor: nn.Module, images: Tensor, bf16: bool) -> dict[str, Tensor]:
    """The extractor's features of (N, 3, H, W) images, as ``StyleTransfer._features`` does."""
    if bf16:
        with torch.autocast(images.device.type, dtype=torch.bfloat16):
            feats = extractor(images)
        return {k: v.float() for k, v in feats.items()}
    return extractor(images)


def evaluate_batch(
    problems: dict[int, Problem], extractor: nn.Module, bf16: bool, indices: list[int]
) -> dict[int, dict[str, Tensor]]:
    """Losses of the problems ``indices`` at their current images, gradients in ``param.grad``.

    One forward over the stacked images; each problem's objective sees its own (1, C, H', W')
    slice of every layer and its own image (TV), exactly what it sees alone; the sum of the
    totals is differentiated, so each image's gradient is its own problem's. Each evaluation is
    kept for a recall (:mod:`nst_research.engine.recall`), as a single run keeps it.
    """
    with torch.enable_grad():
        modules = [problems[i].module for i in indices]
        images = [m.image for m in modules]
        feats = features(extractor, torch.cat(images), bf16)
        out: dict[int, dict[str, Tensor]] = {}
        total = images[0].new_zeros(())
        for j, (i, m) in enumerate(zip(indices, modules, strict=True)):
            own = {k: v[j : j + 1] for k, v in feats.items()}
            out[i] = m.objective(own, images[j])
            total = total + out[i][LOSS_TOTAL]
        total.backward()
    for i, m in zip(indices, modules, strict=True):
        m.last_evaluation.keep(m.param, _key(m, problems[i].run.trainer.global_step), out[i])
        m.evaluations["computed"] += 1
    return out


def _key(module, step: int) -> int | None:
    """What a recall depends on besides the image (``StyleTransfer.evaluate``)."""
    return int(step) if module.objective.redraws else None


def step_task(problem: Problem, lockstep: Lockstep, step: int) -> Callable[[], bool]:
    """The optimiser step ``step`` of one problem, as its thread runs it; returns whether the
    problem stops (it diverged). Mirrors ``StyleTransfer.training_step``, the loss evaluation
    asked of the batch."""
    module, opt = problem.module, problem.optimizer
    module.objective.set_step(step)  # random terms re-draw once per iteration
    captured: dict[str, Tensor] = {}

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        losses = module.last_evaluation.recall(module.param, _key(module, step))
        if losses is None:
            losses = lockstep.request(problem.index)
        else:
            module.evaluations["recalled"] += 1
        if not captured:  # the losses at the iterate the step starts from
            captured.update({k: v.detach() for k, v in losses.items()})
        return losses[LOSS_TOTAL]

    def task() -> bool:
        start = time.perf_counter()
        before = module.param.detach().clone()
        opt.step(closure=closure)
        return module.end_step(step, captured, before, start)

    return task
