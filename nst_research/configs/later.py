"""Keys added to existing config nodes after runs were recorded without them.

Each key's value here is the one that reproduces how a run recorded before the key existed ran
(the constructor's default, which the code falls back to when the key is absent). A recorded
config that lacks such a key is the same config as one that has it at that value: a figure's
``--reuse`` keeps such a run, and only such a run.
"""

from __future__ import annotations

from typing import Any

LATER_KEYS: dict[str, Any] = {
    "loss.normalise": False,
    "schedule.last_lr": 1.0,
    "schedule.detail": False,
    "schedule.final_pass": False,
}


def _drop(tree: dict, dotted: str) -> None:
    *path, leaf = dotted.split(".")
    for key in path:
        tree = tree.get(key) if isinstance(tree, dict) else None
        if not isinstance(tree, dict):
            return
    tree.pop(leaf, None)


def _get(tree: Any, dotted: str) -> tuple[bool, Any]:
    for key in dotted.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return False, None
        tree = tree[key]
    return True, tree


def same_config(old: dict, new: dict) -> bool:
    """Whether a recorded config ``old`` is ``new`` (plain nested dicts), a key of
    :data:`LATER_KEYS` missing from ``old`` counting as its value there."""
    new = _copy(new)
    for key, neutral in LATER_KEYS.items():
        had, _ = _get(old, key)
        has, value = _get(new, key)
        same_kind = isinstance(value, bool) == isinstance(neutral, bool)  # True is not 1.0
        if not had and has and same_kind and value == neutral:
            _drop(new, key)
    return old == new


def _copy(tree: Any) -> Any:
    return {k: _copy(v) for k, v in tree.items()} if isinstance(tree, dict) else tree
