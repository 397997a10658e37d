"""Compose configs as the ``nst`` command does (Hydra's compose API): the one compose helper.

Figures, the benchmark and the tests compose through :func:`compose`; the CLI composes through
``@hydra.main`` on the same :data:`CONF_DIR` and experiments search path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from nst_research.errors import ConfigError, NSTError

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"
EXPERIMENTS_DIR = REPO / "experiments"


def compose_many(override_lists: Sequence[Sequence[str]]) -> list[DictConfig]:
    """``conf/config.yaml`` composed with each override list; Hydra's errors become one line."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from nst_research.config import register

    os.environ.setdefault("NST_EXPERIMENTS_DIR", str(EXPERIMENTS_DIR))
    register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return [
                hydra_compose(config_name="config", overrides=list(ov)) for ov in override_lists
            ]
    except NSTError:
        raise
    except Exception as e:  # Hydra's override / config errors: one line
        raise ConfigError(" ".join(str(e).split())) from e
    finally:
        GlobalHydra.instance().clear()


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``nst <overrides>`` would run."""
    return compose_many([overrides])[0]
