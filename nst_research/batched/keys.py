"""Which jobs of a sweep can share a batch, and how many fit in memory.

Jobs share a batch when their configs are equal except in the :data:`BATCHABLE` keys: what each
problem of a batch keeps for itself (its images, seed, init, loss and layer weights, objective,
iteration count, records). The backbone, loss definitions, optimiser and its settings, trainer,
image size, schedule and parametrisation must be the same. Some configs never batch
(:func:`batchable`): a method that does not optimise, a schedule of several stages, spatial
masks, a resumed run. A batched problem writes its ``checkpoint.ckpt`` as a single run does
(:mod:`nst_research.batched.checkpoint`), so ``checkpoint=`` is each job's own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from nst_research.configs.checks import masks_on, optimises

# Top-level keys (a whole node: every key under it) each problem of a batch has for itself.
BATCHABLE = (
    "seed",
    "content",
    "style",
    "style_blend",
    "style_scale",
    "init",
    "layers",  # layer lists and weights: the shared extractor returns the union of the layers
    "iterations",
    "snapshot_every",
    "name",
    "objective",
    "checkpoint",
)
# Keys under ``loss`` each problem has for itself (the term definitions stay shared).
BATCHABLE_LOSS = ("content_weight", "style_weight", "tv_weight")
MEMORY_FRACTION = 0.7  # of the free memory a batch may plan to use (the estimate is rough)


def batchable(cfg: DictConfig) -> bool:
    """Whether a job's config can be one problem of a batch (see the module docstring)."""
    schedule = cfg.get("schedule")
    single = schedule is None or str(schedule.get("_target_", "")).endswith(".Single")
    return (
        optimises(cfg) and single and not masks_on(cfg.get("masks")) and cfg.get("resume") is None
    )


def task_config(cfg: DictConfig) -> DictConfig:
    """A job's config as its task sees it: without the ``hydra`` node (as ``run_job`` makes it)."""
    task = copy.deepcopy(cfg)
    with read_write(task), open_dict(task):
        task.pop("hydra", None)
    return task


def batch_key(cfg: DictConfig) -> str:
    """The config less its batchable keys (and ``hydra``), as canonical JSON: jobs with equal
    keys can share a batch."""
    tree: dict[str, Any] = OmegaConf.to_container(task_config(cfg), resolve=True)  # type: ignore[assignment]
    for key in BATCHABLE:
        tree.pop(key, None)
    loss = tree.get("loss")
    if isinstance(loss, dict):
        for key in BATCHABLE_LOSS:
            loss.pop(key, None)
    return json.dumps(tree, sort_keys=True, default=str)


def plan(configs: Sequence[DictConfig], max_batch: int) -> list[list[int]]:
    """Job indices in batches, in the order of each batch's first job: equal :func:`batch_key`,
    at most ``max_batch`` and what :func:`memory_cap` allows; a job that cannot batch alone."""
    groups: dict[str, list[int]] = {}
    order: list[list[int]] = []
    for i, cfg in enumerate(configs):
        if max_batch <= 1 or not batchable(cfg):
            order.append([i])
            continue
        key = batch_key(cfg)
        if key not in groups:
            groups[key] = []
            order.append(groups[key])
        groups[key].append(i)
    batches: list[list[int]] = []
    for group in order:
        cap = min([max_batch] + [_cap(configs[i]) for i in group]) if len(group) > 1 else 1
        batches += [group[k : k + cap] for k in range(0, len(group), cap)]
    return sorted(batches, key=lambda b: b[0])


def _cap(cfg: DictConfig) -> int:
    """:func:`memory_cap`, or 1 for a config it cannot check (its job then reports why)."""
    try:
        return memory_cap(cfg)
    except Exception:
        return 1


def memory_cap(cfg: DictConfig) -> int:
    """How many problems of this config fit the free memory of its device, by the run's own
    estimate (:func:`nst_research.engine.memory.estimate_bytes`, at ``size`` x ``size``: it errs
    high; every problem counted with its own weights); at least 1. Unknown free memory: no cap."""
    import torch

    from nst_research.engine.memory import available_bytes, estimate_bytes, term_work
    from nst_research.engine.parts import check, use_gpu

    parts = check(task_config(cfg))
    objective, backbone = parts.objective, parts.backbone
    deepest = max(objective.layers(), key=backbone.layer_names.index)
    side = int(cfg.size)
    style_side = max(1, round(float(cfg.style_scale) * side))
    history = int(cfg.optimizer.get("history_size", 0) or 0)
    work = term_work(objective.style, objective.style_layers, backbone.table)
    need = estimate_bytes(
        side, side, deepest, backbone.table, history, (style_side, style_side), work
    )
    free = available_bytes(torch.device("cuda" if use_gpu(cfg.trainer) else "cpu"))
    if free is None:
        return 1 << 30
    return max(1, int(free * MEMORY_FRACTION) // max(1, need))
