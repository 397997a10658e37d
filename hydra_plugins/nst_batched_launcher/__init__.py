"""``hydra/launcher=batched``: a multirun's compatible jobs as batched problems (issue 28).

Jobs whose configs differ only in batchable keys (``nst_research.batched.keys``: seed, images,
init, loss and layer weights, ...) run together, at most ``hydra.launcher.max_batch`` and what the
memory estimate allows at a time, as :func:`nst_research.batched.fit.run_batch` runs them; the
others run one after another as the basic launcher runs them. Every job is still a Hydra job of
its own: its number, dir, ``.hydra/`` files and callbacks are Hydra's ``run_job``'s. The jobs
of a batch are entered one inside the other (job k's task enters job k+1), the innermost runs
the batch, and each returns its own result on the way out, so each job's callbacks see its own
return value. Results come back in job order (what sweepers expect).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


@dataclass
class BatchedLauncherConf:
    _target_: str = "hydra_plugins.nst_batched_launcher.BatchedLauncher"
    max_batch: int = 16  # problems per batch at most (the memory estimate may allow fewer)


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="nst-research"
)


def _is_nst(task_function: Any) -> bool:
    """Whether the task is ``nst``'s (only its jobs can be batched)."""
    code = getattr(task_function, "__code__", None)
    return code is not None and Path(code.co_filename).as_posix().endswith("nst_research/cli.py")


class BatchedLauncher(Launcher):
    def __init__(self, max_batch: int = 16) -> None:
        super().__init__()
        self.max_batch = int(max_batch)
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        configs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(cfg):
                cfg.hydra.job.id = idx
                cfg.hydra.job.num = idx
            configs.append(cfg)
        batches = [[i] for i in range(len(configs))]
        if _is_nst(self.task_function):
            from nst_research.batched.keys import plan

            batches = plan(configs, self.max_batch)
        log.info(f"Launching {len(configs)} jobs locally in {len(batches)} batches")
        returns: list[JobReturn | None] = [None] * len(configs)
        for batch in batches:
            done = (
                self._single(configs[batch[0]])
                if len(batch) == 1
                else self._batch([configs[i] for i in batch])
            )
            for i, ret in zip(batch, done if isinstance(done, list) else [done], strict=True):
                returns[i] = ret
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return returns  # type: ignore[return-value]

    def _single(self, cfg: DictConfig) -> JobReturn:
        return self._run_job(cfg, self.task_function)

    def _run_job(self, cfg: DictConfig, task: Any) -> JobReturn:
        return run_job(
            hydra_context=self.hydra_context,
            task_function=task,
            config=cfg,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )

    def _batch(self, configs: list[DictConfig]) -> list[JobReturn]:
        """The jobs entered one inside the other; the innermost runs the batch."""
        from nst_research.batched.fit import run_batch
        from nst_research.batched.jobs import outcome, prepare

        jobs: list = []
        results: list = []
        returns: dict[int, JobReturn] = {}

        def enter(k: int) -> JobReturn:
            def task(cfg: DictConfig) -> Any:
                jobs.append(prepare(cfg))
                if k + 1 < len(configs):
                    returns[k + 1] = enter(k + 1)
                else:
                    results.extend(run_batch([job for job, _ in jobs]))
                job, num = jobs[k]
                return outcome(job, num, results[k])

            return self._run_job(configs[k], task)

        returns[0] = enter(0)
        return [returns[k] for k in range(len(configs))]
