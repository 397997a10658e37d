"""The sweeper behind ``nst resume=SWEEP_DIR`` (``nst_research.io.sweep_resume``).

Hydra's basic sweeper, minus two writes: ``multirun.yaml`` stays as the sweep recorded it, and a
job that completed is not launched again (its dir, ``.hydra/`` included, is left as it is). The
other jobs are launched with their own numbers, in runs of consecutive jobs, on the configured
launcher; a job dir of a job that did not complete is set aside first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from nst_research.io.sweep_resume import job_status, recorded_overrides, set_aside

log = logging.getLogger(__name__)


def _runs(todo: list[tuple[int, Sequence[str]]]) -> list[tuple[int, list[Sequence[str]]]]:
    """Consecutive job numbers grouped: [(first number, [overrides, ...]), ...]."""
    runs: list[tuple[int, list[Sequence[str]]]] = []
    for num, job in todo:
        if runs and runs[-1][0] + len(runs[-1][1]) == num:
            runs[-1][1].append(job)
        else:
            runs.append((num, [job]))
    return runs


class ResumeSweeper(BasicSweeper):
    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        params = self._parse_config()
        params.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        self.overrides = self.split_arguments(parser.parse_overrides(params), self.max_batch_size)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        returns, first, kept = [], 0, 0
        while not self.is_done():
            batch = self.get_job_batch()
            self.validate_batch_is_legal(batch)
            todo = []
            for num, job in enumerate(batch, start=first):
                job_dir = sweep_dir / str(num)
                recorded = recorded_overrides(job_dir)
                if recorded is not None and recorded != list(job):
                    raise RuntimeError(f"job {num} of {sweep_dir} ran other overrides: {recorded}")
                if job_status(job_dir) == "completed":
                    kept += 1
                    continue
                if job_dir.exists():
                    log.info(f"job {num} did not complete: its files moved to {set_aside(job_dir)}")
                todo.append((num, job))
            for start, jobs in _runs(todo):
                results = self.launcher.launch(jobs, initial_job_idx=start)
                for r in results:
                    _ = r.return_value
                returns.append(results)
            first += len(batch)
        log.info(f"resumed {sweep_dir}: {kept} completed jobs kept")
        return returns
