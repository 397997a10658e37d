"""Hydra's and OmegaConf's errors (several lines, a hint about HYDRA_FULL_ERROR) as one line with
the fix: an unknown key names the close match, a wrong type the type, a duplicate ``+`` the plain
form."""

from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

from nst_research.validation.overrides import did_you_mean

_TYPES = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false"}


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while e is not None and e not in out:
        out.append(e)
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return out


def one_line(e: BaseException, cfg: DictConfig | None) -> str:
    """One line for a compose or override error of Hydra or OmegaConf."""
    from omegaconf.errors import (
        ConfigAttributeError,
        ConfigKeyError,
        OmegaConfBaseException,
        ValidationError,
    )

    chain = _chain(e)
    text = " ".join(str(e).split())
    if "Available options" in str(e):  # Hydra's missing config: name the options
        head, options = re.split(r"Available options[^:]*:", str(e), maxsplit=1)
        names = ", ".join(options.split("Config search path")[0].split())
        return f"{' '.join(head.split())}; choose one of: {names}"
    m = re.search(r"An item is already at '([^']+)'", text)
    if m:
        return f"{m.group(1)} already exists: set it without the + ({m.group(1)}=...)"
    for err in chain:
        if not isinstance(err, OmegaConfBaseException):
            continue
        full_key = getattr(err, "full_key", None) or ""
        if isinstance(err, ConfigKeyError | ConfigAttributeError) and full_key:
            return unknown_key(full_key, cfg)
        if isinstance(err, ValidationError) and full_key:
            msg = str(getattr(err, "msg", err)).splitlines()[0]
            want = re.search(r"converted to (\w+)", msg)
            kind = _TYPES.get(want.group(1), want.group(1)) if want else "another type"
            value = re.search(r"Value '(.*)' of type", msg)
            shown = value.group(1) if value else "this value"
            return f"{full_key}={shown!r} must be {kind} (set {full_key}=<{kind}>)"
        return f"{full_key + ': ' if full_key else ''}{str(err).splitlines()[0]}"
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return " ".join(first.split())


def unknown_key(full_key: str, cfg: DictConfig | None) -> str:
    """``unknown key 'style_wieght' in loss (did you mean loss.style_weight?); its keys: ...``."""
    parent_key, _, name = full_key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, default=None) if cfg is not None else None
    if parent_key and not isinstance(parent, DictConfig):
        return f"unknown key {full_key!r}: the config has no {parent_key}"
    node = parent if parent_key else cfg
    keys = [str(k) for k in node if not str(k).startswith("_") and k != "hydra"] if node else []
    where = f" in {parent_key}" if parent_key else ""
    hint = did_you_mean(name, keys, f"{parent_key}." if parent_key else "")
    listed = f"; its keys: {', '.join(keys)}" if keys else ""
    return f"unknown key {name!r}{where}{hint}{listed}"
