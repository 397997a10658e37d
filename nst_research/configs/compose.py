"""Where the configs live, and composing them as the ``nst`` command does: the one compose helper.

Figures, the benchmark, the Python API and the tests compose through :func:`compose`; the CLI
composes through ``@hydra.main`` on the same :data:`CONFIG_PATH` and search path.

Where the configs are found (the one place that decides it):

- in a checkout (``make install``'s editable install, or ``PYTHONPATH``): ``conf/`` and
  ``experiments/`` beside the package, as files, so an edit shows at once;
- installed from a wheel: the same files, which the wheel carries as the package data
  ``nst_research/conf`` and ``nst_research/experiments`` (``pyproject.toml`` maps them from the
  top-level folders), found through Hydra's package search path (``pkg://nst_research.conf``).

Hydra's search path then holds, in order: ``$NST_CONFIG_DIR`` (your own config dir, for the CLI
and the Python API: adds groups and options and overrides those of the same name; put there by
``hydra_plugins/nst_config_dir``), the configs, the presets (``experiments/``: ``+ablation=NAME``,
``+search=NAME``) and ``--config-dir DIR`` (CLI only; Hydra 1.3 puts it last, so it adds options
but cannot override one).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from nst_research.errors import ConfigError, NSTError

PACKAGE = Path(__file__).resolve().parents[1]  # nst_research/
REPO = PACKAGE.parent
# A checkout has conf/config.yaml beside the package; an installed wheel has no such folder (REPO is
# then site-packages/..), and carries the configs inside the package instead.
CHECKOUT = (REPO / "conf" / "config.yaml").is_file()
CONF_DIR = REPO / "conf" if CHECKOUT else PACKAGE / "conf"
EXPERIMENTS_DIR = REPO / "experiments" if CHECKOUT else PACKAGE / "experiments"
CONFIG_PATH = str(CONF_DIR) if CHECKOUT else "pkg://nst_research.conf"
PRESETS_PATH = f"file://{EXPERIMENTS_DIR}" if CHECKOUT else "pkg://nst_research.experiments"


def set_search_path() -> None:
    """``NST_PRESETS``, which ``conf/config.yaml``'s ``hydra.searchpath`` reads: where the presets
    are (set before composing; ``$NST_CONFIG_DIR`` is put on the path by the search-path plugin
    ``hydra_plugins/nst_config_dir``)."""
    os.environ["NST_PRESETS"] = PRESETS_PATH


def user_config_dirs(argv: Sequence[str] = ()) -> list[Path]:
    """The config dirs a command composes from, first wins: ``$NST_CONFIG_DIR``, ``conf/``,
    ``--config-dir`` (``-cd``) (for the CLI's pre-checks, which read the options from the files)."""
    dirs = (
        [Path(os.environ["NST_CONFIG_DIR"]).expanduser()]
        if os.environ.get("NST_CONFIG_DIR")
        else []
    )
    dirs.append(CONF_DIR)
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]).expanduser())
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.partition("=")[2]).expanduser())
    return dirs


def group_files(group: str, dirs: Sequence[Path] | None = None) -> dict[str, Path]:
    """``{option: file}`` of a config group: the stems of ``<dir>/<group>/*.yaml`` over ``dirs``
    (default: :func:`user_config_dirs`, so ``$NST_CONFIG_DIR``'s options count), the first dir
    winning, sorted by option. The one place that lists a group's options from the files."""
    found: dict[str, Path] = {}
    for d in user_config_dirs() if dirs is None else dirs:
        for path in sorted((d / group).glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def group_options(group: str, dirs: Sequence[Path] | None = None) -> list[str]:
    """The options of a config group, sorted (``group_options("style_loss")``: gram, ...)."""
    return list(group_files(group, dirs))


def compose_many(override_lists: Sequence[Sequence[str]]) -> list[DictConfig]:
    """``conf/config.yaml`` composed with each override list; Hydra's errors become one line."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from nst_research.configs.schema import register

    set_search_path()
    register()
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    GlobalHydra.instance().clear()
    configs: list[DictConfig] = []
    init = (
        initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")
        if CHECKOUT
        else initialize_config_module(config_module="nst_research.conf", version_base="1.3")
    )
    try:
        with init:
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
