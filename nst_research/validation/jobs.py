"""Every job of a command, composed as Hydra will compose it and checked before any starts.

A sweep is expanded as its sweeper will expand it (Hydra's basic sweeper: the product of the
choices, with ``hydra.sweeper.params`` of presets; ``nst_optuna``: every categorical choice and both
ends of every interval, one parameter at a time). Each job is composed like Hydra's config loader
does: the defaults list from the group overrides (cached: a sweep over values composes once), then
the value overrides applied in struct mode by Hydra's own ``_apply_overrides_to_config``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from nst_research.errors import ConfigError, NSTError
from nst_research.validation.overrides import did_you_mean, parse
from nst_research.validation.translate import one_line

# Composed defaults and group look-ups, per config files (their paths, sizes and times) and group
# overrides: a sweep over values composes once; so do repeated checks in one process (tests).
_CACHE: dict[tuple, Any] = {}


def _files_signature() -> tuple:
    import os

    from nst_research.configs.compose import CONF_DIR, EXPERIMENTS_DIR, user_config_dirs

    out: list = [os.environ.get("NST_CONFIG_DIR"), os.environ.get("NST_PRESETS")]
    for d in {*user_config_dirs(), CONF_DIR, EXPERIMENTS_DIR}:
        files = sorted(Path(d).rglob("*.yaml")) if Path(d).is_dir() else []
        out += [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files]
    return tuple(sorted(map(str, out)))


class Composer:
    """Hydra's config loader on nst's config, with the composed defaults cached per group choice."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.signature = _files_signature()
        self.repo: Any = None

    def is_group(self, ov: Any) -> bool:
        key = (self.signature, "group", ov.key_or_group)
        if key not in _CACHE:
            if self.repo is None:  # with the primary config's hydra.searchpath (the presets)
                try:
                    _, self.repo = self.loader._parse_overrides_and_create_caching_repo(
                        "config", []
                    )
                except Exception as e:
                    raise ConfigError(one_line(e, None)) from None
            _CACHE[key] = bool(self.repo.group_exists(ov.key_or_group))
        return _CACHE[key]

    def base(self, group_overrides: Sequence[str]) -> DictConfig:
        from hydra.types import RunMode

        key = (self.signature, "base", *group_overrides)
        if key not in _CACHE:
            try:
                _CACHE[key] = self.loader.load_configuration(
                    config_name="config", overrides=list(group_overrides), run_mode=RunMode.RUN
                )
            except NSTError:
                raise
            except Exception as e:
                raise ConfigError(one_line(e, None)) from None
        return _CACHE[key]

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        """The config (with its ``hydra`` node) that ``nst <overrides>`` runs."""
        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        parsed = parse(overrides)
        groups = [ov.input_line for ov in parsed if self.is_group(ov)]
        values = [ov for ov in parsed if not self.is_group(ov)]
        cfg = copy.deepcopy(self.base(groups))
        check_additions(values, cfg)
        try:
            ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        except Exception as e:
            raise ConfigError(one_line(e, cfg)) from None
        return cfg


@contextmanager
def composer() -> Iterator[Composer]:
    """A :class:`Composer` on nst's configs and search path (as ``nst`` and ``compose()``)."""
    from hydra import initialize_config_dir, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from nst_research.configs.compose import CHECKOUT, CONF_DIR, set_search_path
    from nst_research.configs.schema import register

    set_search_path()
    register()
    GlobalHydra.instance().clear()
    init = (
        initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")
        if CHECKOUT
        else initialize_config_module(config_module="nst_research.conf", version_base="1.3")
    )
    try:
        with init:
            yield Composer(GlobalHydra.instance().config_loader())
    finally:
        GlobalHydra.instance().clear()


def check_additions(values: list, cfg: DictConfig) -> None:
    """``+a.b.c=v`` adds key ``c`` to ``a.b``: refused unless ``a.b`` is a constructor's arguments
    (it has a ``_target_``, so the constructor checks the name); elsewhere nothing reads it. Under
    ``hydra``, a key is added only to a node that takes any key (:func:`_free_form`: ``env_set``,
    ``callbacks``, the logging configs, ``sweeper.params``); Hydra's own schema nodes (``hydra``,
    ``hydra.run``, ``hydra.job``, the launcher's, the sweeper's) read none that they lack."""
    for ov in values:
        key = ov.key_or_group
        if not ov.is_add() or "." not in key:
            continue
        hydra = key.startswith("hydra.")
        parent_key, _, name = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key, default=None)
        if parent is None and _is_null(cfg, parent_key):  # OmegaConf: "Unexpected type for root"
            how = "in a config file" if hydra else f"({parent_key}=...)"
            if parent_key.endswith("sweeper.params"):
                how += f" (to sweep {name}, give {name}=... with -m)"
            raise ConfigError(
                f"{ov.input_line!r} adds a key under {parent_key}, which is null here: set "
                f"{parent_key} as a whole {how}"
            )
        if hydra and _free_form(cfg, key):
            continue
        if not hydra and isinstance(parent, DictConfig) and "_target_" in parent:
            continue
        if not isinstance(parent, DictConfig):
            top = key.split(".")[0] if not hydra else parent_key
            known = [str(k) for k in cfg if k != "hydra"]
            hint = did_you_mean(top, known) if not hydra else ""
            raise ConfigError(f"unknown key {key!r}: the config has no {parent_key}{hint}")
        keys = [str(k) for k in parent if not str(k).startswith("_")]
        hint = did_you_mean(name, keys, f"{parent_key}.")
        reader = "Hydra does not read" if hydra else "nothing reads"
        listed = f"{parent_key}'s keys are: {', '.join(keys)}" if keys else f"{parent_key} has none"
        raise ConfigError(f"{ov.input_line!r} adds a key {reader}{hint}; {listed}")


def _is_null(cfg: DictConfig, key: str) -> bool:
    """Whether ``key`` exists in ``cfg`` with the value null (not merely absent)."""
    parent_key, _, name = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, default=None) if parent_key else cfg
    if not isinstance(parent, DictConfig) or name not in parent:
        return False
    node = parent._get_node(name)
    return node is not None and node._is_none()


def _free_form(cfg: DictConfig, key: str) -> bool:
    """Whether the nearest node above ``key`` that exists (or is declared) takes any key: a plain
    dict (``hydra.job.env_set``, ``hydra.callbacks``), not a dataclass schema (``hydra.run``)."""
    from omegaconf._utils import is_dict_annotation

    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        node = OmegaConf.select(cfg, ".".join(parts[:i]), default=None)
        if isinstance(node, DictConfig):
            return OmegaConf.get_type(node) is dict
        holder = OmegaConf.select(cfg, ".".join(parts[: i - 1])) if i > 1 else cfg
        if isinstance(holder, DictConfig) and parts[i - 1] in holder:  # declared, None now
            ref = holder._get_node(parts[i - 1])._metadata.ref_type  # e.g. sweeper.params
            args = [a for a in getattr(ref, "__args__", ()) if a is not type(None)]
            return is_dict_annotation(ref) or any(is_dict_annotation(a) for a in args)
    return False


def job_overrides(comp: Composer, overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override list of every job ``nst [-m] <overrides>`` launches."""
    parsed = parse(overrides)
    sweeps = [ov for ov in parsed if ov.is_sweep_override()]
    groups = [ov.input_line for ov in parsed if not ov.is_sweep_override() and comp.is_group(ov)]
    hc = comp.base(groups).hydra
    multirun = multirun or str(hc.mode) == "RunMode.MULTIRUN" or hc.mode == "MULTIRUN"
    if not multirun:
        if sweeps:
            ov = sweeps[0]
            raise ConfigError(
                f"{ov.input_line!r} is a sweep (several values): add -m to run them all "
                f"(nst -m ...), or quote a value that holds a comma (\"{ov.key_or_group}='a,b'\")"
            )
        return [list(overrides)]
    for ov in sweeps:  # Hydra refuses these once it has started: say so first, with the fix
        if ov.is_hydra_override():
            raise ConfigError(hydra_sweep_line(ov.input_line))
    target = str(hc.sweeper.get("_target_", ""))
    params = [f"{k}={v}" for k, v in (hc.sweeper.get("params") or {}).items()]
    if target.endswith("BasicSweeper"):
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        try:
            batches = BasicSweeper.split_arguments(parse([*params, *overrides], comp.loader), None)
        except Exception as e:
            if "INTERVAL_SWEEP" in str(e):
                raise ConfigError(
                    "interval(...) is a range to search, and Hydra's basic sweeper only lists "
                    "values: search it with hydra/sweeper=nst_optuna (or +search=NAME), or list "
                    "values (key=1,2,3 or key=range(1,4))"
                ) from None
            raise ConfigError(one_line(e, None)) from None
        jobs = [job for batch in batches for job in batch]
        if not jobs:
            raise ConfigError("the sweep has no jobs (an empty range or choice); nothing to run")
        return jobs
    if target.endswith("NSTOptunaSweeper"):
        return optuna_jobs([*params, *overrides])
    return [[ov.input_line for ov in parsed if not ov.is_sweep_override()]]


def hydra_sweep_line(arg: str) -> str:
    """One line for a sweep over a ``hydra.*`` key (Hydra does not sweep its own config)."""
    key, _, value = arg.lstrip("+~").partition("=")
    inner = key.split("hydra.sweeper.params.", 1)[1] if "sweeper.params." in key else None
    fix = (
        f"sweep the key itself ({inner}={value}), or list it under hydra.sweeper.params in "
        "a preset file (as experiments/ablation/*.yaml do)"
        if inner
        else "set one value per command, or sweep the run's own keys"
    )
    return f"{arg!r} sweeps Hydra's own config, which Hydra does not do; {fix}"


def optuna_jobs(arguments: list[str]) -> list[list[str]]:
    """Jobs at every categorical choice and at both ends of every range, one key at a time."""
    from optuna.distributions import CategoricalDistribution

    from hydra_plugins.nst_optuna_sweeper._space import parse_search_space

    try:
        space = parse_search_space(arguments)
    except NSTError:
        raise
    except Exception as e:
        raise ConfigError(f"the search space: {one_line(e, None)}") from None
    corners: dict[str, list[Any]] = {}
    for key, dist in space.distributions.items():
        if isinstance(dist, CategoricalDistribution):
            corners[key] = list(dist.choices)
        else:
            corners[key] = [dist.low, dist.high]
    first = {k: v[0] for k, v in corners.items()}
    jobs = [space.overrides(first)]
    for key, values in corners.items():
        for value in values[1:]:
            jobs.append(space.overrides({**first, key: value}))
    return jobs


def strip_hydra(cfg: DictConfig) -> DictConfig:
    """The job's config as the task function gets it (without the ``hydra`` node; in place)."""
    with read_write(cfg), open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg
