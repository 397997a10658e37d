"""What every measurement of ``bench.py`` shares: the config of a run, synchronising, the CPU
other processes use meanwhile, peak memory, and where the ``nst`` command lives."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from nst_research.configs.compose import compose
from nst_research.engine import memory

VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, where `nst` lives


def compose_cfg(
    size: int, iterations: int, device: str, extra: list[str] | None = None
) -> DictConfig:
    """The config of ``nst size=<size> iterations=<n> logger.mode=offline snapshot_every=100``.

    On CUDA ``trainer=gpu`` (cuDNN autotuning, TF32, channels_last); ``extra`` are further
    overrides (``--set``), e.g. ``trainer.bf16=true``, applied to both loops.
    """
    overrides = [
        f"size={size}",
        f"iterations={iterations}",
        "logger.mode=offline",
        "snapshot_every=100",
    ]
    if device == "cuda":
        overrides.append("trainer=gpu")
    overrides += list(extra or [])
    return compose(overrides)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def say(text: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"[bench] {text}", file=sys.stderr, flush=True)


class OtherLoad:
    """CPU used by *other* processes while measuring: machine busy time (/proc/stat) minus ours.

    On a shared machine another job's threads compete with torch's (OpenMP spins at barriers),
    which can slow small problems several-fold; this number says whether a result can be trusted.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        busy = (user + nice + system + irq + softirq + steal) / hz
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
        return busy, ours, time.perf_counter()

    def cores(self) -> float | None:
        """Average number of cores kept busy by other processes since construction."""
        end = self._sample()
        if self.start is None or end is None:
            return None
        busy, ours, wall = (e - s for e, s in zip(end, self.start, strict=True))
        return max(0.0, (busy - ours) / wall) if wall > 0 else None


def fmt_cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def reset_peak(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    memory.reset_peak(device)


def peak_mb(device: str) -> float:
    """GPU: peak allocated since the last reset. CPU: peak RSS of the process since the reset."""
    return memory.peak_mb(device)


@dataclasses.dataclass
class Context:
    """What every measurement step of ``bench.py`` reads: the parsed flags, the device, the
    timed sizes and iterations, a temporary folder, the harness log (None: the terminal) and
    the environment record (a step may add to it)."""

    args: argparse.Namespace
    device: str
    sizes: list[int]
    iters: int
    tmp: Path
    environment: dict[str, Any]
    log: Path | None = None

    def cfg(self, size: int, iterations: int, extra: list[str] | None = None) -> DictConfig:
        """:func:`compose_cfg` on this device."""
        return compose_cfg(size, iterations, self.device, extra)
