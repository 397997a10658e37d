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
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    GlobalHydra.instance().clear()
    configs: list[DictConfig] = []
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            for ov in override_lists:
                try:
                    configs.append(hydra_compose(config_name="config", overrides=list(ov)))
                except (NSTError, HydraException, OmegaConfBaseException):
                    raise
                except Exception as e:  # Hydra's own bugs on odd values, e.g. optimizer=[1,2]
                    overrides = " ".join(ov)
                    raise ConfigError(f"cannot compose the config from {overrides!r}: {e}") from e
    except NSTError:
        raise
    except Exception as e:  # Hydra's override / config errors: one line
        raise ConfigError(" ".join(str(e).split())) from e
    finally:
        GlobalHydra.instance().clear()
    return configs


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``nst <overrides>`` would run."""
    return compose_many([overrides])[0]
