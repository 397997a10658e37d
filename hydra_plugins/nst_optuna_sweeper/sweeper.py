"""The ``nst_optuna`` Hydra sweeper: Optuna's ask/tell loop over Hydra's configured launcher.

Each round asks the study for ``n_jobs`` trials, launches them as one batch (basic, joblib or
submitit launcher alike), and tells the study each job's return value (minimised by default). A job
that raises or returns None, NaN or inf is told as FAIL and the sweep goes on. The study lives in
``storage`` (default ``<sweep dir>/optuna.db``): the same command on the same ``hydra.sweep.dir``
resumes it, and only the trials missing from ``n_trials`` complete ones run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.errors import CompactHydraException
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class NoTrialCompleted(CompactHydraException):
    """Every trial of the study failed: there is no best value to report (Hydra prints one line)."""


class NSTOptunaSweeper(Sweeper):
    """Hydra sweeper on Optuna >= 4 (its arguments are the keys of ``NSTOptunaSweeperConf``)."""

    def __init__(
        self,
        sampler: DictConfig,
        direction: str,
        n_trials: int,
        n_jobs: int,
        study_name: str | None,
        storage: str | None,
        params: Mapping[str, Any] | None,
    ) -> None:
        if n_jobs < 1:
            raise ValueError(f"hydra.sweeper.n_jobs must be at least 1, not {n_jobs}")
        self.sampler = sampler
        self.direction = direction
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.study_name = study_name
        self.storage = storage
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Launcher | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> dict[str, Any]:
        """Run the missing trials; write the results into the sweep dir; return their summary."""
        from optuna.trial import TrialState

        from ._results import best_line, write_results
        from ._space import parse_search_space
        from ._study import count, job_value, next_job_number, open_study

        assert self.config is not None and self.launcher is not None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        space = parse_search_space([*(f"{k}={v}" for k, v in self.params.items()), *arguments])
        name = self.study_name or sweep_dir.resolve().name
        study = open_study(self.sampler, self.direction, name, self.storage, space)
        todo = max(0, self.n_trials - count(study, TrialState.COMPLETE))
        log.info(
            f"study {name!r} ({self.storage or 'in memory'}): {count(study, TrialState.COMPLETE)} "
            f"complete trials of {self.n_trials}, {todo} to run, {self.n_jobs} at a time"
        )
        while todo > 0:
            first_job = next_job_number(sweep_dir, study)
            trials = [study.ask(space.distributions) for _ in range(min(self.n_jobs, todo))]
            try:
                for i, trial in enumerate(trials):
                    trial.set_user_attr("job", first_job + i)
                batch = [space.overrides(trial.params) for trial in trials]
                self.validate_batch_is_legal(batch)
                returns = self.launcher.launch(batch, initial_job_idx=first_job)
            except BaseException:  # a bad config or Ctrl-C: leave no trial RUNNING
                for trial in trials:
                    study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                raise
            for trial, ret in zip(trials, returns, strict=True):
                value, error = job_value(ret)
                if error is None:
                    study.tell(trial, value)
                else:
                    log.error(
                        f"trial {trial.number} (job {trial.user_attrs['job']}) failed: {error}"
                    )
                    trial.set_user_attr("error", error)
                    study.tell(trial, state=TrialState.FAIL)
            todo -= len(trials)
        summary = write_results(study, sweep_dir)
        print(best_line(summary), flush=True)
        if summary["best_trial"] is None:
            raise NoTrialCompleted(
                f"no trial of study {name!r} completed; see {sweep_dir}/trials.csv"
            )
        return summary
