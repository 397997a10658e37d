"""Running a benchmark's pending jobs as ``nst -m`` sweeps, and finding the finished ones on disk.

Layout: ``<out>/runs/<method>/<sweep stamp>/<job num>/`` (Hydra's multirun job dirs). A job is
identified by its method (the folder) and its pair (``content``/``style`` of its
``.hydra/config.yaml``); it is done when its ``metrics.json`` says ``completed``. A re-run only
launches the pairs not done, in new sweep dirs, so a stopped benchmark resumes and a failed job is
retried; when a pair was completed twice, the latest sweep's counts. Each sweep is one method on
one content image and the styles it misses (``content=a style=x,y,z``), through whatever
``hydra/launcher`` the overrides name; the sweeps take the methods in turn, content by content,
so a benchmark stopped half-way has every method on the same first contents.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from nst_research.benchmark.plan import Plan, pair_name

RUNS = "runs"


@dataclass
class Job:
    """One finished or failed job dir of a benchmark."""

    method: str
    pair: str
    content: str
    style: str
    job_dir: Path
    status: str
    metrics: dict | None
    error: str = ""


def _read_job(method: str, job_dir: Path) -> Job | None:
    try:
        cfg = yaml.safe_load((job_dir / ".hydra" / "config.yaml").read_text())
        content, style = str(Path(cfg["content"]).resolve()), str(Path(cfg["style"]).resolve())
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
    try:
        metrics = json.loads((job_dir / "metrics.json").read_text())
        status, error = str(metrics.get("status")), str(metrics.get("error") or "")
    except (OSError, ValueError):
        metrics, status, error = None, "failed", _last_log_line(job_dir)
    return Job(method, pair_name(content, style), content, style, job_dir, status, metrics, error)


def _last_log_line(job_dir: Path) -> str:
    for log in sorted(job_dir.glob("*.log")):
        lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
        if lines:
            return lines[-1].strip()
    return "no metrics.json"


def scan(out: Path) -> list[Job]:
    """Every job dir under ``<out>/runs``, oldest sweep first."""
    jobs: list[Job] = []
    for method_dir in sorted(p for p in (out / RUNS).glob("*") if p.is_dir()):
        for sweep in sorted(p for p in method_dir.iterdir() if p.is_dir()):
            nums = sorted(
                (p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
            )
            jobs += [j for j in (_read_job(method_dir.name, p) for p in nums) if j is not None]
    return jobs


def latest(jobs: list[Job], plan: Plan) -> dict[tuple[str, str], Job]:
    """(method, pair) -> its job: the latest completed one, else the latest attempt; only the
    plan's methods and pairs (their images' paths must match)."""
    wanted = {(pair_name(c, s), str(Path(c)), str(Path(s))) for c, s in plan.pairs}
    best: dict[tuple[str, str], Job] = {}
    for job in jobs:
        if job.method not in plan.methods or (job.pair, job.content, job.style) not in wanted:
            continue
        key = (job.method, job.pair)
        if job.status == "completed" or best.get(key) is None or best[key].status != "completed":
            best[key] = job
    return best


def pending(plan: Plan, done: dict[tuple[str, str], Job]) -> dict[str, list[tuple[str, str]]]:
    """method -> the (content, style) pairs with no completed job."""
    todo: dict[str, list[tuple[str, str]]] = {}
    for method in plan.methods:
        rest = [
            (c, s) for c, s in plan.pairs if _status(done, method, pair_name(c, s)) != "completed"
        ]
        if rest:
            todo[method] = rest
    return todo


def _status(done: dict, method: str, pair: str) -> str | None:
    job = done.get((method, pair))
    return job.status if job else None


def sweeps(todo: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str, list[str]]]:
    """(method, content, styles) sweeps: content by content, each method in turn."""
    by_content: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for method, pairs in todo.items():
        for c, s in pairs:
            by_content[c][method].append(s)
    return [(m, c, styles) for c, per in by_content.items() for m, styles in per.items()]


def _quote(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def sweep_command(
    plan: Plan, method: str, content: str, styles: list[str], sweep_dir: Path
) -> list[str]:
    """The ``nst -m`` command of one sweep; the user's overrides win over the benchmark's
    defaults (logger, snapshots, checkpoint), the method's over both."""
    base = [
        f"size={plan.size}",
        f"iterations={plan.iterations}",
        f"seed={plan.seed}",
        "logger=none",
        "snapshot_every=0",
        "checkpoint=never",
        f"eval=[{','.join(plan.eval)}]",
    ]
    later = [*plan.overrides, *plan.methods[method]]
    keys = {_key(o) for o in later}
    return [
        sys.executable,
        "-m",
        "nst_research.cli",
        "-m",
        "content=" + _quote(content),
        "style=" + ",".join(map(_quote, styles)),
        *[o for o in base if _key(o) not in keys],
        *later,
        f"hydra.sweep.dir={_quote(str(sweep_dir))}",
    ]


def run_pending(plan: Plan, out: Path, log=print) -> None:
    """Launch a sweep per method and group of pending pairs; a failing sweep is not fatal."""
    done = latest(scan(out), plan)
    todo = pending(plan, done)
    total = sum(len(p) for p in todo.values())
    n_done = len(plan.pairs) * len(plan.methods) - total
    log(f"{n_done} jobs done, {total} to run")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    for method, content, styles in sweeps(todo):
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 10**9:09d}"
        sweep_dir = out / RUNS / method / stamp
        cmd = sweep_command(plan, method, content, styles, sweep_dir)
        log(f"{method}: {Path(content).stem} x {len(styles)} styles -> {sweep_dir}")
        with open(out / "logs" / f"{stamp}_{method}.log", "w") as f:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
        if rc not in (0, 1) or not sweep_dir.is_dir():  # 1: a job failed (listed in the report)
            log(f"{method}: the sweep exited with code {rc} (see {f.name})")
