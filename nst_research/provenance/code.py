"""The code a run ran: the git commit of the checkout (and whether it had local changes) and
the versions of the package and its main dependencies."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from nst_research import __version__

REPO = Path(__file__).resolve().parents[2]


def git_commit() -> dict[str, Any]:
    """The commit of the checkout this package runs from, and whether it has local changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        status = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def versions() -> dict[str, str]:
    import pytorch_lightning as pl

    return {
        "nst_research": __version__,
        "torch": torch.__version__,
        "pytorch_lightning": pl.__version__,
        "python": platform.python_version(),
    }
