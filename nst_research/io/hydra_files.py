"""Hydra's own files (``.hydra/`` config, hydra, overrides; a sweep's ``multirun.yaml``), written
through our atomic writer.

Hydra 1.3.8 writes them in ``hydra.core.utils.run_job`` with ``_save_config``: a plain
``open(..., "w")``, which a full disk leaves as 0-byte files and a traceback. :func:`install`
replaces that function (in the process that runs jobs: the CLI, and joblib's or submitit's
workers, which import the task's module first) by one that writes each file atomically and, on
a full disk or an unwritable dir, removes the job's ``.hydra/`` files it wrote and stops the job
with one line before the task runs.

The basic sweeper writes ``multirun.yaml`` with ``OmegaConf.save`` (``open(..., "w")``: truncated
first, then written, so a crash, a full disk or a reader in between sees a cut file).
:func:`install` gives ``hydra._internal.core_plugins.basic_sweeper`` an ``OmegaConf`` whose
``save`` writes atomically (:class:`_AtomicSave`); a full disk there is one line, no file left.
Hydra's plugin scan executes that module again (``exec_module`` on the loaded module) at start-up,
so ``ClaimDir.on_multirun_start`` installs again, just before the sweeper runs. A second sweep
into the same dir never gets to write it: ``ClaimDir`` refuses it first (its lock).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import hydra._internal.core_plugins.basic_sweeper as basic_sweeper
import hydra.core.utils as hydra_utils
from omegaconf import DictConfig, ListConfig, OmegaConf

from nst_research.errors import NSTError
from nst_research.io.files import write_text

_ORIGINAL = hydra_utils._save_config
_WRITTEN: list[Path] = []  # this job's .hydra files so far (config, hydra, overrides)


def save_config(cfg: DictConfig | ListConfig, filename: str, output_dir: Path) -> None:
    """Hydra's ``_save_config``, atomic; a full disk is one line (exit code 1), no file left."""
    dest = Path(output_dir) / filename
    if filename == "config.yaml":  # the first of the three: a new job
        _WRITTEN.clear()
    try:
        write_text(dest, OmegaConf.to_yaml(cfg))
    except NSTError as e:
        for path in _WRITTEN:
            path.unlink(missing_ok=True)
        for log in Path(output_dir).parent.glob("*.log"):  # Hydra's job log, still empty
            if log.stat().st_size == 0:
                log.unlink()
        try:
            Path(output_dir).rmdir()
        except OSError:
            pass
        print(f"error: {e}; the run did not start", file=sys.stderr)
        raise SystemExit(e.exit_code) from None
    _WRITTEN.append(dest)


class _AtomicSave:
    """``OmegaConf`` for the basic sweeper: the same, but ``save`` to a path is atomic."""

    def __getattr__(self, name: str) -> Any:
        return getattr(OmegaConf, name)

    @staticmethod
    def save(config: Any, f: str | os.PathLike[str] | IO[Any], resolve: bool = False) -> None:
        if not isinstance(f, str | os.PathLike):
            return OmegaConf.save(config, f, resolve=resolve)
        try:
            node = config if OmegaConf.is_config(config) else OmegaConf.create(config)
            write_text(Path(f), OmegaConf.to_yaml(node, resolve=resolve))
        except NSTError as e:
            print(f"error: {e}; the sweep did not start", file=sys.stderr)
            raise SystemExit(e.exit_code) from None
        return None


def install() -> None:
    """Make Hydra's job setup write ``.hydra/`` with :func:`save_config`, and the basic sweeper
    ``multirun.yaml`` with :class:`_AtomicSave` (idempotent)."""
    hydra_utils._save_config = save_config
    basic_sweeper.OmegaConf = _AtomicSave()  # type: ignore[assignment]
