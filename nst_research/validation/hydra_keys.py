"""Hydra's own settings that nst cannot honour, refused in one line before anything is written.

Each of these is accepted by Hydra and then silently breaks a record or a promise of nst:
``hydra.output_subdir`` other than ``.hydra`` (``nst resume=``, sweep resume and ``nst-report``
read a run's config from ``.hydra/``; ``null`` writes none), nst's own callbacks removed or
replaced (``claim_dir`` locks the run's dir: one directory, one run; ``sweep_summary`` gives a
sweep its summary line and exit code), a callback whose ``_target_`` cannot be imported (Hydra's
error is a page), ``hydra.job.chdir=true`` (nst reads relative paths from the dir it is started
in, and checks them there), a ``hydra.job.name`` that is no file name (Hydra's log file), and a
sweep's ``hydra.sweep.subdir`` that is the same for every job (each job's ``.hydra/`` would
overwrite the one before, and the next job is refused after that).
"""

from __future__ import annotations

import functools
import re

from omegaconf import DictConfig, OmegaConf

from nst_research.errors import ConfigError

OWN_CALLBACKS = ("claim_dir", "sweep_summary")  # their targets: as conf/config.yaml gives them
_PER_JOB = ("hydra.job.num", "hydra.job.id", "hydra.job.override_dirname")


def check_hydra(cfg: DictConfig, multirun: bool) -> None:
    """One line for a ``hydra.*`` setting nst cannot honour (see the module docstring)."""
    hc = cfg.hydra
    subdir = hc.get("output_subdir")
    if subdir != ".hydra":
        raise ConfigError(
            f"hydra.output_subdir={'null' if subdir is None else subdir}: nst keeps each run's config in .hydra/ (nst resume=, "
            "sweep resume and nst-report read it there); leave hydra.output_subdir as it is"
        )
    if hc.job.get("chdir"):
        raise ConfigError(
            "hydra.job.chdir=true is not supported: nst reads relative paths (content=, style=, "
            "...) from the dir it is started in, and writes to hydra.run.dir without changing dir"
        )
    name = str(hc.job.get("name") or "")
    if not name.strip() or "/" in name or name in (".", ".."):
        raise ConfigError(
            f"hydra.job.name={name!r} is not a file name (Hydra names the job's log file "
            "after it); give a name without '/'"
        )
    _check_callbacks(hc.get("callbacks") or {})
    raw = OmegaConf.to_container(hc.sweep, resolve=False).get("subdir")
    if multirun and not any(key in str(raw) for key in _PER_JOB):
        raise ConfigError(
            f"hydra.sweep.subdir={raw} is the same for every job: each would write into one dir "
            "(and rewrite the record of the one before); use ${hydra.job.num} (the default) or "
            "another value that differs per job"
        )


@functools.lru_cache(maxsize=1)
def own_callbacks() -> dict[str, str]:
    """nst's callbacks and their ``_target_``, from the shipped ``conf/config.yaml``."""
    from nst_research.configs.compose import CONF_DIR

    shipped = OmegaConf.load(f"{CONF_DIR}/config.yaml").hydra.callbacks
    return {key: str(shipped[key]._target_) for key in OWN_CALLBACKS}


def _check_callbacks(callbacks) -> None:
    from hydra._internal.utils import _locate

    for key, target in own_callbacks().items():
        node = callbacks.get(key)
        got = node.get("_target_") if isinstance(node, DictConfig) else node
        if got != target:
            raise ConfigError(
                f"hydra.callbacks.{key} is nst's own ({target}) and cannot be removed or "
                f"replaced (got {got}); add a callback of yours under another name: "
                f"+hydra.callbacks.mine._target_=my.module.MyCallback"
            )
    for key, node in callbacks.items():
        target = node.get("_target_") if isinstance(node, DictConfig) else None
        if target is None:
            raise ConfigError(
                f"hydra.callbacks.{key} must be a callback with a _target_ (got {node}); e.g. "
                f"+hydra.callbacks.{key}._target_=my.module.MyCallback"
            )
        try:
            _locate(str(target))
        except Exception as e:
            found = re.search(r"(\w+Error)\((['\"])(.*?)\2\)", str(e))
            why = f"{found[1]}: {found[3]}" if found else " ".join(str(e).split())
            raise ConfigError(
                f"hydra.callbacks.{key}._target_={target} cannot be imported ({why})"
            ) from None
