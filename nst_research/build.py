"""Build a run from a composed config: the only place that instantiates configs.

:func:`check` instantiates what the config chooses (loss terms, init, logger, optimiser) and so
checks every option with a one-line error before any work; :func:`load_inputs` reads and sizes
the images; :func:`build_module` loads the frozen extractor and makes the LightningModule;
:func:`build` adds the run directory, logger, callbacks and Trainer. ``nst_research.run.fit``
trains what :func:`build` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from nst_research import edges
from nst_research.callbacks import Evaluate, LogMetrics, LossBar, LossHistory, Snapshots
from nst_research.colour import KeepColour
from nst_research.config import masks_on, style_weights, validate
from nst_research.errors import ConfigError, NSTError
from nst_research.features import PREPROCESSING, build_extractor, default_preprocessing
from nst_research.files import as_nst_error
from nst_research.inputs import Inputs, load_inputs, use_gpu
from nst_research.metrics import Scorer, parse_objective
from nst_research.module import StyleTransfer
from nst_research.names import (
    EVAL_CONTENT_RATIO,
    EVAL_STYLE_RATIO,
    LOSS_CONTENT,
    LOSS_STYLE,
    LOSS_TOTAL,
    LOSS_TV,
)
from nst_research.provenance import environment_record, write_environment
from nst_research.resume import check_hashes
from nst_research.schedules import Single, Stage, stage_at
from nst_research.styles import StyleSet
from nst_research.terms import FeatureLoss, Objective


def _instantiate(node: Any, key: str) -> Any:
    """``hydra.utils.instantiate`` with its errors as one line (the term's own one if it has one)."""
    try:
        return instantiate(node)
    except MissingMandatoryValue as e:
        raise ConfigError(f"{e.full_key} must be set (e.g. {e.full_key}=...)") from None
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, NSTError):
            raise cause from None
        raise ConfigError(f"{key}: {' '.join(str(cause or e).split())}") from e


@dataclass
class Parts:
    """What the config chooses, instantiated and checked (no images or weights yet)."""

    content_layers: dict[str, float]
    style_layers: dict[str, float]
    objective: Objective
    init: Callable[..., torch.Tensor]
    logger: Callable[..., Any]
    optimizer: Callable[..., Any]
    seed: int
    colour: KeepColour = field(default_factory=KeepColour)
    eval: dict[str, Any] = field(default_factory=dict)
    objective_weights: dict[str, float] = field(default_factory=dict)
    schedule: Any = field(default_factory=Single)
    stages: list[Stage] = field(default_factory=list)


def check(cfg: DictConfig) -> Parts:
    """Validate a composed config and instantiate its choices; every problem is one line."""
    content_layers, style_layers = validate(cfg)
    if cfg.trainer.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            "trainer=gpu needs a usable CUDA GPU and torch finds none here; use trainer=cpu"
        )
    loss = cfg.loss
    objective = Objective(
        content_layers,
        style_layers,
        content_term=_instantiate(loss.content_term, "loss.content_term"),
        style_term=style_term(cfg),
        tv_term=_instantiate(loss.tv_term, "loss.tv_term"),
        content_weight=loss.content_weight,
        style_weight=loss.style_weight,
        tv_weight=loss.tv_weight,
    )
    seed = int(cfg.seed) if cfg.seed is not None else int(torch.seed() % 2**31)
    objective.reseed(seed)  # terms that draw at random (sliced_wasserstein, mmd) draw from it
    optimizer = _instantiate(cfg.optimizer, "optimizer")
    optimizer([torch.nn.Parameter(torch.zeros(1))])  # its settings are checked when it is built
    metrics = {str(k): _instantiate(v, f"eval.{k}") for k, v in (cfg.get("eval") or {}).items()}
    known = [key for m in metrics.values() for key in m.keys]
    known += [LOSS_TOTAL, LOSS_CONTENT, LOSS_STYLE, LOSS_TV]
    # runs recorded before schedules existed have no schedule key: one stage
    schedule = _instantiate(cfg.schedule, "schedule") if cfg.get("schedule") else Single()
    stages = schedule.stages(int(cfg.size), int(cfg.iterations))
    return Parts(
        content_layers=content_layers,
        style_layers=style_layers,
        objective=objective,
        init=_instantiate(cfg.init, "init"),
        logger=_instantiate(cfg.logger, "logger"),
        optimizer=optimizer,
        seed=seed,
        colour=_instantiate(cfg.colour, "colour"),
        eval=metrics,
        objective_weights=parse_objective(cfg.get("objective") or default_objective(known), known),
        schedule=schedule,
        stages=stages,
    )


def style_term(cfg: DictConfig) -> FeatureLoss:
    """The configured style loss; for several styles or masks, a :class:`StyleSet` of copies."""
    term = _instantiate(cfg.style_loss, "style_loss")
    weights, guided = style_weights(cfg), masks_on(cfg.get("masks"))
    return StyleSet(term, weights, guided) if len(weights) > 1 or guided else term


def default_objective(known: list[str]) -> str:
    """``objective=null``: the sum of the style and content ratios if they are computed, else the
    total loss (``eval=[]``)."""
    wanted = (EVAL_STYLE_RATIO, EVAL_CONTENT_RATIO)
    return " + ".join(wanted) if all(k in known for k in wanted) else LOSS_TOTAL


def apply_fast_gpu(module: StyleTransfer, trainer_cfg: DictConfig | dict) -> None:
    """The GPU fast path: cuDNN autotuning, TF32 convolutions and matmuls, channels_last."""
    edges.gpu_backend_flags(trainer_cfg)
    if trainer_cfg.get("channels_last", True):
        module.extractor.to(memory_format=torch.channels_last)


def build_module(cfg: DictConfig, parts: Parts, inputs: Inputs) -> tuple[StyleTransfer, str]:
    """The frozen extractor (its weights' hash) and the module holding the image."""
    extractor, weights_hash = build_extractor(
        parts.objective.layers(),
        arch=cfg.model.arch,
        weights=str(cfg.model.weights),
        pooling=cfg.model.pooling,
        allow_download=bool(cfg.model.allow_download),
    )
    prep = cfg.model.preprocessing
    preprocess = PREPROCESSING[
        default_preprocessing(str(cfg.model.weights)) if prep == "auto" else prep
    ]
    module = StyleTransfer(
        extractor=extractor,
        preprocess=preprocess,
        content=inputs.stages[0].content,  # the first stage's (a schedule's smallest)
        style=inputs.stages[0].styles,
        init=inputs.init.clamp(0, 1),
        objective=parts.objective,
        optimizer=parts.optimizer,
        bf16=bool(cfg.trainer.get("bf16", False)),
        shown=_shown(parts.colour, inputs),
        later=inputs.stages[1:],
        upsample_mode=parts.schedule.upsample,
    )
    if inputs.masks is not None:
        parts.objective.style.set_masks(inputs.masks)
    if use_gpu(cfg):
        apply_fast_gpu(module, cfg.trainer)
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
        max_steps=int(cfg.iterations),
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
        edges.warn(
            f"iterations={iterations} ends in the schedule's stage {reached + 1} of "
            f"{len(stages)} ({stages[reached].size} px): the last stage ({last.size} px) starts "
            f"at step {last.start}, so final.png is {stages[reached].size} px (resume with more "
            "iterations to go on)"
        )


def build(
    cfg: DictConfig,
    run_dir: Path,
    run_name: str = "default",
    group: str | None = None,
    resume_from: Path | None = None,
) -> Run:
    """Check the config, load images and weights, then create the run dir, logger and Trainer.

    Nothing is written before every check has passed. ``resume_from``: a ``checkpoint.ckpt`` of
    an earlier run of the same config (``fit`` goes on from it).
    """
    t_start = time.perf_counter()
    parts = check(cfg)
    run_dir = Path(run_dir)
    if (run_dir / "final.png").exists():
        raise ConfigError(f"{run_dir} already holds a finished run; choose another hydra.run.dir")
    pl.seed_everything(parts.seed, workers=False, verbose=False)
    _warn_short_schedule(parts.stages, int(cfg.iterations))
    inputs = load_inputs(cfg, parts)
    module, weights_hash = build_module(cfg, parts, inputs)
    provenance = {
        "seed": parts.seed,
        "task": str(cfg.task.kind),
        "hashes": {**inputs.hashes, "weights": weights_hash},
        "git": edges.git_commit(),
        "inputs": inputs.paths,
        "image_size": list(inputs.size),
        "resumed_from": str(resume_from) if resume_from else None,
        "versions": edges.versions(),
        "environment": environment_record(module.device),  # + environment.txt, below
    }
    if len(inputs.stages) > 1:  # schedule=pyramid: each stage's image size and first step
        provenance["stages"] = [
            {"start": s.start, "image_size": list(s.content.shape[-2:])} for s in inputs.stages
        ]
    if resume_from is not None:  # the same images and weights as the run it goes on from
        check_hashes(resume_from, provenance["hashes"])
    make_run_dir(run_dir)
    write_environment(run_dir)
    logger = parts.logger(run_dir, run_name, group, str(cfg.task.kind))
    history = LossHistory()
    shown = (inputs.shown_content, inputs.shown_style)
    scorer = Scorer(*shown, parts.eval) if parts.eval else None
    evaluate = Evaluate(scorer, int(cfg.snapshot_every)) if scorer else None
    trainer = _trainer(cfg, run_dir, logger, history, evaluate)
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
