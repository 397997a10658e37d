"""Statistics of a method table: t intervals over pairs, paired tests against a baseline, and
wins/ties/losses. Intervals and tests come from scipy.

The pairs are the unit: a method's value on a metric is one number per pair (one seed), so the
interval says how the mean over *these kinds of pairs* is pinned down, not how much a rerun would
vary (a deterministic rerun of the same pair gives the same pixels: no spread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

# Metrics where a higher value is better; every other one is lower-better.
HIGHER_IS_BETTER = {"eval/ssim"}


def better_sign(metric: str) -> int:
    """+1 when a higher value is better, -1 when a lower one is."""
    return 1 if metric in HIGHER_IS_BETTER else -1


@dataclass(frozen=True)
class Interval:
    """Mean and its 95% t interval over n values (lo = hi = mean for n = 1 or no spread)."""

    n: int
    mean: float
    lo: float
    hi: float


def t_interval(values: list[float], confidence: float = 0.95) -> Interval:
    """scipy's Student t interval of the mean; NaN bounds for n < 2."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return Interval(1, mean, math.nan, math.nan)
    sem = float(stats.sem(x))
    if sem == 0.0:
        return Interval(n, mean, mean, mean)
    lo, hi = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(n, mean, float(lo), float(hi))


@dataclass(frozen=True)
class Paired:
    """A method against the baseline on the same pairs, one metric.

    ``diff`` is method - baseline (its mean and 95% t interval); ``p_t`` the two-sided paired t
    test (scipy.stats.ttest_rel), ``p_wilcoxon`` the Wilcoxon signed-rank test (NaN when every
    difference is 0 or n < 2); wins/ties/losses count the pairs where the method is better,
    equal (within ``rel_tol``), or worse, in the metric's better direction.
    """

    diff: Interval
    p_t: float
    p_wilcoxon: float
    wins: int
    ties: int
    losses: int


def paired(
    method: list[float], baseline: list[float], metric: str, rel_tol: float = 1e-9
) -> Paired:
    """Compare two equally long lists of per-pair values (the same pairs, in one order)."""
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired values need the same pairs")
    d = a - b
    tol = rel_tol * np.maximum(np.abs(a), np.abs(b))
    tie = np.abs(d) <= tol
    better = (better_sign(metric) * d > 0) & ~tie
    worse = ~better & ~tie
    p_t = p_w = math.nan
    if len(d) >= 2 and not np.all(d == d[0]):
        p_t = float(stats.ttest_rel(a, b).pvalue)
    if len(d) >= 2 and np.any(d != 0):
        p_w = float(stats.wilcoxon(a, b).pvalue)
    return Paired(
        t_interval(list(d)), p_t, p_w, int(better.sum()), int(tie.sum()), int(worse.sum())
    )
