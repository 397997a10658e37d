"""(a) the harness: one full ``nst_research.run.run(cfg, run_dir)``, as a normal ``nst`` run,
timed by its own ``metrics.json`` (``s_per_iter``: the median gap between step ends)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from common import OtherLoad, peak_mb, reset_peak
from omegaconf import DictConfig

from nst_research.configs.names import LOSS_TOTAL


def time_harness(
    cfg: DictConfig, tmp: Path, tag: str, device: str, log: Path | None
) -> dict[str, Any]:
    """One full ``run()``; returns its s_per_iter and the fixed costs around the iterations.

    With ``log``, the run's stdout/stderr (progress bar, W&B messages) are appended to that file
    instead of the terminal: still written every step, just not onto the table.
    """
    from nst_research.run import run

    run_dir = tmp / f"a_{tag}"
    reset_peak(device)
    with contextlib.ExitStack() as stack:
        if log is not None:
            f = stack.enter_context(open(log, "a", buffering=1))
            print(f"\n===== harness run {tag} =====", file=f)
            stack.enter_context(contextlib.redirect_stdout(f))
            stack.enter_context(contextlib.redirect_stderr(f))
        other = OtherLoad()
        t0 = time.perf_counter()
        metrics = run(cfg, run_dir, run_name=f"bench-{tag}")
        total = time.perf_counter() - t0
        other_cores = other.cores()
    if metrics["status"] != "completed":
        raise RuntimeError(f"harness run {tag} ended {metrics['status']!r}")
    n = int(metrics["iterations"])
    s = metrics["s_per_iter"]
    return {
        "s_per_iter": s,
        "iterations": n,
        "call_s": total,  # run() call to return, wandb.finish included
        "wall_time_s": metrics["wall_time_s"],
        "fit_time_s": metrics["fit_time_s"],
        "fixed_s": total - n * s if s else None,  # everything that is not n median iterations
        "peak_mb": peak_mb(device),
        "other_processes_cores": other_cores,
        "final_loss": metrics["final_losses"].get(LOSS_TOTAL),
    }
