"""What a W&B run is called, grouped under and tagged with.

- name: the swept keys of a sweep (every override of a single run), ``key=value`` with the last
  part of a dotted key and the file name of a path: ``style_weight=100,seed=1``, never an
  absolute path;
- group: the preset (``+ablation=pooling`` -> ``pooling``) or the sweep dir's name, plus the date:
  ``pooling-2026-12-06``, ``trust_a-2026-12-06``; a default sweep dir (``multirun/<date>/<time>``)
  gives ``<date>-<time>``; a single run without a preset has no group;
- tags: ``task:<kind>``, ``method:<name>`` (when the config has a ``method`` key) and
  ``<preset group>:<preset>``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

PRESET_GROUPS = ("ablation", "search", "experiment", "method")  # +group=NAME presets
SKIPPED = ("hydra.", "logger.", "name")  # placement and logging, not what the run is
_TIME = re.compile(r"^\d\d-\d\d-\d\d")


def short_value(value: str) -> str:
    """A path's file name (``/a/b/tubingen.jpg`` -> ``tubingen.jpg``); other values as they are."""
    if "/" in value or "\\" in value:
        return PurePath(value.strip("'\"")).name or value
    return value


def split(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def run_name(overrides: Sequence[str], swept: Sequence[str] | None = None) -> str:
    """``k=v,k=v`` of the swept keys (all keys when ``swept`` is None): short keys, file names."""
    pairs = [split(o) for o in overrides]
    pairs = [(k, v) for k, v in pairs if not k.startswith(SKIPPED) and k != "name"]
    if swept is not None:
        pairs = [(k, v) for k, v in pairs if k in swept]
    lasts = [k.rsplit(".", 1)[-1] for k, _ in pairs]
    words = [
        f"{last if lasts.count(last) == 1 else key}={short_value(v)}"
        for (key, v), last in zip(pairs, lasts, strict=True)
    ]
    return ",".join(words) or "default"


def swept_keys(sweep_overrides: Sequence[str]) -> list[str]:
    """The keys a sweep's command sweeps (``k=a,b``, ``k=range(...)``, ``k=choice(...)``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(sweep_overrides))
    return [o.get_key_element().lstrip("+~") for o in parsed if o.is_sweep_override()]


def presets(choices: Mapping[str, Any]) -> dict[str, str]:
    """The preset groups chosen (``{"ablation": "pooling"}``) from Hydra's runtime choices."""
    return {g: str(choices[g]) for g in PRESET_GROUPS if choices.get(g) not in (None, "null")}


def group_name(
    chosen: Mapping[str, str], sweep_dir: Path | None, today: dt.date | None = None
) -> str | None:
    """The preset, else the sweep dir's name, plus the date; None for a single run, no preset."""
    date = (today or dt.date.today()).isoformat()
    if chosen:
        return f"{'+'.join(chosen.values())}-{date}"
    if sweep_dir is None:
        return None
    if _TIME.match(sweep_dir.name):  # multirun/<date>/<time>: the date is the parent's name
        return f"{sweep_dir.parent.name}-{sweep_dir.name}"
    return f"{sweep_dir.name}-{date}"


def run_tags(task: str, method: str | None, chosen: Mapping[str, str]) -> list[str]:
    """``task:<kind>``, ``method:<name>`` if any, and one ``<group>:<preset>`` per preset."""
    tags = [f"task:{task}"]
    tags += [f"method:{method}"] if method else []
    tags += [f"{g}:{p}" for g, p in chosen.items() if g != "method"]
    return tags


def read_sweep_overrides(sweep_dir: Path) -> list[str] | None:
    """The sweep command's overrides from ``<sweep_dir>/multirun.yaml`` (Hydra writes it first)."""
    import yaml

    try:
        saved = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())
        return [str(o) for o in saved["hydra"]["overrides"]["task"]]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None


def identity(cfg: Any, hc: Any, multirun: bool) -> tuple[str, str | None, list[str]]:
    """The W&B run name, group and tags of a Hydra job (``hc``: its ``HydraConfig``)."""
    from omegaconf import OmegaConf

    chosen = presets(hc.runtime.choices)
    sweep_dir = Path(hc.sweep.dir) if multirun else None
    swept = None
    if sweep_dir is not None and (sweep := read_sweep_overrides(sweep_dir)) is not None:
        swept = swept_keys(sweep)
    name = cfg.name or run_name(list(hc.overrides.task), swept)
    method = OmegaConf.select(cfg, "method", default=None)
    method = chosen.get("method") or (method if isinstance(method, str) else None)
    tags = run_tags(str(cfg.task.kind), method, chosen)
    # the method is a tag, not the group: it is chosen by default and swept across one sweep
    grouping = {g: p for g, p in chosen.items() if g != "method"}
    return name, group_name(grouping, sweep_dir), tags
