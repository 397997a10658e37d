"""Benchmark: the harness's seconds per iteration against a plain PyTorch loop doing the same work.

Run from the repository root::

    .venv/bin/python experiments/bench/bench.py                      # CPU: sizes 128 256
    .venv/bin/python experiments/bench/bench.py --sizes 128 --iters 10 --repeats 2

For each image size, in one process, it measures

(a) the harness: ``nst_research.run.run(cfg, run_dir)`` on a config composed exactly as a normal
    ``nst`` run (defaults: vgg19 caffe weights, layers gatys2016, lbfgs, content init, W&B offline,
    progress bar on, snapshot_every=100), taking ``metrics.json``'s ``s_per_iter`` (median of the
    gaps between step ends, so the first step is excluded);
(b) a plain loop: the same extractor, preprocessing, targets and loss (``StyleTransfer.compute_losses``
    on a module that is never handed to a Trainer), the same ``torch.optim.LBFGS`` built by the same
    optimiser factory, and a Python ``for`` loop of ``opt.step(closure)`` timed per iteration with
    ``perf_counter`` (``torch.cuda.synchronize`` on GPU), median after dropping the first iteration.

A warm-up of both comes first at each size; then R repeats alternate a, b. The table reports the
median over repeats (and the min..max), the ratio a/b, achieved GFLOP/s from the conv shapes actually
run, peak memory, and the start-up time of the ``nst`` command. See README.md beside this file.

Each measurement is a module beside this file with its own flags, ``step`` and Markdown section;
this file parses the flags and runs the steps in order (README.md, "The code").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import batched  # noqa: E402 - the measurements, beside this file
import feedforward  # noqa: E402
import largest  # noqa: E402
import methods  # noqa: E402
import overhead  # noqa: E402
import process_time  # noqa: E402
import pyramid  # noqa: E402
import quality  # noqa: E402
import report  # noqa: E402
import style_losses  # noqa: E402
from common import Context, say  # noqa: E402

from nst_research.configs.compose import REPO  # noqa: E402


def run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra nst override for both loops (repeatable), e.g. --set trainer.bf16=true",
    )


def output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=REPO / "bench_results", help="output folder")
    p.add_argument(
        "--render",
        type=Path,
        metavar="BENCH_JSON",
        help="only print the Markdown table of an existing bench.json (no measuring)",
    )
    p.add_argument(
        "--show-harness-output",
        action="store_true",
        help="let the harness runs print to the terminal (default: <out>/harness.log)",
    )


# Each measurement adds its own flags, in this order (the order of --help).
ARGUMENTS: tuple[Callable[[argparse.ArgumentParser], None], ...] = (
    overhead.add_arguments,
    process_time.add_arguments,
    run_arguments,
    largest.add_arguments,
    quality.add_arguments,
    style_losses.add_arguments,
    pyramid.add_arguments,
    feedforward.add_arguments,
    methods.add_arguments,
    batched.add_arguments,
    output_arguments,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for add in ARGUMENTS:
        add(p)
    return p.parse_args(argv)


def open_log(ctx: Context) -> dict[str, Any]:
    """The output folder, and the file the harness runs print to (unless shown)."""
    ctx.args.out.mkdir(parents=True, exist_ok=True)
    ctx.log = None if ctx.args.show_harness_output else ctx.args.out / "harness.log"
    if ctx.log is not None:
        ctx.log.write_text("")
        say(f"harness output goes to {ctx.log}")
    return {}


# The measurements in the order they run; each returns its entries of bench.json.
STEPS: tuple[Callable[[Context], dict[str, Any]], ...] = (
    process_time.step,
    open_log,
    overhead.step,
    quality.step,
    style_losses.step,
    pyramid.step,
    feedforward.step,
    methods.step,
    batched.step,
    largest.step,
)
# bench.json's entries after "environment", in the order they are written.
REPORT_KEYS = ("sizes", "startup", "startup_whole", "imports", "largest", "quality",
               "style_losses", "pyramid", "feedforward", "methods", "batched",
               "overhead_jobs")  # fmt: skip


def context(args: argparse.Namespace, tmp: Path) -> Context:
    """The device, sizes and iterations (the defaults depend on the device); W&B files in
    ``tmp``; the environment record."""
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    sizes = args.sizes or ([128, 256, 512, 1024] if device == "cuda" else [128, 256])
    iters = args.iters or (50 if device == "cuda" else 20)
    if iters < 3:
        raise SystemExit("--iters must be at least 3 (the first iteration is dropped)")
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        os.environ[var] = str(tmp / "wandb")
    (tmp / "wandb").mkdir()
    threads = torch.get_num_threads()
    environment = report.environment_info(args, device, sizes, iters, threads)
    return Context(args, device, sizes, iters, tmp, environment)


def write(out: Path, record: dict[str, Any]) -> None:
    """bench.md (also printed), bench.json and the pyramid's plot."""
    text = report.markdown(record)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(json.dumps(record, indent=2))
    if record["pyramid"]:
        pyramid.plot(record["pyramid"], out / "pyramid.png")
    print(text)
    total = record["environment"]["total_s"]
    print(f"[bench] wrote {out / 'bench.md'} and bench.json in {total:.0f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        print(report.markdown(json.loads(args.render.read_text())))
        return 0
    with tempfile.TemporaryDirectory(prefix="nst-bench-") as tmp:
        ctx = context(args, Path(tmp))
        env = ctx.environment
        t_total = time.perf_counter()
        say(f"{ctx.device} ({env['device_name']}), sizes {ctx.sizes}, {ctx.iters} iterations, "
            f"{args.repeats} repeats")  # fmt: skip
        results: dict[str, Any] = {}
        for step in STEPS:
            results.update(step(ctx))
        env["torch_threads_after"] = torch.get_num_threads()
        env["total_s"] = time.perf_counter() - t_total
        write(args.out, {"environment": env, **{key: results[key] for key in REPORT_KEYS}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
