"""The study side of a sweep: open or resume it, number jobs, judge what a job returned."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from hydra.core.utils import JobReturn
from hydra.utils import instantiate
from omegaconf import DictConfig
from optuna.distributions import distribution_to_json
from optuna.trial import TrialState

from ._space import SearchSpace

log = logging.getLogger(__name__)


def open_study(
    sampler: DictConfig,
    direction: str,
    study_name: str,
    storage: str | None,
    space: SearchSpace,
) -> optuna.Study:
    """Create the study, or load it when ``storage`` already holds one named ``study_name``.

    The sampler is built here. A seeded sampler built afresh would replay the first trials' draws
    in a resumed study, so a resumed one gets a seed drawn from ``(seed, trials in the study)``:
    still reproducible (the same commands give the same trials), but new draws. A study resumed
    with another space or other fixed overrides than it started with goes on, with a warning.
    """
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction=direction, load_if_exists=True
    )
    n_before = len(study.get_trials(deepcopy=False))
    seed = sampler.get("seed")
    if seed is not None and n_before > 0:
        seed = int(np.random.SeedSequence([seed, n_before]).generate_state(1)[0])
    study.sampler = instantiate(sampler, **({} if seed is None else {"seed": seed}))
    record = {
        "space": {k: distribution_to_json(d) for k, d in space.distributions.items()},
        "fixed": list(space.fixed),
    }
    if n_before == 0 or "search" not in study.user_attrs:
        study.set_user_attr("search", record)
    elif study.user_attrs["search"] != record:
        log.warning(
            f"study {study_name!r} goes on with {_changes(study.user_attrs['search'], record)}"
        )
    return study


def _changes(before: dict[str, Any], now: dict[str, Any]) -> str:
    """What differs between two search records, in a few words."""
    space = sorted(k for k in before["space"].keys() | now["space"].keys()
                   if before["space"].get(k) != now["space"].get(k))  # fmt: skip
    added = [o for o in now["fixed"] if o not in before["fixed"]]
    dropped = [o for o in before["fixed"] if o not in now["fixed"]]
    parts = [f"other distributions for {', '.join(space)}"] if space else []
    parts += [f"new overrides {' '.join(added)}"] if added else []
    parts += [f"without the overrides {' '.join(dropped)}"] if dropped else []
    return "; ".join(parts) + " (its trials so far ran with the earlier ones)"


def count(study: optuna.Study, state: TrialState) -> int:
    """How many trials of the study are in ``state``."""
    return len(study.get_trials(deepcopy=False, states=(state,)))


def next_job_number(sweep_dir: Path, study: optuna.Study) -> int:
    """The first job number free in ``sweep_dir`` and in the study's trial numbers.

    Job ``N`` then runs trial ``N`` as long as one sweep at a time uses the study; the trial's
    ``job`` attribute records the job number in any case.
    """
    taken = [int(p.name) + 1 for p in sweep_dir.iterdir() if p.name.isdigit()]
    return max([len(study.get_trials(deepcopy=False)), *taken])


def _job_record(ret: JobReturn) -> str | None:
    """``status: error`` from the job dir's metrics.json, if the job wrote one."""
    try:
        out = Path(ret.hydra_cfg.hydra.runtime.output_dir)
        record = json.loads((out / "metrics.json").read_text())
    except Exception:  # no hydra config, no dir or no record: nothing more to say
        return None
    error = record.get("error")
    return f"{record.get('status')}: {error}" if error else f"the job ended {record.get('status')}"


def job_value(ret: JobReturn) -> tuple[float | None, str | None]:
    """``(value, None)`` for a finite number, ``(None, why)`` for an exception, None, NaN or inf."""
    try:
        value: Any = ret.return_value  # re-raises the job's exception (Hydra prints its overrides)
    except Exception as e:  # any failure of a job is a failed trial
        return None, f"{type(e).__name__}: {e}"
    if value is None:  # nst records why in the job's metrics.json (failed, diverged, ...)
        return None, _job_record(ret) or "the job returned None"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"the job returned {value!r}, not a number"
    if not math.isfinite(number):
        return None, f"the job returned {number}"
    return number, None
