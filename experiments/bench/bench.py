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
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from nst_research.engine import memory

sys.path.insert(0, str(Path(__file__).resolve().parent))
import feedforward  # noqa: E402 - beside this file
import pyramid  # noqa: E402 - beside this file
import quality  # noqa: E402 - beside this file
import startup as startup_  # noqa: E402 - beside this file

from nst_research.configs.compose import REPO, compose
from nst_research.configs.names import LOSS_TOTAL
from nst_research.engine.build import apply_fast_gpu, build_module, read_inputs
from nst_research.engine.module import StyleTransfer
from nst_research.engine.parts import check

VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, where `nst` lives

# --- configuration -----------------------------------------------------------------------------


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


def reset_peak(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    memory.reset_peak(device)


def peak_mb(device: str) -> float:
    """GPU: peak allocated since the last reset. CPU: peak RSS of the process since the reset."""
    return memory.peak_mb(device)


# --- (a) the harness ---------------------------------------------------------------------------


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


# --- (b) the plain loop ------------------------------------------------------------------------


class PlainSetup:
    """Everything the plain loop shares across repeats at one size, from ``build``'s own parts."""

    def __init__(self, cfg: DictConfig, device: str) -> None:
        self.cfg, self.device = cfg, device
        if cfg.init._target_ != "nst_research.optimisation.inits.from_content":
            raise SystemExit("bench.py compares the default content init only")
        parts = check(cfg)
        self.content_layers, self.style_layers = parts.content_layers, parts.style_layers
        self.inputs = read_inputs(cfg, parts)
        self.content = self.inputs.content
        objective = parts.objective
        work = memory.term_work(objective.style, objective.style_layers, parts.backbone.table)
        hw, style_hw = self.content.shape[-2:], self.inputs.style.shape[-2:]
        self.style_work_mb = work(tuple(hw), tuple(style_hw)) * 4 / 2**20  # the estimate's term

    def module(self) -> StyleTransfer:
        """A fresh module (its own objective and targets) as ``build`` makes it, never fitted."""
        parts = check(self.cfg)
        m, _ = build_module(parts, self.inputs)
        m = m.to(self.device)
        if self.device == "cuda":
            apply_fast_gpu(m, parts.gpu_flags)  # the same fast path run() takes
        m.compute_targets()
        return m


def time_plain(setup: PlainSetup, iterations: int, drop: int) -> dict[str, Any]:
    device = setup.device
    reset_peak(device)
    module = setup.module()
    image = module.image
    opt = module.optimizer_factory([image]).optimizer
    evals = 0
    evals_per_step: list[int] = []

    def closure() -> torch.Tensor:
        nonlocal evals
        evals += 1
        opt.zero_grad(set_to_none=True)
        loss = module.compute_losses(image)[LOSS_TOTAL]
        loss.backward()
        return loss

    times: list[float] = []
    sync(device)
    other = OtherLoad()
    for _ in range(iterations):
        t0 = time.perf_counter()
        before = evals
        loss = opt.step(closure)
        sync(device)
        times.append(time.perf_counter() - t0)
        evals_per_step.append(evals - before)
    kept = times[drop:] or times
    result = {
        "s_per_iter": statistics.median(kept),
        "iterations": iterations,
        # L-BFGS line-searches its first two iterations (several evaluations), then takes one
        # evaluation per iteration: the median iteration, which s_per_iter times, costs this many.
        "closure_evals_per_iter": statistics.median(evals_per_step[drop:] or evals_per_step),
        "closure_evals_total": evals,
        "peak_mb": peak_mb(device),
        "other_processes_cores": other.cores(),
        "first_iter_s": times[0],
        "final_loss": float(loss.detach()),  # loss at the last iteration's start, as the harness
    }
    return result


# --- the largest size that fits ----------------------------------------------------------------


def bisect_largest(fits, lo: int, hi: int, step: int = 64) -> tuple[int, bool]:
    """Largest size in [lo, hi] (to ``step`` px) for which ``fits(size)``; ``lo`` must fit.

    Returns (size, hit_ceiling): hit_ceiling means ``hi`` itself fits, so the true limit is higher.
    """
    if fits(hi):
        return hi, True
    while hi - lo > step:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo, False


def largest_size(
    device: str, known_fit: int, iters: int, extra: list[str], measure: bool
) -> dict[str, Any]:
    """The memory estimate's largest size for the free memory; on CUDA also the measured one.

    Measured = the largest long side at which a few plain-loop L-BFGS iterations run without a
    CUDA out-of-memory error, bisected between the largest benchmarked size and 1.5x the estimate.
    """
    cfg = compose_cfg(known_fit, 3, device, extra)
    setup = PlainSetup(cfg, device)
    h, w = setup.content.shape[-2:]
    weights = {**setup.content_layers, **setup.style_layers}
    names = setup.module().extractor.names
    deepest = max((n for n, wt in weights.items() if wt > 0), key=names.index)
    history = int(cfg.optimizer.get("history_size", 0) or 0)
    del setup
    free = memory.available_bytes(torch.device(device))
    out: dict[str, Any] = {"free_mb": None if free is None else free / 2**20}
    if free is not None:
        out["estimate_px"] = memory.largest_size(int(h), int(w), deepest, "vgg19", history, free)
    if not (measure and device == "cuda"):
        return out
    peaks: dict[int, float] = {}

    def fits(size: int) -> bool:
        print(f"[bench] largest size: trying {size} px", file=sys.stderr, flush=True)
        gc.collect()
        torch.cuda.empty_cache()
        try:
            trial = PlainSetup(compose_cfg(size, iters, device, extra), device)
            peaks[size] = time_plain(trial, iters, drop=1)["peak_mb"]
            return True
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            trial = None
            gc.collect()
            torch.cuda.empty_cache()

    ceiling = int(1.5 * out.get("estimate_px", 4 * known_fit))
    size, hit = bisect_largest(fits, known_fit, max(ceiling, known_fit + 64))
    out.update({"measured_px": size, "measured_is_lower_bound": hit, "peak_mb": peaks.get(size)})
    return out


# --- FLOPs -------------------------------------------------------------------------------------


def count_flops(setup: PlainSetup) -> dict[str, Any]:
    """Conv FLOPs of one forward pass of the generated image, from the shapes actually run.

    forward: sum over the convs up to the deepest layer used of 2 * Cin * Cout * kh * kw * Hout * Wout.
    ``per_iter_3x``: forward + backward taken as 3x forward (the usual training convention).
    ``per_iter_counted``: torch's FlopCounterMode on one real closure (forward + backward); with
    the extractor frozen there are no weight gradients, so this is about 2x forward.
    """
    from torch.utils.flop_counter import FlopCounterMode

    module = setup.module()
    convs: list[dict[str, Any]] = []

    def hook(mod, inputs, output):
        cin, cout = mod.in_channels, mod.out_channels
        kh, kw = mod.kernel_size
        h, w = output.shape[-2:]
        convs.append(
            {
                "cin": cin,
                "cout": cout,
                "hw": [int(h), int(w)],
                "flops": 2 * cin * cout * kh * kw * int(h) * int(w),
            }
        )

    handles = [
        m.register_forward_hook(hook)
        for m in module.extractor.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    with torch.no_grad():
        module.extractor(module.image)
    for h in handles:
        h.remove()
    forward = sum(c["flops"] for c in convs)
    counter = FlopCounterMode(display=False)
    with counter:
        module.compute_losses(module.image)[LOSS_TOTAL].backward()
    return {
        "convs": len(convs),
        "forward": forward,
        "per_iter_3x": 3 * forward,
        "per_iter_counted": int(counter.get_total_flops()),
        "image_hw": list(module.image.shape[-2:]),
    }


# --- start-up ----------------------------------------------------------------------------------


def time_command(argv: list[str], repeats: int, env: dict[str, str]) -> dict[str, Any]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return {"median_s": statistics.median(times), "all_s": times}


def time_startup(tmp: Path, repeats: int) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("WANDB_MODE", None)
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

    env = dict(os.environ)
    env.pop("WANDB_MODE", None)
    images = (
        resolve_image("builtin:grace_hopper", "content"),
        resolve_image("builtin:swirls", "style"),
    )
    nst = str(VENV_BIN / "nst")
    return startup_.whole_process(nst, images, size, iters, repeats, tmp, env)


# --- report ------------------------------------------------------------------------------------


IDLE_CORES = 0.25  # other processes busier than this during a measurement: a disturbed repeat


def idle_ratio(r: dict[str, Any]) -> tuple[float | None, int]:
    """Median a / median b over the repeats where neither measurement was disturbed."""

    def idle(x: dict[str, Any]) -> bool:
        other = x.get("other_processes_cores")
        return other is not None and other <= IDLE_CORES

    pairs = [(x, y) for x, y in zip(r["harness"], r["plain"], strict=True) if idle(x) and idle(y)]
    if not pairs:
        return None, 0
    a = statistics.median(x["s_per_iter"] for x, _ in pairs)
    b = statistics.median(y["s_per_iter"] for _, y in pairs)
    return a / b, len(pairs)


def fmt_cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.4f}"
    return f"{med:.4f} ({min(values):.4f}-{max(values):.4f})"


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


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    mem_note = (
        "peak = torch.cuda.max_memory_allocated, reset before each measurement (max over repeats)"
        if env["device"] == "cuda"
        else "peak = resident set size of the whole bench process (Python, libraries, weights "
        "included), high-water mark reset before each measurement (max over repeats)"
    )
    lines = [
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
        "| size | image HxW | (a) harness s/it | (b) plain s/it | a/b | a/b idle repeats | a-b ms/it "
        "| fwd GFLOP | GFLOP/it (3x fwd) | GFLOP/s (b) | GFLOP/s (a) | harness fixed s/run "
        "| peak MiB (a) | peak MiB (b) | other procs (cores) |",
        "|" + "---:|" * 15,
    ]
    rows, busy = size_rows(report["sizes"])
    lines += rows
    if busy:
        lines += [
            "",
            f"**Warning: other processes used CPU while measuring size {', '.join(busy)}; "
            "torch's threads then compete for cores and the timings are not trustworthy. "
            "Rerun on an idle machine.**",
        ]
    lines += [
        "",
        f"- {mem_note}.",
        "- GFLOP/s = conv FLOPs per iteration (3x the forward FLOPs of the convs up to the deepest "
        "layer used, one forward+backward per iteration, targets free) / seconds per iteration. "
        "With the extractor frozen there are no weight gradients: torch's FlopCounterMode counts "
        + ", ".join(
            f"{r['flops']['per_iter_counted'] / 1e9:.2f} GFLOP/it at {r['size']}"
            for r in report["sizes"]
        )
        + " (about 2x forward), so the real arithmetic rate is about 2/3 of the column.",
        "- a/b idle repeats = the ratio of medians over the repeats where other processes kept "
        f"at most {IDLE_CORES} cores busy during both (a) and (b): trust it over a/b when they "
        "differ. bench.json also has ratio_best_a_over_best_b (fastest repeat of each).",
        "- same work check: the last logged loss/total of (a) and of (b) agree at every size: "
        + ", ".join(
            f"{r['size']}: {'yes' if r['same_final_loss'] else 'NO'}" for r in report["sizes"]
        )
        + " (relative tolerance 1e-4).",
        "- harness fixed s/run = run() call time - iterations x s/it: set-up (weights, hashes, git, "
        "W&B init), the first step and W&B finish.",
        "- other procs = average cores kept busy by other processes during the size's "
        "measurements (/proc/stat busy time minus this process's CPU time).",
        "- the harness runs' progress bar and W&B messages go to harness.log beside this file "
        "(unless --show-harness-output).",
        "",
    ]
    lines += startup_markdown(report["startup"], env.get("startup_other_processes_cores"))
    lines += startup_.markdown(report.get("startup_whole") or {}, report.get("imports") or {})
    lines += largest_markdown(report.get("largest") or {}, env["device"])
    if report.get("quality"):
        lines += ["", quality.markdown(report["quality"], report["quality"].get("overrides", []))]
    if report.get("style_losses"):
        lines += style_losses_markdown(report["style_losses"])
    if report.get("pyramid"):
        lines += ["", *pyramid.markdown(report["pyramid"])]
    if report.get("feedforward"):
        lines += ["", *feedforward.markdown(report["feedforward"])]
    lines.append("")
    return "\n".join(lines)


def size_rows(sizes: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The timing table's rows, and the sizes measured while other processes were busy."""
    lines: list[str] = []
    busy: list[str] = []
    for r in sizes:
        a = [x["s_per_iter"] for x in r["harness"]]
        b = [x["s_per_iter"] for x in r["plain"]]
        fixed = [x["fixed_s"] for x in r["harness"] if x["fixed_s"] is not None]
        f = r["flops"]
        h, w = f["image_hw"]
        other = r["other_processes_cores"]
        ratio, n_idle = idle_ratio(r)
        idle_text = "none" if ratio is None else f"{ratio:.3f} ({n_idle} of {len(r['harness'])})"
        if other is not None and other > IDLE_CORES:
            busy.append(f"{r['size']} ({other:.2f} cores)")
        lines.append(
            f"| {r['size']} | {h}x{w} | {spread(a)} | {spread(b)} | {r['ratio_a_over_b']:.3f} "
            f"| {idle_text} "
            f"| {(r['harness_s_per_iter'] - r['plain_s_per_iter']) * 1e3:.1f} "
            f"| {f['forward'] / 1e9:.2f} | {f['per_iter_3x'] / 1e9:.2f} "
            f"| {r['gflops_b']:.1f} | {r['gflops_a']:.1f} "
            f"| {statistics.median(fixed):.2f} "
            f"| {max(x['peak_mb'] for x in r['harness']):.0f} "
            f"| {max(x['peak_mb'] for x in r['plain']):.0f} "
            f"| {'n/a' if other is None else f'{other:.2f}'} |"
        )
    return lines, busy


def startup_markdown(startup: dict[str, Any], other: float | None) -> list[str]:
    if not startup:
        return []
    lines = [
        "## Start-up (subprocess, wall time from launch to exit)",
        "",
        "| command | median s | all s |",
        "|---|---:|---|",
    ]
    for cmd, t in startup.items():
        lines.append(
            f"| `{cmd}` | {t['median_s']:.2f} | {', '.join(f'{x:.2f}' for x in t['all_s'])} |"
        )
    if other is not None:
        lines += ["", f"- other processes kept {other:.2f} cores busy meanwhile."]
    return lines


def largest_markdown(largest: dict[str, Any], device: str) -> list[str]:
    if not largest:
        return []
    lines = ["", "## Largest size that fits", ""]
    if largest.get("estimate_px") is not None:
        lines.append(
            f"- estimate (`nst_research.engine.memory`, what `nst` accepts): long side "
            f"{largest['estimate_px']} px with {largest['free_mb'] / 1024:.1f} GiB free on {device}"
        )
    if largest.get("measured_px") is not None:
        bound = " or more (the search's ceiling)" if largest["measured_is_lower_bound"] else ""
        peak = largest.get("peak_mb")
        lines.append(
            f"- measured: long side {largest['measured_px']} px{bound} runs L-BFGS without "
            "running out of memory"
            + (f", peak {peak:.0f} MiB allocated" if peak is not None else "")
            + " (bisected to 64 px)"
        )
    elif device != "cuda":
        lines.append("- not measured on CPU (it would mean filling the machine's memory)")
    return lines


# --- main --------------------------------------------------------------------------------------


def measure_size(
    size: int, iters: int, device: str, args: argparse.Namespace, tmp: Path, log: Path | None
) -> dict[str, Any]:
    """A warm-up, then ``args.repeats`` interleaved (a) harness and (b) plain measurements."""
    cfg = compose_cfg(size, iters, device, args.set)
    warm_cfg = compose_cfg(size, args.warmup_iters, device, args.set)
    setup = PlainSetup(cfg, device)
    flops = count_flops(setup)
    other = OtherLoad()
    print(f"[bench] size {size}: warm-up", file=sys.stderr, flush=True)
    time_harness(warm_cfg, tmp, f"{size}_warmup", device, log)
    time_plain(setup, args.warmup_iters, drop=1)
    harness, plain = [], []
    for rep in range(args.repeats):
        harness.append(time_harness(cfg, tmp, f"{size}_{rep}", device, log))
        plain.append(time_plain(setup, iters, drop=1))
        print(
            f"[bench] size {size} repeat {rep}: a {harness[-1]['s_per_iter']:.4f} s/it, "
            f"b {plain[-1]['s_per_iter']:.4f} s/it (other processes: "
            f"{fmt_cores(harness[-1]['other_processes_cores'])}, "
            f"{fmt_cores(plain[-1]['other_processes_cores'])} cores)",
            file=sys.stderr,
            flush=True,
        )
    del setup
    gc.collect()
    return summarise_size(size, harness, plain, flops, other.cores())


def summarise_size(size, harness, plain, flops, other_cores) -> dict[str, Any]:
    a = statistics.median(x["s_per_iter"] for x in harness)
    b = statistics.median(x["s_per_iter"] for x in plain)
    evals = statistics.median(x["closure_evals_per_iter"] for x in plain)
    per_iter = flops["per_iter_3x"] * evals
    return {
        "size": size,
        "harness": harness,
        "plain": plain,
        "harness_s_per_iter": a,
        "plain_s_per_iter": b,
        "ratio_a_over_b": a / b,
        "ratio_best_a_over_best_b": min(x["s_per_iter"] for x in harness)
        / min(x["s_per_iter"] for x in plain),
        "flops": flops,
        "other_processes_cores": other_cores,
        "closure_evals_per_iter": evals,
        "gflops_b": per_iter / b / 1e9,
        "gflops_a": per_iter / a / 1e9,
        "gflops_counted_b": flops["per_iter_counted"] * evals / b / 1e9,
        "same_final_loss": all(
            math.isclose(x["final_loss"], y["final_loss"], rel_tol=1e-4)
            for x, y in zip(harness, plain, strict=True)
        ),
    }


STYLE_LOSSES = ("gram", "mean_std", "mmd", "wasserstein", "sliced_wasserstein", "mrf")


def measure_style_losses(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """The plain loop's seconds per iteration for every ``style_loss=`` option at one size
    (the defaults of each option's YAML, gatys2016 layers), against ``gram`` in the same run."""
    size, iters = args.style_losses_size, args.style_losses_iters
    rows = []
    for option in STYLE_LOSSES:
        print(f"[bench] style_loss={option} at {size} px ...", file=sys.stderr, flush=True)
        setup = PlainSetup(
            compose_cfg(size, iters, device, [f"style_loss={option}", *args.set]), device
        )
        time_plain(setup, 2, drop=1)  # warm-up
        r = time_plain(setup, iters, drop=1)
        rows.append({"option": option, "estimate_work_mb": setup.style_work_mb, **r})
        del setup
        gc.collect()
    gram = rows[0]["s_per_iter"]
    for r in rows:
        r["ratio_to_gram"] = r["s_per_iter"] / gram
    return {"size": size, "iterations": iters, "rows": rows}


def style_losses_markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"## Style losses ({result['size']} px, plain loop)",
        "",
        "| style_loss | s/it | x gram | estimate: term MiB | peak MiB | other procs (cores) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['option']} | {r['s_per_iter']:.3f} | {r['ratio_to_gram']:.2f} "
            f"| {r['estimate_work_mb']:.0f} | {r['peak_mb']:.0f} "
            f"| {fmt_cores(r['other_processes_cores'])} |"
        )
    lines += [
        "",
        f"- each option at its YAML's defaults on the gatys2016 layers (relu1_1..relu5_1), "
        f"{result['iterations']} iterations after a 2-iteration warm-up, median s/it (first "
        "dropped); x gram = the ratio to the first row of the same run.",
        "- estimate: term MiB = what `nst_research.engine.memory` adds for the style term (stored "
        "targets, tensors kept for the backward, MRF's similarity chunk) on top of the network; "
        "peak MiB = the process's resident high-water mark during the measurement.",
    ]
    return lines


def measure_quality(
    args: argparse.Namespace, device: str, tmp: Path, log: Path | None
) -> dict[str, Any]:
    """Time to quality (``quality.py``) for the default settings (plus ``--set``)."""
    overrides = [f"snapshot_every={args.quality_every}", *args.set]
    cfg = compose_cfg(args.quality_size, args.quality_iters, device, overrides)
    result = quality.time_to_quality(cfg, tmp / "quality", args.quality, log)
    result["overrides"] = list(args.set)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", help="default: 128 256 (+ 512 1024 on GPU)")
    p.add_argument("--iters", type=int, help="iterations per measurement (default 20 CPU, 50 GPU)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved a/b repeats (default 3)")
    p.add_argument("--warmup-iters", type=int, default=3, help="iterations of each warm-up run")
    p.add_argument(
        "--startup-repeats", type=int, default=3, help="runs of each start-up command (0: skip)"
    )
    p.add_argument(
        "--startup-size", type=int, default=256, help="image size of the whole-process comparison"
    )
    p.add_argument(
        "--startup-iters", type=int, default=30, help="iterations of the whole-process comparison"
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra nst override for both loops (repeatable), e.g. --set trainer.bf16=true",
    )
    p.add_argument(
        "--no-largest",
        action="store_true",
        help="skip the search for the largest size that fits (GPU; on CPU only the estimate)",
    )
    p.add_argument(
        "--quality",
        default=quality.DEFAULT_TARGET,
        help=f"time-to-quality target: eval thresholds joined by 'and' (default {quality.DEFAULT_TARGET!r})",
    )
    p.add_argument("--quality-size", type=int, default=256, help="image size of that run (px)")
    p.add_argument("--quality-iters", type=int, default=300, help="iterations at most")
    p.add_argument("--quality-every", type=int, default=10, help="score every N iterations")
    p.add_argument("--no-quality", action="store_true", help="skip the time-to-quality run")
    p.add_argument(
        "--style-losses-size",
        type=int,
        default=256,
        help="size of the per-style_loss rows (px; 0: skip them)",
    )
    p.add_argument(
        "--style-losses-iters", type=int, default=5, help="iterations per style_loss option"
    )
    p.add_argument(
        "--pyramid-sizes",
        type=int,
        nargs="+",
        help="sizes of the time-to-quality comparison with and without schedule=pyramid "
        "(default: 512 1024 on GPU, 512 on CPU, where a plain 1024 px run of 200 iterations "
        "takes about 26 min on 2 cores; 0: skip)",
    )
    p.add_argument(
        "--pyramid-iters", type=int, default=200, help="iterations at most, per run of that"
    )
    p.add_argument("--pyramid-every", type=int, default=10, help="score every N iterations")
    p.add_argument(
        "--pyramid-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an override for the pyramid runs only, e.g. --pyramid-set 'schedule.sizes=[256,512]'",
    )
    p.add_argument("--feedforward-sizes", type=int, nargs="+",
                   help="init=content vs init=feedforward (feedforward.py); default 256 CPU, 256 512 GPU; 0 skips")  # fmt: skip
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
    return p.parse_args(argv)


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        print(markdown(json.loads(args.render.read_text())))
        return 0
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    sizes = args.sizes or ([128, 256, 512, 1024] if device == "cuda" else [128, 256])
    iters = args.iters or (50 if device == "cuda" else 20)
    if iters < 3:
        raise SystemExit("--iters must be at least 3 (the first iteration is dropped)")

    tmp_ctx = tempfile.TemporaryDirectory(prefix="nst-bench-")
    tmp = Path(tmp_ctx.name)
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        os.environ[var] = str(tmp / "wandb")
    (tmp / "wandb").mkdir()

    threads_before = torch.get_num_threads()
    environment = environment_info(args, device, sizes, iters, threads_before)
    t_total = time.perf_counter()
    print(
        f"[bench] {device} ({environment['device_name']}), sizes {sizes}, {iters} iterations, "
        f"{args.repeats} repeats",
        file=sys.stderr,
        flush=True,
    )

    startup, whole, imports = {}, {}, {}
    if args.startup_repeats > 0:
        print("[bench] start-up times ...", file=sys.stderr, flush=True)
        other = OtherLoad()
        startup = time_startup(tmp, args.startup_repeats)
        imports = startup_.import_profile(dict(os.environ))
        whole = time_whole_process(tmp, args.startup_size, args.startup_iters, args.startup_repeats)
        environment["startup_other_processes_cores"] = other.cores()

    args.out.mkdir(parents=True, exist_ok=True)
    log = None if args.show_harness_output else args.out / "harness.log"
    if log is not None:
        log.write_text("")
        print(f"[bench] harness output goes to {log}", file=sys.stderr, flush=True)
    results = [measure_size(size, iters, device, args, tmp, log) for size in sizes]
    quality = {}
    if args.quality and not args.no_quality:
        print("[bench] time to quality ...", file=sys.stderr, flush=True)
        quality = measure_quality(args, device, tmp, log)
    style_losses = {}
    if args.style_losses_size > 0:
        style_losses = measure_style_losses(args, device)
    pyramid_result = {}
    default_pyramid = [512, 1024] if device == "cuda" else [512]
    pyramid_sizes = [s for s in (args.pyramid_sizes or default_pyramid) if s > 0]
    if pyramid_sizes and args.quality:
        print(f"[bench] coarse to fine at {pyramid_sizes} ...", file=sys.stderr, flush=True)
        pyramid_result = pyramid.measure(
            pyramid_sizes, args.pyramid_iters, args.pyramid_every, args.quality,
            lambda size, n, extra: compose_cfg(size, n, device, extra), tmp, log, args.set,
            args.pyramid_set,
        )  # fmt: skip
    ff_sizes = [
        s for s in (args.feedforward_sizes or ([256, 512] if device == "cuda" else [256])) if s > 0
    ]
    ff_result = ff_sizes and args.quality and feedforward.measure(
        ff_sizes, args.quality_iters, args.quality_every, args.quality,
        lambda size, n, extra: compose_cfg(size, n, device, extra), tmp, log, args.set)  # fmt: skip
    print("[bench] largest size that fits ...", file=sys.stderr, flush=True)
    largest = largest_size(device, max(sizes), 3, args.set, measure=not args.no_largest)
    environment["torch_threads_after"] = torch.get_num_threads()
    environment["total_s"] = time.perf_counter() - t_total
    report = {
        "environment": environment,
        "sizes": results,
        "startup": startup,
        "startup_whole": whole,
        "imports": imports,
        "largest": largest,
        "quality": quality,
        "style_losses": style_losses,
        "pyramid": pyramid_result,
        "feedforward": ff_result or {},
    }
    text = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.md").write_text(text)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    if pyramid_result:
        pyramid.plot(pyramid_result, args.out / "pyramid.png")
    print(text)
    print(
        f"[bench] wrote {args.out / 'bench.md'} and bench.json in {environment['total_s']:.0f} s",
        file=sys.stderr,
    )
    tmp_ctx.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
