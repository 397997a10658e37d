"""A batch's jobs as Hydra jobs: what ``nst``'s task function does before and after ``run``.

:func:`prepare` runs inside a job's Hydra context (its ``HydraConfig``, after Hydra has made its
dir and written ``.hydra/``) and turns the job's config into a :class:`~nst_research.batched.fit.Job`
(W&B name, group and tags as ``nst_research.cli`` gives them); :func:`outcome` turns a job's
result into what the task function returns and prints (a failure recorded in ``metrics.json``
and one ``error in job N`` line; the sweep goes on).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from nst_research.batched.fit import Job, Result
from nst_research.configs.names import OBJECTIVE
from nst_research.engine.status import RunStatus
from nst_research.errors import NSTError
from nst_research.tracking.naming import identity


def prepare(cfg: DictConfig) -> tuple[Job, int]:
    """The job of the current Hydra job (a multirun's) and its number."""
    hc = HydraConfig.get()
    name, group, tags = identity(cfg, hc, True)
    if "tags" in cfg.logger:
        cfg.logger.tags = [*cfg.logger.tags, *(t for t in tags if t not in cfg.logger.tags)]
    return Job(cfg, Path(hc.runtime.output_dir), name, group), int(hc.job.num)


def outcome(job: Job, num: int, result: Result) -> Any:
    """What ``nst``'s task function returns for a job of a multirun that ended with ``result``."""
    from nst_research.cli import _record_failure

    if isinstance(result, BaseException):
        _record_failure(job.run_dir, result)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise result
        hint = "" if isinstance(result, NSTError) else " (HYDRA_FULL_ERROR=1 for the traceback)"
        print(f"error in job {num}: {type(result).__name__}: {result}{hint}", file=sys.stderr)
        return None
    status = result["status"]
    print(f"{status}: {result['iterations']} iterations, result in {result['final_image']}")
    return result.get(OBJECTIVE) if status == RunStatus.COMPLETED else None
