""":func:`run_batch`: several jobs' configs in, each job's run directory and metrics out.

Each job is checked and built as a single run (:func:`nst_research.engine.build.build`: its run dir,
logger, images, module and callbacks) around one shared extractor; the problems whose images have
the same size are optimised together (:mod:`nst_research.batched.lockstep`), and each one's
outputs are written by :func:`nst_research.run.finish`, the single run's writer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from nst_research.batched.checkpoint import save_problem_checkpoint
from nst_research.batched.lockstep import Lockstep
from nst_research.batched.problems import Problem, ProblemTrainer, evaluate_batch, step_task
from nst_research.engine import process, signals
from nst_research.engine.build import build
from nst_research.engine.memory import reset_peak
from nst_research.engine.parts import Parts, check
from nst_research.engine.status import RunStatus
from nst_research.run import RunFailed, _wants_checkpoint, finish


@dataclass
class Job:
    """One job of a batch: its config, run dir, and W&B run name and group."""

    cfg: DictConfig
    run_dir: Path
    run_name: str = "default"
    group: str | None = None


Result = dict[str, Any] | BaseException


def run_batch(jobs: Sequence[Job]) -> list[Result]:
    """Run the jobs as batched problems; each job's ``metrics.json`` contents, or its error.

    A job whose config or inputs fail its checks fails alone (its error is its result); the
    others go on. The jobs must share what :mod:`nst_research.batched.keys` requires (backbone,
    optimiser kind and settings, trainer); images of different sizes go in separate batches.
    """
    results: list[Result | None] = [None] * len(jobs)
    parts: dict[int, Parts] = {}
    for i, job in enumerate(jobs):
        try:
            parts[i] = check(job.cfg)
        except Exception as e:
            results[i] = e
    if parts:
        first = parts[min(parts)]
        try:
            with process.run_settings(jobs[min(parts)].cfg.trainer):
                problems = _build(jobs, parts, results)
                for group in _by_size(problems):
                    results_of = _fit(group, first.bf16)
                    for p in group:
                        results[p.index] = results_of[p.index]
        except Exception as e:  # the batch's own failure (its extractor): each job left fails
            results = [e if r is None else r for r in results]
    return results  # type: ignore[return-value]


def _build(jobs: Sequence[Job], parts: dict[int, Parts], results: list) -> list[Problem]:
    """Every checked job built around one extractor (of the union of their layers)."""
    first = parts[min(parts)]
    layers = list(dict.fromkeys(name for p in parts.values() for name in p.objective.layers()))
    shared = first.backbone.extractor(layers)
    device = torch.device("cuda" if first.gpu else "cpu")
    problems = []
    for i, p in parts.items():
        job = jobs[i]
        try:
            run = build(
                job.cfg, job.run_dir, job.run_name, job.group, None, p,
                extractor=shared, make_trainer=ProblemTrainer,
            )  # fmt: skip
        except Exception as e:
            results[i] = e
            continue
        run.module.to(device)
        problems.append(Problem(i, run))
    return problems


def _by_size(problems: list[Problem]) -> list[list[Problem]]:
    """The problems grouped by image size (a stack needs one), in order of appearance."""
    groups: dict[tuple[int, ...], list[Problem]] = {}
    for p in problems:
        groups.setdefault(tuple(p.module.param.shape), []).append(p)
    return list(groups.values())


def _fit(problems: list[Problem], bf16: bool) -> dict[int, Result]:
    """Optimise the problems together; write each one's outputs; each one's metrics or error."""
    reset_peak(problems[0].module.device)
    t_fit = time.perf_counter()
    interrupted = False
    try:
        with signals.interrupts():
            _optimise(problems, bf16)
    except KeyboardInterrupt:
        interrupted = True
    except Exception as e:  # a failure of the batch itself: each problem still running fails
        for p in problems:
            p.error = p.error or (e if p.live else None)
    fit_s = time.perf_counter() - t_fit
    results: dict[int, Result] = {}
    for p in problems:
        module = p.module
        # fit_time_s is the batch's wall time, shared by its problems: the record says so
        p.run.provenance["batch"] = {"size": len(problems), "position": problems.index(p)}
        if p.error is not None:
            module.status = RunStatus.FAILED
        elif module.status is RunStatus.RUNNING:
            module.status = RunStatus.INTERRUPTED if interrupted else RunStatus.COMPLETED
        results[p.index] = _finish(p, fit_s)
    if interrupted:
        raise KeyboardInterrupt
    return results


def _optimise(problems: list[Problem], bf16: bool) -> None:
    """The optimisation loop: one lockstep round of optimiser steps per iteration."""
    extractor = problems[0].module.extractor
    by_index = {p.index: p for p in problems}
    lockstep = Lockstep(partial(evaluate_batch, by_index, extractor, bf16))
    for p in problems:
        try:
            p.optimizer = p.module.configure_optimizers()
            p.module.on_fit_start()  # the content and style targets
            p.run.trainer.train_start(p.module)
        except Exception as e:  # this problem fails alone
            p.error = e
        p.stopped = int(p.run.cfg.iterations) <= 0
    step = 0
    bar = _progress_bar(problems)
    while live := [p for p in problems if p.live]:
        # A signal waits for the round to end (KeyboardInterrupt then): every problem stops
        # after a whole step, its image, optimiser state and step count agreeing (a checkpoint).
        with signals.signals_deferred():
            out = lockstep.run({p.index: step_task(p, lockstep, step) for p in live})
            for p in live:
                stop = out[p.index]
                if isinstance(stop, BaseException):
                    p.error = stop if isinstance(stop, Exception) else RuntimeError(repr(stop))
                    continue
                p.run.trainer.batch_end(p.module, step)
                p.stopped = bool(stop) or step + 1 >= int(p.run.cfg.iterations)
        step += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(
                live=sum(p.live for p in problems), failed=sum(bool(p.error) for p in problems)
            )
    if bar is not None:
        bar.close()


def _progress_bar(problems: list[Problem]):
    """One bar for the batch (steps of its longest problem), when its jobs ask for a bar."""
    if not any(bool(p.run.cfg.trainer.progress_bar) for p in problems):
        return None
    from tqdm import tqdm

    height, width = problems[0].module.image.shape[-2:]  # one size a batch
    total = max(int(p.run.cfg.iterations) for p in problems)
    desc = f"batch of {len(problems)} ({width}x{height} px)"
    return tqdm(total=total, desc=desc, unit="step", leave=True)


def _finish(problem: Problem, fit_s: float) -> Result:
    """A single run's outputs (:func:`nst_research.run.finish`); its error as ``fit`` gives it."""
    run, error = problem.run, problem.error
    saving = None
    try:
        with signals.signals_deferred():
            if _wants_checkpoint(str(run.cfg.checkpoint), run.module.status):
                saving = save_problem_checkpoint(problem, run.run_dir / "checkpoint.ckpt")
            metrics = finish(run, fit_s, error)
    except Exception as e:  # a full disk, an unwritable dir: one line naming the place
        return e
    if saving is not None:  # the checkpoint's disk error, once the other outputs are written
        return saving
    if error is not None:
        failed = RunFailed(
            f"the run failed after {metrics['iterations']} iterations ({metrics['error']}); "
            f"its record and last image are in {run.run_dir}"
        )
        failed.__cause__ = error
        return failed
    return metrics
