"""The environment users give the libraries we call, honoured or refused in one line.

W&B reads ``WANDB_MODE`` (``conf/logger/wandb.yaml`` takes ``logger.mode`` from it) and its cache,
config and data dirs (honoured: nst does not set them); it needs ``HOME`` (or those dirs), else it
writes ``.wandb_cache`` into the current dir and prints a page of log lines. ``WANDB_DIR`` is
honoured (a run's W&B files go under it, else into the run dir: :mod:`nst_research.tracking.
wandb_dir`); one that cannot be written is refused.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig

from nst_research.errors import ConfigError
from nst_research.tracking.wandb_dir import check_wandb_dir

# W&B's own dirs: set, they replace the ones under HOME
_WANDB_HOME_DIRS = ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR")


def uses_wandb(cfg: DictConfig) -> bool:
    logger = cfg.get("logger")
    target = str(logger.get("_target_", "")) if isinstance(logger, DictConfig) else ""
    return target.endswith("WandbLog") and str(logger.get("mode")) != "disabled"


def check_environment(cfg: DictConfig) -> None:
    """One line for an environment the run cannot honour."""
    if uses_wandb(cfg):
        check_wandb_dir()
        if not os.environ.get("HOME") and not all(os.environ.get(k) for k in _WANDB_HOME_DIRS):
            raise ConfigError(
                "HOME is not set, and W&B keeps its cache and settings under it; set HOME "
                f"(or {', '.join(_WANDB_HOME_DIRS)}), or run without W&B (logger=csv or "
                "logger=none)"
            )
