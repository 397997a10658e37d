"""What a config chooses, instantiated and checked: the first half of building a run.

:func:`check` instantiates every choice (backbone, loss terms, init, logger, optimiser, metrics,
schedule, parametrisation), so each bad option is one line before any image or weight is read,
and derives each value the run needs once (GPU use, style weights, GPU flags). The result,
:class:`Parts`, holds plain values and built objects: nothing after it reads the config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from omegaconf import DictConfig

from nst_research.backbones.base import Backbone
from nst_research.configs.checks import check_config, instantiate_choice, masks_on, optimises
from nst_research.configs.names import (
    EVAL_CONTENT_RATIO,
    EVAL_STYLE_RATIO,
    LOSS_CONTENT,
    LOSS_STYLE,
    LOSS_TOTAL,
    LOSS_TV,
)
from nst_research.controls.colour import KeepColour
from nst_research.controls.styles import StyleSet
from nst_research.errors import ConfigError
from nst_research.evaluation.metrics import parse_objective
from nst_research.loss.terms import FeatureLoss, Objective
from nst_research.methods.addons import addons_of
from nst_research.methods.averaging import check_carried
from nst_research.optimisation.schedules import Single, Stage
from nst_research.params.base import Parametrisation
from nst_research.params.pixels import Pixels


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
    backbone: Backbone | None = None
    gpu: bool = False  # trainer=gpu (checked usable)
    gpu_flags: dict[str, bool] = field(default_factory=dict)  # cudnn_benchmark, tf32, channels_last
    bf16: bool = False
    param: Parametrisation = field(default_factory=Pixels)
    style_weights: list[float] = field(default_factory=list)


def check(cfg: DictConfig) -> Parts:
    """Validate a composed config and instantiate its choices; every problem is one line."""
    checked = check_config(cfg)
    content_layers, style_layers = checked.content, checked.style
    gpu = use_gpu(cfg.trainer)
    if cfg.trainer.accelerator in ("gpu", "cuda") and not gpu:
        raise ConfigError(
            "trainer=gpu needs a usable CUDA GPU and torch finds none here; use trainer=cpu"
        )
    loss = cfg.loss
    objective = Objective(
        content_layers,
        style_layers,
        content_term=instantiate_choice(cfg.content_loss, "content_loss"),
        style_term=style_term(cfg, checked.style_weights),
        tv_term=instantiate_choice(loss.tv_term, "loss.tv_term"),
        content_weight=loss.content_weight,
        style_weight=loss.style_weight,
        tv_weight=loss.tv_weight,
        addons=addons_of(loss),
        normalise=bool(loss.get("normalise", False)),
        to_rgb=checked.backbone.preprocess.inverse if checked.backbone is not None else None,
    )
    seed = int(cfg.seed) if cfg.seed is not None else int(torch.seed() % 2**31)
    objective.reseed(seed)  # terms that draw at random (sliced_wasserstein, mmd) draw from it
    optimizer = instantiate_choice(cfg.optimizer, "optimizer")
    probe = optimizer([torch.nn.Parameter(torch.zeros(1))])  # its settings are checked when built
    metrics = {
        str(k): instantiate_choice(v, f"eval.{k}") for k, v in (cfg.get("eval") or {}).items()
    }
    texture = str(cfg.task.kind) == "texture"  # no content image: content metrics mean nothing
    metrics = {k: m for k, m in metrics.items() if not (texture and getattr(m, "needs_content", 0))}
    known = [key for m in metrics.values() for key in m.keys]
    known += [LOSS_TOTAL, LOSS_CONTENT, LOSS_STYLE, LOSS_TV]
    # runs recorded before schedules existed have no schedule key: one stage
    schedule = instantiate_choice(cfg.schedule, "schedule") if cfg.get("schedule") else Single()
    stages = schedule.stages(int(cfg.size), int(cfg.iterations))
    check_carried(probe.optimizer, getattr(schedule, "warm_start", False))
    if len(stages) > 1 and not optimises(cfg):
        raise ConfigError(f"method={cfg.method.name} does not optimise: use schedule=none")
    return Parts(
        content_layers=content_layers,
        style_layers=style_layers,
        objective=objective,
        init=instantiate_choice(cfg.init, "init"),
        logger=instantiate_choice(cfg.logger, "logger"),
        optimizer=optimizer,
        seed=seed,
        colour=instantiate_choice(cfg.colour, "colour"),
        eval=metrics,
        objective_weights=parse_objective(
            cfg.get("objective") or default_objective(known, texture), known
        ),
        schedule=schedule,
        stages=stages,
        backbone=checked.backbone,
        style_weights=checked.style_weights,
        gpu=gpu,
        gpu_flags={k: bool(cfg.trainer.get(k, True)) for k in GPU_FLAGS},
        bf16=bool(cfg.trainer.get("bf16", False)),
        param=instantiate_choice(cfg.param, "param"),
    )


GPU_FLAGS = ("cudnn_benchmark", "tf32", "channels_last")  # trainer keys, each on by default


def use_gpu(trainer_cfg: DictConfig | dict) -> bool:
    """Whether the run computes on a CUDA GPU (``trainer=gpu`` and one is usable)."""
    return trainer_cfg.get("accelerator") in ("gpu", "cuda") and torch.cuda.is_available()


def style_term(cfg: DictConfig, weights: list[float]) -> FeatureLoss:
    """The configured style loss; for several styles or masks, a :class:`StyleSet` of copies."""
    term = instantiate_choice(cfg.style_loss, "style_loss")
    guided = masks_on(cfg.get("masks"))
    if getattr(term, "whole", False) and (len(weights) > 1 or guided):
        if not hasattr(term, "set_styles"):
            raise ConfigError(
                f"style_loss {type(term).__name__} takes one style and no masks; use remd"
            )
        term.set_styles(weights, guided)  # hypercolumns: styles and regions in the term itself
        return term
    return StyleSet(term, weights, guided) if len(weights) > 1 or guided else term


def default_objective(known: list[str], texture: bool = False) -> str:
    """``objective=null``: the sum of the style and content ratios if they are computed, else the
    total loss (``eval=[]``); for ``task=texture``, the style ratio if computed."""
    if texture and EVAL_STYLE_RATIO in known:
        return EVAL_STYLE_RATIO
    wanted = (EVAL_STYLE_RATIO, EVAL_CONTENT_RATIO)
    return " + ".join(wanted) if all(k in known for k in wanted) else LOSS_TOTAL
