"""Structured-config schema of the top-level keys, and the config groups.

Hydra type-checks the top-level keys against :class:`NSTSchema` at compose time (``size=abc``
fails there); :mod:`nst_research.configs.checks` checks what a schema cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class NSTSchema:
    model: Any = None
    layers: Any = None
    loss: Any = None
    style_loss: Any = None
    optimizer: Any = None
    init: Any = None
    logger: Any = None
    trainer: Any = None
    task: Any = None
    eval: Any = None
    colour: Any = None
    schedule: Any = None
    param: Any = None
    content_loss: Any = None
    method: Any = None
    content: str = "builtin:grace_hopper"
    style: Any = "builtin:swirls"  # a path, or a list of paths (several styles)
    size: int = 256
    style_scale: float = 1.0
    iterations: int = 300
    seed: int | None = 0
    snapshot_every: int = 100
    name: str | None = None
    checkpoint: str = "interrupt"
    objective: str | None = None
    resume: str | None = None
    style_blend: Any = None  # weights of a style list
    masks: Any = None  # spatial control: masks.content + masks.colours, or masks.files


# The config groups (conf/<group>/*.yaml) a run needs; the CLI checks choices against them.
GROUPS = (
    "model",
    "layers",
    "loss",
    "style_loss",
    "optimizer",
    "init",
    "logger",
    "trainer",
    "task",
    "eval",
    "colour",
    "schedule",
    "param",
    "content_loss",
    "method",
)
LIST_GROUPS = ("eval",)  # chosen as lists: eval=[style,ssim] (eval=[] for none)
OPTIONAL_GROUPS = ("method",)  # absent from configs recorded before they existed (resume)


def register() -> None:
    ConfigStore.instance().store(name="nst_schema", node=NSTSchema)
