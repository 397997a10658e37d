"""Where W&B writes a run's files: ``$WANDB_DIR`` when the user sets it, else the run's own dir.

W&B itself reads ``WANDB_DIR`` only when ``wandb.init`` gets no ``dir``; nst always passes one
(Lightning's ``save_dir``), so without this the user's setting would be silently overridden.
Either way W&B puts its files in ``<dir>/wandb/`` (``offline-run-*``, ``latest-run``); the run's
other records (``final.png``, ``metrics.json``) stay in the run dir.
"""

from __future__ import annotations

import os
from pathlib import Path

from nst_research.errors import ConfigError


def wandb_dir(default: str | os.PathLike[str]) -> Path:
    """``$WANDB_DIR`` (``~`` expanded) when set and not empty, else ``default``."""
    value = os.environ.get("WANDB_DIR", "").strip()
    return Path(value).expanduser() if value else Path(default)


def check_wandb_dir() -> None:
    """A ``$WANDB_DIR`` that cannot be written is refused in one line (W&B would fall back to a
    temp dir, and the run's W&B files would be lost with it)."""
    from nst_research.io.files import unwritable

    value = os.environ.get("WANDB_DIR", "").strip()
    if not value:
        return
    problem = unwritable(value, "WANDB_DIR")
    if problem:
        raise ConfigError(f"{problem} (or unset it: W&B's files then go into the run dir)")
