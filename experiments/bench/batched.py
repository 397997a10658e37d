"""Batched problems (issue 28): throughput, and per-job overhead of a sweep by launcher.

``throughput``: N problems of one size (seeds 0..N-1, style weights 10^2..10^4, ``eval=[]``,
``logger=none``) run by :func:`nst_research.batched.fit.run_batch`; problems per minute end to
end (build, optimisation, writing) and of the optimisation alone (``fit_time_s``). A batch of 1
warms up each size first (weights, allocator, cuDNN autotuning), untimed.

``overhead``: a sweep of K tiny jobs (``seed=0..K-1``, W&B offline, default eval metrics) through
the ``nst`` command with each launcher, timed from launch to exit. Optimisation time is the sum of
the jobs' ``fit_time_s`` (a batch's jobs share one fit: counted once); overhead per job = (sweep
wall time - optimisation time) / K: process start, composing, building, W&B, evaluation,
writing. ``in_job_s``: the mean of ``wall_time_s - fit_time_s`` (the part inside each job's run).
joblib runs ``hydra.launcher.n_jobs`` processes at once, so its wall time is shared among them.

    python experiments/bench/batched.py throughput --sizes 128 256 --batches 1 4 16 --iterations 50
    python experiments/bench/batched.py overhead --jobs 16 --size 32 --iterations 2
    (add --trainer gpu [--bf16] on a GPU; --out FILE.json writes the rows)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib"],
    "batched": ["hydra/launcher=batched"],
}


def _base(size: int, iterations: int, trainer: str, bf16: bool, optimizer: str) -> list[str]:
    return [
        f"size={size}", f"iterations={iterations}", f"trainer={trainer}", f"optimizer={optimizer}",
        "trainer.progress_bar=false", "snapshot_every=0", *(["trainer.bf16=true"] if bf16 else []),
    ]  # fmt: skip


def throughput(
    sizes: list[int], batches: list[int], iterations: int, trainer: str, bf16: bool, optimizer: str
) -> list[dict[str, Any]]:
    """One row per (size, batch): wall and fit seconds, problems per minute."""
    from nst_research.batched.fit import Job, run_batch
    from nst_research.configs.compose import compose

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            base = [*_base(size, iterations, trainer, bf16, optimizer), "logger=none", "eval=[]"]
            warm = compose([*base, "iterations=2"])
            run_batch([Job(warm, Path(tmp) / f"warm{size}")])
            for n in batches:
                jobs = [
                    Job(
                        compose([*base, f"seed={k}", f"loss.style_weight={10 ** (2 + 2 * k / max(1, n - 1)):.4g}"]),
                        Path(tmp) / f"{size}_{n}_{k}",
                    )
                    for k in range(n)
                ]  # fmt: skip
                start = time.perf_counter()
                results = run_batch(jobs)
                wall = time.perf_counter() - start
                bad = [r for r in results if not isinstance(r, dict)]
                if bad:
                    raise RuntimeError(f"size {size}, batch {n}: {bad[0]}")
                fit_s = float(results[0]["fit_time_s"])
                rows.append({
                    "size": size, "batch": n, "iterations": iterations, "wall_s": wall,
                    "fit_s": fit_s, "problems_per_min": 60 * n / wall,
                    "fit_problems_per_min": 60 * n / fit_s,
                    "s_per_iter": results[0]["s_per_iter"],
                    "peak_memory_mb": results[0]["peak_memory_mb"],
                    "device": results[0]["device"],
                })  # fmt: skip
                print(_line(rows[-1]), flush=True)
    return rows


def _sweep(launcher: str, k: int, base: list[str], sweep: Path, extra: list[str]) -> float:
    seeds = ",".join(str(i) for i in range(k))
    cmd = [sys.executable, "-m", "nst_research.cli", "-m", *base, f"seed={seeds}",
           f"hydra.sweep.dir={sweep}", *LAUNCHERS[launcher], *extra]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=sweep.parent)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{launcher} sweep failed:\n{proc.stderr[-2000:]}")
    return wall


def overhead(
    k: int, size: int, iterations: int, trainer: str, launchers: list[str], joblib_jobs: int | None
) -> list[dict[str, Any]]:
    """One row per launcher: the sweep's wall time, optimisation time and overhead per job."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for launcher in launchers:
            extra = (
                [f"hydra.launcher.n_jobs={joblib_jobs}"]
                if launcher == "joblib" and joblib_jobs
                else []
            )
            sweep = Path(tmp) / launcher
            wall = _sweep(
                launcher, k, _base(size, iterations, trainer, False, "lbfgs"), sweep, extra
            )
            metrics = [json.loads((sweep / str(j) / "metrics.json").read_text()) for j in range(k)]
            fits = [float(m["fit_time_s"]) for m in metrics]
            # the jobs of one batch record the same fit (the same float): count it once
            fit_total = sum(set(fits)) if launcher == "batched" else sum(fits)
            in_job = (
                sum(float(m["wall_time_s"]) - f for m, f in zip(metrics, fits, strict=True)) / k
            )
            rows.append({
                "launcher": launcher, "jobs": k, "size": size, "iterations": iterations,
                "sweep_wall_s": wall, "fit_total_s": fit_total,
                "overhead_per_job_s": (wall - fit_total) / k, "in_job_s": in_job,
                **({"n_jobs": joblib_jobs or "default"} if launcher == "joblib" else {}),
            })  # fmt: skip
            print(_line(rows[-1]), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--batched-sizes",
        type=int,
        nargs="+",
        help="sizes of the batched-problems throughput, batches 1 4 16 (default: none; 0: skip)",
    )
    p.add_argument("--batched-iters", type=int, default=50, help="iterations of those problems")
    p.add_argument(
        "--overhead-jobs",
        type=int,
        default=0,
        help="K tiny jobs (32 px, 2 iterations) per launcher for the per-job overhead table "
        "(basic, joblib, batched; default 0: skip)",
    )


def step(ctx: Any) -> dict[str, Any]:
    """``bench.py``'s batched-problems throughput and per-job overhead, when asked for."""
    args, trainer = ctx.args, "gpu" if ctx.device == "cuda" else "cpu"
    bf16 = any(s.replace(" ", "") == "trainer.bf16=true" for s in args.set)
    sizes = [s for s in (args.batched_sizes or []) if s > 0]
    out: dict[str, Any] = {"batched": [], "overhead_jobs": []}
    if sizes:
        print(f"[bench] batched problems at {sizes} ...", file=sys.stderr, flush=True)
        out["batched"] = throughput(sizes, [1, 4, 16], args.batched_iters, trainer, bf16, "lbfgs")
    if args.overhead_jobs > 0:
        print("[bench] per-job overhead by launcher ...", file=sys.stderr, flush=True)
        out["overhead_jobs"] = overhead(args.overhead_jobs, 32, 2, trainer, list(LAUNCHERS), None)
    return out


def markdown(result: dict[str, Any]) -> list[str]:
    """The report's sections: throughput by batch, overhead by launcher (those that ran)."""
    lines: list[str] = []
    if result.get("batched"):
        lines += ["", "## Batched problems: throughput", "", table(result["batched"])]
    if result.get("overhead_jobs"):
        lines += ["", "## Per-job overhead by launcher", "", table(result["overhead_jobs"])]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput", help="problems per minute by batch size and image size")
    t.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    t.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    t.add_argument("--iterations", type=int, default=50)
    t.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam", "sgd"])
    o = sub.add_parser("overhead", help="seconds per job outside optimisation, by launcher")
    o.add_argument("--jobs", type=int, default=16)
    o.add_argument("--size", type=int, default=32)
    o.add_argument("--iterations", type=int, default=2)
    o.add_argument("--launchers", nargs="+", default=list(LAUNCHERS), choices=list(LAUNCHERS))
    o.add_argument("--joblib-jobs", type=int, default=None, help="hydra.launcher.n_jobs")
    for p in (t, o):
        p.add_argument("--trainer", default="cpu", choices=["cpu", "gpu"])
        p.add_argument("--out", type=Path, default=None, help="write the rows as JSON")
    t.add_argument("--bf16", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "throughput":
        rows = throughput(
            args.sizes, args.batches, args.iterations, args.trainer, args.bf16, args.optimizer
        )
    else:
        rows = overhead(
            args.jobs, args.size, args.iterations, args.trainer, args.launchers, args.joblib_jobs
        )
    print(table(rows))
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
