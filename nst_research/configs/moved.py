"""Reading the configs of runs made by older versions: modules that moved, by their old names.

A run records its resolved config with each ``_target_``; a run recorded before the package was
split into subpackages names the old flat modules (``nst_research.style_losses.MMDLoss``).
:func:`upgrade_targets` rewrites those to where the classes live now, so old runs still resume.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig

# old module -> new module (the classes kept their names)
MOVED = {
    "nst_research.colour": "nst_research.controls.colour",
    "nst_research.content_losses": "nst_research.loss.content",
    "nst_research.edges": "nst_research.tracking.loggers",
    "nst_research.inits": "nst_research.optimisation.inits",
    "nst_research.metrics": "nst_research.evaluation.metrics",
    "nst_research.optim": "nst_research.optimisation.optimizers",
    "nst_research.schedules": "nst_research.optimisation.schedules",
    "nst_research.style_losses": "nst_research.loss.style",
    "nst_research.sweeps": "nst_research.tracking.sweeps",
    "nst_research.terms": "nst_research.loss.terms",
}


def moved_target(target: str) -> str:
    """``target`` with its module renamed if it moved; anything else unchanged."""
    module, _, name = target.rpartition(".")
    return f"{MOVED[module]}.{name}" if module in MOVED else target


def upgrade_targets(node: Any) -> None:
    """Rewrite every moved ``_target_`` in a config tree, in place."""
    if isinstance(node, DictConfig | dict):
        for key in list(node.keys()):
            value = node[key]
            if key == "_target_" and isinstance(value, str):
                node[key] = moved_target(value)
            else:
                upgrade_targets(value)
    elif isinstance(node, ListConfig | list):
        for item in node:
            upgrade_targets(item)
