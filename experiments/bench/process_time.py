"""Start-up of the ``nst`` command, timed as subprocesses from launch to exit: a one-iteration
run, ``nst --help`` and the bare imports of torch and Lightning; then the whole-process
comparison with a plain script and the import profile (``startup.py``)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import startup
from common import VENV_BIN, Context, OtherLoad, say

from nst_research.configs.compose import REPO


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--startup-repeats", type=int, default=3, help="runs of each start-up command (0: skip)"
    )
    p.add_argument(
        "--startup-size", type=int, default=256, help="image size of the whole-process comparison"
    )
    p.add_argument(
        "--startup-iters", type=int, default=30, help="iterations of the whole-process comparison"
    )


def time_command(argv: list[str], repeats: int, env: dict[str, str]) -> dict[str, Any]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return {"median_s": statistics.median(times), "all_s": times}


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WANDB_MODE", None)
    return env


def time_startup(tmp: Path, repeats: int) -> dict[str, Any]:
    env = _environment()
    nst = str(VENV_BIN / "nst")
    py = sys.executable
    out: dict[str, Any] = {}
    runs = []
    for i in range(repeats):
        argv = [
            nst,
            "size=32",
            "iterations=1",
            "logger=none",
            "trainer.progress_bar=false",
            f"hydra.run.dir={tmp / f'startup_{i}'}",
        ]
        runs.append(time_command(argv, 1, env)["all_s"][0])
    out["nst size=32 iterations=1 logger=none"] = {
        "median_s": statistics.median(runs),
        "all_s": runs,
    }
    out["nst --help"] = time_command([nst, "--help"], repeats, env)
    out["python -c 'import torch'"] = time_command([py, "-c", "import torch"], repeats, env)
    out["python -c 'import pytorch_lightning'"] = time_command(
        [py, "-c", "import pytorch_lightning"], repeats, env
    )
    return out


def time_whole_process(tmp: Path, size: int, iters: int, repeats: int) -> dict[str, Any]:
    """``nst`` against ``plain_script.py``, whole process (``startup.py``), on the default images."""
    from nst_research.io.images import resolve_image

    images = (
        resolve_image("builtin:grace_hopper", "content"),
        resolve_image("builtin:swirls", "style"),
    )
    nst = str(VENV_BIN / "nst")
    return startup.whole_process(nst, images, size, iters, repeats, tmp, _environment())


def step(ctx: Context) -> dict[str, Any]:
    """The start-up measurements (none with ``--startup-repeats 0``)."""
    args = ctx.args
    if args.startup_repeats <= 0:
        return {"startup": {}, "startup_whole": {}, "imports": {}}
    say("start-up times ...")
    other = OtherLoad()
    times = time_startup(ctx.tmp, args.startup_repeats)
    imports = startup.import_profile(dict(os.environ))
    whole = time_whole_process(ctx.tmp, args.startup_size, args.startup_iters, args.startup_repeats)
    ctx.environment["startup_other_processes_cores"] = other.cores()
    return {"startup": times, "startup_whole": whole, "imports": imports}


def markdown(times: dict[str, Any], other: float | None) -> list[str]:
    """The start-up table (the whole-process and import sections are ``startup.markdown``)."""
    if not times:
        return []
    lines = [
        "## Start-up (subprocess, wall time from launch to exit)",
        "",
        "| command | median s | all s |",
        "|---|---:|---|",
    ]
    for cmd, t in times.items():
        lines.append(
            f"| `{cmd}` | {t['median_s']:.2f} | {', '.join(f'{x:.2f}' for x in t['all_s'])} |"
        )
    if other is not None:
        lines += ["", f"- other processes kept {other:.2f} cores busy meanwhile."]
    return lines
