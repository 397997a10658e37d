"""The checks of ``nst``'s command line that need no composed config: group options, top-level
keys and values, group keys, and where the run goes. Each returns one line or None; the CLI
(:mod:`nst_research.cli`) and the preflight (:mod:`.preflight`) call them before Hydra writes
anything."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from nst_research.configs.compose import CONF_DIR as _CONF_DIR
from nst_research.configs.compose import group_options, user_config_dirs
from nst_research.configs.schema import GROUPS, LIST_GROUPS, NSTSchema
from nst_research.validation.overrides import did_you_mean

CONF_DIR = str(_CONF_DIR)
# Flags after which nothing runs and nothing is written (help, printing the config).
NO_RUN = {"-h", "--help", "--hydra-help", "--version", "-c", "--cfg", "-i", "--info",
           "-sc", "--shell-completion"}  # fmt: skip


def check_group_choices(argv: list[str]) -> str | None:
    """One line for a group override naming no option of that group (before Hydra prints more)."""
    dirs = user_config_dirs(argv)
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or key not in GROUPS:
            continue
        options = group_options(key, dirs)
        if key in LIST_GROUPS:  # eval=[style,ssim], or a sweep of lists: [style],[ssim]
            value = value.replace("[", "").replace("]", "")
        for choice in value.split(","):
            if key in LIST_GROUPS and not choice.strip():
                continue
            if choice.strip() not in options:
                return f"unknown {key} {choice.strip()!r}; choose one of: {', '.join(options)}"
    return None


_TOP_LEVEL = {f.name: f.type for f in dataclasses.fields(NSTSchema)}
_NUMBERS = {
    "size": int,
    "iterations": int,
    "snapshot_every": int,
    "seed": int,
    "style_scale": float,
}


def check_top_level_values(argv: list[str]) -> str | None:
    """One line for an unknown top-level key or a top-level number that is not one.

    Hydra reports these at compose time in several lines (the override, OmegaConf's message, the
    full key, a hint about HYDRA_FULL_ERROR); this says the same in one, with the fix. Sweep
    functions (``range(...)``), interpolations and anything with a prefix are left to Hydra.
    """
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key.startswith(("+", "~", "-")) or "." in key or "/" in key:
            continue
        if key not in _TOP_LEVEL and key not in GROUPS and key != "hydra":
            known = [k for k in _TOP_LEVEL if k not in GROUPS]
            hint = did_you_mean(key, [*known, *GROUPS])
            return (
                f"unknown key {key!r}{hint}; top-level keys are: {', '.join(known)} "
                f"(config groups: {', '.join(GROUPS)})"
            )
        kind = _NUMBERS.get(key)
        if kind is None or any(c in value for c in "()[]{}$"):
            continue
        for item in value.split(","):
            item = item.strip()
            if key == "seed" and item in ("null", "None", ""):
                continue
            try:
                kind(item)
            except ValueError:
                noun = "an integer" if kind is int else "a number"
                example = {"size": 256, "iterations": 300, "snapshot_every": 100, "seed": 0}
                return f"{key}={item!r} must be {noun} (e.g. {key}={example.get(key, 1.0)})"
    return None


@functools.lru_cache(maxsize=256)
def _group_keys(group: str, option: str) -> list[str] | None:
    """The keys of ``conf/<group>/<option>.yaml``, with those of the same-group configs it extends
    (its ``defaults`` list); keys starting with ``_`` (``_target_``) are not for users."""
    path = Path(CONF_DIR) / group / f"{option}.yaml"
    if not path.is_file():
        return None
    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig):
        return None
    keys = [str(k) for k in node.keys() if k != "defaults" and not str(k).startswith("_")]
    for base in node.get("defaults", []):
        if isinstance(base, str) and base != "_self_":
            keys += [k for k in _group_keys(group, base) or [] if k not in keys]
    return keys


@functools.lru_cache(maxsize=1)
def _defaults():
    return OmegaConf.load(Path(CONF_DIR) / "config.yaml").defaults


def _preset_choices(method: str) -> dict[str, str]:
    """The group options a ``method=`` preset selects (its ``override /group: option`` lines)."""
    path = Path(CONF_DIR) / "method" / f"{method}.yaml"
    node = OmegaConf.load(path) if path.is_file() else None
    out: dict[str, str] = {}
    for item in node.get("defaults", []) if isinstance(node, DictConfig) else []:
        if isinstance(item, DictConfig):
            for key, option in item.items():
                group = str(key).removeprefix("override").strip().lstrip("/").split("@")[0]
                out[group] = str(option)
    return out


def check_group_keys(argv: list[str]) -> str | None:
    """One line for ``group.key=value`` naming a key the chosen option of that group lacks.

    The option is the one chosen on the command line, else by the ``method=`` preset(s), else the
    default of ``conf/config.yaml``.
    Skipped when a ``+name=...`` config is appended (an ablation preset may change the options)
    and for ``init`` when a task is chosen (tasks set their own init).
    """
    if any(a.startswith("+") and "=" in a and "." not in a.partition("=")[0] for a in argv):
        return None
    defaults = _defaults()
    chosen: dict[str, list[str]] = {}
    for item in defaults:
        if isinstance(item, DictConfig):
            for group, option in item.items():
                chosen[str(group)] = [str(option)]
    given = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in GROUPS:
            given[key] = [v.strip() for v in value.split(",")]
    task_given = "task" in given
    presets = [_preset_choices(m) for m in given.get("method", chosen.get("method", []))]
    for group in {g for p in presets for g in p}:  # a sweep of methods: each one's option
        chosen[group] = list(dict.fromkeys(p.get(group, chosen[group][0]) for p in presets))
    chosen.update(given)
    for arg in argv:
        key, sep, _ = arg.partition("=")
        if not sep or key.startswith(("+", "~", "-")) or "." not in key:
            continue
        group, _, rest = key.partition(".")
        name = rest.split(".")[0].split("[")[0]
        if (
            group not in GROUPS
            or group in ("task", *LIST_GROUPS)
            or (group == "init" and task_given)
        ):
            continue
        for option in chosen.get(group, []):
            keys = _group_keys(group, option)
            if keys is not None and name not in keys:
                hint = did_you_mean(name, keys, f"{group}.")
                return (
                    f"unknown key {name!r} in {group}={option}{hint}; its keys: {', '.join(keys)}"
                )
    return None


def check_run_dir(argv: list[str]) -> str | None:
    """One line when the run cannot go where it is told, refused before Hydra writes ``.hydra/``:
    ``hydra.run.dir=`` names a finished run, a file, or an unwritable place (read-only, no
    permission); the sweep dir likewise (its job dirs are numbered by the sweeper). Also a
    ``resume=`` command that cannot run (:func:`nst_research.engine.resume.check_args`)."""
    from nst_research.engine.resume import check_args
    from nst_research.io.files import unwritable

    multirun = any(a in ("-m", "--multirun") or a == "hydra.mode=MULTIRUN" for a in argv)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    place = "multirun" if multirun else "outputs"  # the default dirs, under the current dir
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name == key:
            place = value
        if sep and name == "hydra.run.dir" and not multirun:
            if (Path(value).expanduser() / "final.png").exists():
                return (
                    f"{value} already holds a finished run; choose another hydra.run.dir "
                    "(or go on from it with resume=" + value + " in a new dir)"
                )
    if any(a.partition("=")[0] in NO_RUN for a in argv):  # --help, --cfg job: nothing written
        return check_args(argv)
    return check_args(argv) or unwritable(place, key)
