"""What a sweep leaves in its directory: ``optimization_results.yaml`` and ``trials.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from nst_research.io.files import write_text

from ._space import format_value

RESULTS = "optimization_results.yaml"
TRIALS = "trials.csv"


def summarize(study: optuna.Study) -> dict[str, Any]:
    """The study in a few keys: counts by state and the best trial (None when none completed)."""
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    summary: dict[str, Any] = {
        "name": "nst_optuna",
        "study_name": study.study_name,
        "direction": study.direction.name.lower(),
        "n_trials": len(trials),
        "n_complete": len(complete),
        "n_failed": sum(t.state == TrialState.FAIL for t in trials),
        "n_running": sum(t.state == TrialState.RUNNING for t in trials),
    }
    if not complete:
        return {**summary, "best_trial": None, "best_job": None, "best_value": None}
    best = study.best_trial
    return {
        **summary,
        "best_trial": best.number,
        "best_job": best.user_attrs.get("job"),
        "best_value": best.value,
        "best_params": dict(best.params),
    }


def write_results(study: optuna.Study, sweep_dir: Path) -> dict[str, Any]:
    """Write ``optimization_results.yaml`` (:func:`summarize`) and ``trials.csv``; return the summary."""
    summary = summarize(study)
    write_text(sweep_dir / RESULTS, yaml.safe_dump(summary, sort_keys=False))
    write_trials_csv(study.get_trials(deepcopy=False), sweep_dir / TRIALS)
    return summary


def write_trials_csv(trials: list[FrozenTrial], path: Path) -> None:
    """One row per trial: number, state, value, job, one column per parameter, times, error."""
    names = sorted({name for t in trials for name in t.params})
    fields = ["number", "state", "value", "job", *names, "started", "completed", "error"]
    f = io.StringIO(newline="")
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    for t in trials:
        writer.writerow(
            {
                "number": t.number,
                "state": t.state.name,
                "value": "" if t.value is None else repr(t.value),
                "job": t.user_attrs.get("job", ""),
                **{name: t.params.get(name, "") for name in names},
                "started": t.datetime_start.isoformat() if t.datetime_start else "",
                "completed": t.datetime_complete.isoformat() if t.datetime_complete else "",
                "error": t.user_attrs.get("error", ""),
            }
        )
    write_text(path, f.getvalue())


def best_line(summary: dict[str, Any]) -> str:
    """One line for the terminal: the best value and the overrides that gave it."""
    counts = f"{summary['n_complete']} complete, {summary['n_failed']} failed"
    if summary["best_trial"] is None:
        return f"nst_optuna: no trial completed ({counts})"
    params = " ".join(f"{k}={format_value(v)}" for k, v in summary["best_params"].items())
    return (
        f"nst_optuna: best value {summary['best_value']:.6g} at trial {summary['best_trial']} "
        f"(job {summary['best_job']}; {counts}): {params}"
    )
