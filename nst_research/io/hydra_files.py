"""Hydra's own ``.hydra/`` files (config, hydra, overrides), written through our atomic writer.

Hydra 1.3.8 writes them in ``hydra.core.utils.run_job`` with ``_save_config``: a plain
``open(..., "w")``, which a full disk leaves as 0-byte files and a traceback. :func:`install`
replaces that function (in the process that runs jobs: the CLI, and joblib's or submitit's
workers, which import the task's module first) by one that writes each file atomically and, on
a full disk or an unwritable dir, removes the job's ``.hydra/`` files it wrote and stops the job
with one line before the task runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def install() -> None:
    """Make Hydra's job setup write ``.hydra/`` with :func:`save_config` (idempotent)."""
    hydra_utils._save_config = save_config
