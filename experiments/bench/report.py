"""``bench.md``: what the measurement ran on (the header), then each measurement's own section,
in the order of the report; and the environment record of ``bench.json``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

import batched
import feedforward
import largest
import methods
import overhead
import process_time
import pyramid
import quality
import startup
import style_losses
import torch

from nst_research.configs.compose import REPO


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_info(
    args: argparse.Namespace, device: str, sizes: list[int], iters: int, threads_before: int
) -> dict[str, Any]:
    """What the measurement ran on and with (recorded in bench.json and the report's header)."""
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(
            [
                Path(sys.executable).relative_to(REPO).as_posix()
                if Path(sys.executable).is_relative_to(REPO)
                else sys.executable,
                *sys.argv,
            ]
        ),
        "device": device,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "pytorch_lightning": __import__("pytorch_lightning").__version__,
        "python": platform.python_version(),
        "torch_threads": threads_before,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "iters": iters,
        "repeats": args.repeats,
        "sizes": sizes,
        "overrides": args.set,
    }


def header(env: dict[str, Any]) -> list[str]:
    return [
        "# nst-research benchmark: harness vs plain PyTorch loop",
        "",
        f"- date: {env['date']}",
        f"- command: `{env['command']}`",
        f"- device: {env['device']} ({env['device_name']}), torch {env['torch']}, "
        f"pytorch_lightning {env['pytorch_lightning']}, python {env['python']}",
        f"- threads: torch {env['torch_threads']} (interop {env['torch_interop_threads']}), "
        f"os.cpu_count {env['cpu_count']}",
        f"- iterations per measurement: {env['iters']}, repeats: {env['repeats']} (interleaved a, b "
        "after a warm-up of each); times are the median over repeats (min-max in brackets)",
        "- config: defaults (vgg19 caffe, gatys2016 layers, lbfgs, content init, W&B offline, "
        "progress bar on, snapshot_every=100), content builtin:grace_hopper, style builtin:swirls"
        + (f"; overrides {' '.join(env['overrides'])}" if env.get("overrides") else ""),
        "",
    ]


def markdown(report: dict[str, Any]) -> str:
    """The whole report: the header, then a section per measurement that ran."""
    env = report["environment"]
    lines = header(env) + overhead.markdown(report["sizes"], env["device"])
    lines += process_time.markdown(report["startup"], env.get("startup_other_processes_cores"))
    lines += startup.markdown(report.get("startup_whole") or {}, report.get("imports") or {})
    lines += largest.markdown(report.get("largest") or {}, env["device"])
    if report.get("quality"):
        lines += ["", quality.markdown(report["quality"], report["quality"].get("overrides", []))]
    if report.get("style_losses"):
        lines += style_losses.markdown(report["style_losses"])
    if report.get("pyramid"):
        lines += ["", *pyramid.markdown(report["pyramid"])]
    if report.get("feedforward"):
        lines += ["", *feedforward.markdown(report["feedforward"])]
    if report.get("methods"):
        lines += ["", *methods.markdown(report["methods"])]
    lines += batched.markdown(report)
    lines.append("")
    return "\n".join(lines)
