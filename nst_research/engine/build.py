"""Build a run from a composed config: :func:`build` is the last step that reads it.

:func:`nst_research.engine.parts.check` instantiates what the config chooses and checks every
option with a one-line error before any work; :func:`read_inputs` reads and sizes the images;
:func:`build_module` loads the frozen extractor and makes the LightningModule; :func:`build` adds
the run directory, logger, callbacks and Trainer. ``nst_research.run.fit`` trains what
:func:`build` returns; below this module nothing reads the config: it gets plain values and built
objects. (Two other places instantiate a config node: ``configs.checks.instantiate_choice``, which
``check`` calls for every choice, and ``engine.resume``, which instantiates a recorded run's
schedule to pin its stages.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from nst_research.configs.checks import (
    masks_on,
    optimises,
    style_list,
)
from nst_research.controls.colour import KeepColour
from nst_research.engine import process
from nst_research.engine.callbacks import Evaluate, LogMetrics, LossBar, LossHistory, Snapshots
from nst_research.engine.inputs import Inputs, InputSettings, load_inputs
from nst_research.engine.module import StyleTransfer
from nst_research.engine.parts import Parts, check
from nst_research.engine.resume import check_hashes
from nst_research.errors import ConfigError, warn
from nst_research.evaluation.metrics import Scorer
from nst_research.io.files import as_nst_error
from nst_research.optimisation.schedules import Stage, stage_at
from nst_research.provenance import code, environment_record, write_environment
from nst_research.tracking.artifacts import use_inputs


def apply_fast_gpu(module: StyleTransfer, flags: DictConfig | dict) -> None:
    """The GPU fast path: cuDNN autotuning, TF32 convolutions and matmuls (process flags, set
    here only; ``process.run_settings`` restores them after the run), channels_last weights."""
    process.gpu_backend_flags(flags)
    if flags.get("channels_last", True):
        module.extractor.to(memory_format=torch.channels_last)


def read_inputs(cfg: DictConfig, parts: Parts) -> Inputs:
    """The run's images (:func:`nst_research.engine.inputs.load_inputs`) from the config's values."""
    masks = cfg.get("masks")
    history = cfg.optimizer.get("history_size", 0) or 0
    spec = InputSettings(
        content=str(cfg.content),
        styles=style_list(cfg.style),
        size=int(cfg.size),
        style_scale=float(cfg.style_scale),
        masks=OmegaConf.to_container(masks, resolve=True) if masks_on(masks) else None,
        init_path=cfg.init.get("path") or None,
        history_size=int(history),
        device=torch.device("cuda" if parts.gpu else "cpu"),
        backbone=parts.backbone,
        objective=parts.objective,
        stages=parts.stages,
        colour=parts.colour,
        init=parts.init,
        seed=parts.seed,
        texture=str(cfg.task.kind) == "texture",
        style_weights=parts.style_weights,
    )
    return load_inputs(spec)


def build_module(
    parts: Parts, inputs: Inputs, extractor: tuple[torch.nn.Module, str] | None = None
) -> tuple[StyleTransfer, str]:
    """The frozen extractor (its weights' hash) and the module holding the image.

    ``extractor``: one already built, and its hash (batched problems share one); None: built here.
    """
    backbone = parts.backbone
    extractor, weights_hash = extractor or backbone.extractor(parts.objective.layers())
    module = StyleTransfer(
        extractor=extractor,
        preprocess=backbone.preprocess,
        content=inputs.stages[0].content,  # the first stage's (a schedule's smallest)
        style=inputs.stages[0].styles,
        init=inputs.init.clamp(0, 1),
        objective=parts.objective,
        optimizer=parts.optimizer,
        bf16=parts.bf16,
        shown=_shown(parts.colour, inputs),
        later=inputs.stages[1:],
        upsample_mode=parts.schedule.upsample,
        param=parts.param,
        ema=getattr(parts.schedule, "ema", None),
        warm_start=getattr(parts.schedule, "warm_start", False),
        content_decay=getattr(parts.schedule, "content_decay", 1.0),
        last_lr=getattr(parts.schedule, "last_lr", 1.0),
        detail=getattr(parts.schedule, "detail", False),
    )
    if inputs.masks is not None:
        parts.objective.style.set_masks(inputs.masks)
    if parts.gpu:
        apply_fast_gpu(module, parts.gpu_flags)
    return module, weights_hash


def _shown(colour: KeepColour, inputs: Inputs) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """What the module's ``rgb()`` shows: the colour control's output (None: the image itself)."""
    if type(colour) is KeepColour:
        return None
    content = inputs.shown_content

    def shown(image: torch.Tensor) -> torch.Tensor:
        if image.shape[-2:] != content.shape[-2:]:  # an earlier stage of a schedule
            small = F.interpolate(content, size=image.shape[-2:], mode="bilinear", antialias=True)
            return colour.output(image, small)
        return colour.output(image, content)

    return shown


def make_run_dir(run_dir: Path) -> None:
    """Create the run dir; a file in the way or an unwritable place is one line."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        nice = as_nst_error(e, run_dir / "metrics.json", None)
        if nice is None:
            raise
        raise nice from e


RUN_FILES = ("metrics.json", "checkpoint.ckpt", "losses.csv", "eval.csv", "snapshots")


@dataclass
class Run:
    """Everything :func:`nst_research.run.fit` needs; built by :func:`build`."""

    cfg: DictConfig
    run_dir: Path
    module: StyleTransfer
    trainer: pl.Trainer
    logger: Any
    history: LossHistory
    evaluate: Evaluate | None
    objective_weights: dict[str, float]
    provenance: dict[str, Any]
    resume_from: Path | None
    t_start: float


def _trainer(
    cfg: DictConfig, run_dir: Path, logger: Any, history: LossHistory, evaluate: Evaluate | None
) -> pl.Trainer:
    callbacks: list[pl.Callback] = [Snapshots(run_dir, int(cfg.snapshot_every)), history]
    if evaluate is not None:
        callbacks.append(evaluate)
    if logger:
        callbacks.append(LogMetrics())
    if cfg.trainer.progress_bar:
        callbacks.append(LossBar())
    return pl.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        precision=cfg.trainer.precision,
        max_steps=int(cfg.iterations) if optimises(cfg) else 0,  # method=ghiasi2017: 0
        max_epochs=-1,
        logger=logger,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=bool(cfg.trainer.progress_bar),
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        default_root_dir=str(run_dir),
    )


def _warn_short_schedule(stages: list[Stage], iterations: int) -> None:
    """One line when ``iterations`` ends before the schedule's last stage."""
    last = stages[-1]
    if len(stages) > 1 and iterations <= last.start:
        reached = stage_at(stages, max(0, iterations - 1))
        warn(
            f"iterations={iterations} ends in the schedule's stage {reached + 1} of "
            f"{len(stages)} ({stages[reached].size} px): the last stage ({last.size} px) starts "
            f"at step {last.start}, so final.png is {stages[reached].size} px (resume with more "
            "iterations to go on)"
        )


def check_run_dir_free(run_dir: Path) -> None:
    """A one-line error if ``run_dir`` holds a finished run or another run's files."""
    if (run_dir / "final.png").exists():
        raise ConfigError(f"{run_dir} already holds a finished run; choose another hydra.run.dir")
    left = [n for n in RUN_FILES if (run_dir / n).exists()]  # a killed or failed run's (API runs)
    if left:
        raise ConfigError(
            f"{run_dir} already holds another run's files ({', '.join(left)}); "
            "choose another hydra.run.dir"
        )


def run_provenance(
    cfg: DictConfig,
    parts: Parts,
    inputs: Inputs,
    module: StyleTransfer,
    weights_hash: str,
    group: str | None,
    resume_from: Path | None,
) -> dict[str, Any]:
    """What ``metrics.json`` records of where the run came from (seed, hashes, code, machine)."""
    provenance: dict[str, Any] = {
        "seed": parts.seed,
        "task": str(cfg.task.kind),
        "hashes": {**inputs.hashes, "weights": weights_hash},
        "git": code.git_commit(),
        "inputs": inputs.paths,
        "image_size": list(inputs.size),
        "resumed_from": str(resume_from) if resume_from else None,
        "group": group,  # the W&B group (nst-report --wandb logs the sweep's report into it)
        "versions": code.versions(),
        "environment": environment_record(module.device),  # + environment.txt, below
    }
    if getattr(parts.init, "record", None):  # init=feedforward: its backend and seconds
        provenance["feedforward"] = parts.init.record
    if len(inputs.stages) > 1:  # schedule=pyramid: each stage's image size and first step
        provenance["stages"] = [
            {"start": s.start, "image_size": list(s.content.shape[-2:])}
            | ({"final": True} if s.final else {})
            for s in inputs.stages
        ]
    return provenance


def build(
    cfg: DictConfig,
    run_dir: Path,
    run_name: str = "default",
    group: str | None = None,
    resume_from: Path | None = None,
    parts: Parts | None = None,
    extractor: tuple[torch.nn.Module, str] | None = None,
    make_trainer: Callable[..., Any] | None = None,
) -> Run:
    """Check the config, load images and weights, then create the run dir, logger and Trainer.

    Nothing is written before every check has passed. ``resume_from``: a ``checkpoint.ckpt`` of
    an earlier run of the same config (``fit`` goes on from it). ``parts``: :func:`check`'s result
    if the caller has it already. ``extractor``, ``make_trainer``: a shared extractor (see
    :func:`build_module`) and a stand-in for :func:`_trainer`'s signature (batched problems).
    """
    t_start = time.perf_counter()
    parts = parts if parts is not None else check(cfg)
    run_dir = Path(run_dir)
    check_run_dir_free(run_dir)
    pl.seed_everything(parts.seed, workers=False, verbose=False)
    _warn_short_schedule(parts.stages, int(cfg.iterations))
    inputs = read_inputs(cfg, parts)
    module, weights_hash = build_module(parts, inputs, extractor)
    provenance = run_provenance(cfg, parts, inputs, module, weights_hash, group, resume_from)
    if resume_from is not None:  # the same images and weights as the run it goes on from
        check_hashes(resume_from, provenance["hashes"])
    make_run_dir(run_dir)
    write_environment(run_dir)
    logger = parts.logger(run_dir, run_name, group, str(cfg.task.kind))
    use_inputs(logger, inputs.paths, inputs.hashes)  # W&B lineage: the images the run used
    history = LossHistory()
    shown = (inputs.shown_content, inputs.shown_style)
    scorer = Scorer(*shown, parts.eval) if parts.eval else None
    evaluate = Evaluate(scorer, int(cfg.snapshot_every)) if scorer else None
    trainer = (make_trainer or _trainer)(cfg, run_dir, logger, history, evaluate)
    if logger:
        resolved = OmegaConf.to_container(cfg, resolve=True)
        logger.log_hyperparams({**resolved, "provenance": provenance})
    return Run(
        cfg=cfg,
        run_dir=run_dir,
        module=module,
        trainer=trainer,
        logger=logger,
        history=history,
        evaluate=evaluate,
        objective_weights=parts.objective_weights,
        provenance=provenance,
        resume_from=resume_from,
        t_start=t_start,
    )
