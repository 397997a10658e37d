"""The method table of a benchmark: per method, the mean and 95% interval over pairs of every
metric; paired differences against a baseline; a per-style breakdown. Pure data in, rows out;
:mod:`nst_research.benchmark.report` writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from nst_research.benchmark.plan import Plan, pair_name
from nst_research.benchmark.runner import Job
from nst_research.benchmark.stats import Interval, Paired, better_sign, paired, t_interval

S_PER_IMAGE = "s_per_image"  # metrics.json fit_time_s: optimisation (and scoring) of one image
PEAK_MB = "peak_memory_mb"
# Column order: style-side metrics, content-side, then cost; any other eval/ key follows.
ORDER = [
    "eval/style_ratio",
    "eval/random_style_ratio",
    "eval/hist_rgbuv",
    "eval/colour_distance",
    "eval/content_ratio",
    "eval/random_content_ratio",
    "eval/cfsd",
    "eval/ssim",
    "eval/lpips",
    S_PER_IMAGE,
    PEAK_MB,
]
HIDDEN = {"eval/style_distance", "eval/content_distance"}  # the ratios say the same, scale-free


@dataclass
class Results:
    """Per method, per pair: the metric values of its completed job."""

    plan: Plan
    values: dict[str, dict[str, dict[str, float]]]  # method -> pair -> metric -> value
    jobs: dict[tuple[str, str], Job]
    metrics: list[str] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return list(self.plan.methods)

    @property
    def pairs(self) -> list[str]:
        return [pair_name(c, s) for c, s in self.plan.pairs]

    def column(self, method: str, metric: str, pairs: list[str] | None = None) -> list[float]:
        rows = self.values.get(method, {})
        keys = pairs if pairs is not None else [p for p in self.pairs if p in rows]
        return [rows[p][metric] for p in keys if metric in rows.get(p, {})]

    def failed(self) -> list[tuple[str, str, str, str]]:
        """(method, pair, status, error) of every planned job not completed."""
        out = []
        for m in self.methods:
            for p in self.pairs:
                job = self.jobs.get((m, p))
                if job is None:
                    out.append((m, p, "not run", ""))
                elif job.status != "completed":
                    out.append((m, p, job.status, job.error))
        return out


def job_values(job: Job) -> dict[str, float]:
    """The numbers of one completed job: its eval/ scores, seconds per image and peak memory."""
    m = job.metrics or {}
    values = {k: float(v) for k, v in (m.get("eval") or {}).items() if _finite(v)}
    if _finite(m.get("fit_time_s")):
        values[S_PER_IMAGE] = float(m["fit_time_s"])
    if _finite(m.get(PEAK_MB)):
        values[PEAK_MB] = float(m[PEAK_MB])
    return values


def _finite(v) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def collect(plan: Plan, jobs: dict[tuple[str, str], Job]) -> Results:
    values: dict[str, dict[str, dict[str, float]]] = {m: {} for m in plan.methods}
    seen: set[str] = set()
    for (method, pair), job in jobs.items():
        if job.status == "completed":
            values[method][pair] = job_values(job)
            seen |= set(values[method][pair])
    metrics = [k for k in ORDER if k in seen] + sorted(seen - set(ORDER) - HIDDEN)
    return Results(plan, values, jobs, metrics)


def method_rows(res: Results) -> dict[str, dict[str, Interval]]:
    """method -> metric -> mean and 95% t interval over the method's completed pairs."""
    return {m: {k: t_interval(res.column(m, k)) for k in res.metrics} for m in res.methods}


def common_pairs(res: Results, methods: list[str]) -> list[str]:
    """The pairs every one of ``methods`` completed (the paired comparison's pairs)."""
    return [p for p in res.pairs if all(p in res.values.get(m, {}) for m in methods)]


def paired_rows(res: Results, baseline: str) -> dict[str, dict[str, Paired]]:
    """method -> metric -> the paired comparison with the baseline on their common pairs."""
    out: dict[str, dict[str, Paired]] = {}
    for m in res.methods:
        if m == baseline:
            continue
        pairs = common_pairs(res, [m, baseline])
        out[m] = {}
        for k in res.metrics:
            a, b = res.column(m, k, pairs), res.column(baseline, k, pairs)
            if len(a) == len(b) == len(pairs) and pairs:
                out[m][k] = paired(a, b, k)
    return out


def per_style(res: Results, metric: str) -> dict[str, dict[str, float]]:
    """style stem -> method -> mean of ``metric`` over that style's completed pairs."""
    out: dict[str, dict[str, float]] = {}
    for _c, s in res.plan.pairs:
        out.setdefault(Path(s).stem, {})
    for style in out:
        for m in res.methods:
            vals = [
                v[metric]
                for p, v in res.values.get(m, {}).items()
                if p.split("__", 1)[1] == style and metric in v
            ]
            out[style][m] = sum(vals) / len(vals) if vals else math.nan
    return out


def best_method(row: dict[str, float], metric: str) -> str | None:
    """The method with the best mean in a per-style row (None if none has a value)."""
    vals = {m: v for m, v in row.items() if math.isfinite(v)}
    if not vals:
        return None
    sign = better_sign(metric)
    return max(vals, key=lambda m: sign * vals[m])
