"""From a sweep's best point back to a run: the best job, the exact ``nst`` command that reruns
it, and ``optimization_results.yaml`` in the layout Hydra's Optuna sweeper writes.

The command is the job's own override list (``.hydra/overrides.yaml``, ``+`` prefixes kept), the
seed it ran with when the config left it to chance, and a fresh ``hydra.run.dir``: on the same
machine, code and config dir it gives the same ``final.png`` byte for byte (CPU runs are
deterministic; the report says at which git commit the job ran).

``optimization_results.yaml`` (Hydra's ``hydra-optuna-sweeper``): ``name``, ``best_params`` (the
swept keys of the best job, typed) and ``best_value``; for the two eval objectives of the
style/content plane, ``solutions``, one ``{params, values}`` per configuration on the Pareto
front, as the sweeper writes for several objectives. A file written by a sweeper (an Optuna
search) is left as it is.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from nst_research.configs.names import EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO
from nst_research.io.files import write_text
from nst_research.report.ranking import higher_is_better, metric_value
from nst_research.report.records import SEED_KEY, RunRecord, read_config

RESULTS = "optimization_results.yaml"
WRITER = "nst-report"  # the ``name`` of a results file this module wrote (others are kept)


def best_job(records: Sequence[RunRecord], metric: str) -> RunRecord | None:
    """The completed job with the best finite value of ``metric`` (the first of equals)."""
    scored = [
        (v, i, r)
        for i, r in enumerate(records)
        if not r.failed
        and (v := metric_value(r, metric)) is not None
        and math.isfinite(v)
        and r.status == "completed"
    ]
    if not scored:
        return None
    sign = -1.0 if higher_is_better(metric) else 1.0
    return min(scored, key=lambda t: (sign * t[0], t[1]))[2]


def _job_overrides(record: RunRecord) -> list[str]:
    items = yaml.safe_load((record.job_dir / ".hydra" / "overrides.yaml").read_text()) or []
    return [str(item) for item in items]


def rerun_command(record: RunRecord, run_dir: str | None = None) -> str:
    """``nst <the job's overrides> [seed=N] hydra.run.dir=...``, shell-quoted."""
    overrides = _job_overrides(record)
    keys = {o.partition("=")[0].lstrip("+~") for o in overrides}
    seed = (record.metrics or {}).get(SEED_KEY)
    if SEED_KEY not in keys and read_config(record.job_dir).get(SEED_KEY) is None:
        if seed is not None:  # the config drew a seed: pin the one this job drew
            overrides.append(f"{SEED_KEY}={seed}")
    target = run_dir or f"outputs/rerun_{record.job_dir.parent.name}_{record.name}"
    return shlex.join(["nst", *overrides, f"hydra.run.dir={target}"])


def typed(value: str | None) -> Any:
    """An override's value as YAML reads it, numbers in any float spelling (``1e3``) included."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _params(record: RunRecord, keys: Sequence[str]) -> dict[str, Any]:
    return {k: typed(record.overrides.get(k)) for k in keys if k in record.overrides}


def results(
    records: Sequence[RunRecord],
    keys: Sequence[str],
    metric: str,
    front: Sequence[RunRecord] = (),
) -> dict[str, Any] | None:
    """The results file's contents (None when no job completed with ``metric``)."""
    best = best_job(records, metric)
    if best is None:
        return None
    out: dict[str, Any] = {
        "name": WRITER,
        "metric": metric,
        "direction": "maximize" if higher_is_better(metric) else "minimize",
        "best_params": _params(best, keys),
        "best_value": metric_value(best, metric),
        "best_job": best.name,
        "command": rerun_command(best),
    }
    if front:
        out["objectives"] = [EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO]
        out["solutions"] = [
            {
                "params": _params(r, keys),
                "values": [metric_value(r, EVAL_CONTENT_RATIO), metric_value(r, EVAL_STYLE_RATIO)],
                "job": r.name,
            }
            for r in front
        ]
    return out


def write_results(sweep_dir: Path, contents: dict[str, Any]) -> Path | None:
    """Write ``optimization_results.yaml`` unless a sweeper's own file is there (returns None)."""
    path = sweep_dir / RESULTS
    if path.is_file():
        try:
            existing = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            existing = {}
        if existing.get("name") != WRITER:
            return None
    write_text(path, yaml.safe_dump(contents, sort_keys=False))
    return path
