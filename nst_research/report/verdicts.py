"""Verdicts: per swept key, which setting won on the ranking metric, by how much, and whether
the difference exceeds the spread.

A setting's runs are pooled over the other swept keys' values and over seeds (the completed
runs of every configuration with that setting). The winner is the best pooled mean; the margin
is its difference to the runner-up's, absolute and relative to the runner-up's mean. With at
least two seeds in both, the margin "exceeds the spread" when
``|diff| > 2 * sqrt(sd1^2 / n1 + sd2^2 / n2)`` (about two standard errors of the difference; the
pooled sd also holds the other keys' effects, so the test is conservative), else it is "within
the spread"; with one seed the spread is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nst_research.report.configs import UNSET, group_by_config, stat_runs
from nst_research.report.markdown import fmt_number
from nst_research.report.ranking import higher_is_better, metric_value, sort_value
from nst_research.report.records import RunRecord, natural_key
from nst_research.report.table import mean_sd

EXCEEDS = "exceeds the spread"
WITHIN = "within the spread"
SINGLE_SEED = "single seed: spread unknown"


@dataclass(frozen=True)
class Setting:
    """One value of a swept key: the ranking metric of its pooled runs, and how many seeds."""

    value: str
    values: tuple[float, ...]
    n_seeds: int

    @property
    def mean(self) -> float | None:
        return mean_sd(self.values)[0]

    @property
    def sd(self) -> float | None:
        return mean_sd(self.values)[1]


def spread_bound(a: Setting, b: Setting) -> float | None:
    """``2 * sqrt(sd_a^2 / n_a + sd_b^2 / n_b)``; None unless both have two or more seeds."""
    if min(a.n_seeds, b.n_seeds) < 2 or a.sd is None or b.sd is None:
        return None
    return 2.0 * math.sqrt(a.sd**2 / len(a.values) + b.sd**2 / len(b.values))


def _stat(setting: Setting) -> str:
    return f"{fmt_number(setting.mean)}, n={len(setting.values)}"


def verdict_line(key: str, metric: str, settings: Sequence[Setting]) -> str:
    """One markdown bullet: the winning setting of ``key`` on ``metric`` and its margin.

    Settings with no values are ignored; ties keep the order given.
    """
    valued = [s for s in settings if s.values]
    head = f"- `{key}`: "
    if not valued:
        return head + f"no run has {metric}"
    ordered = sorted(valued, key=lambda s: sort_value(s.mean, metric))
    best = ordered[0]
    if len(ordered) == 1:
        return head + f"only `{best.value}` has {metric} ({_stat(best)})"
    second = ordered[1]
    assert best.mean is not None and second.mean is not None
    diff = abs(best.mean - second.mean)
    relative = f"{100 * diff / abs(second.mean):.3g}%" if second.mean != 0 else "n/a"
    bound = spread_bound(best, second)
    if bound is None:
        judgement = SINGLE_SEED
    else:
        judgement = f"{EXCEEDS if diff > bound else WITHIN} (2·SE {fmt_number(bound)})"
    word = "higher" if higher_is_better(metric) else "lower"
    return head + (
        f"`{best.value}` wins on {metric} ({_stat(best)}) over `{second.value}` "
        f"({_stat(second)}): {fmt_number(diff)} {word} ({relative} of the runner-up's); "
        + judgement
    )


def key_settings(
    records: Sequence[RunRecord], keys: Sequence[str], index: int, metric: str
) -> list[Setting]:
    """The settings of ``keys[index]``, in natural order, each pooling its configurations' runs
    (their finite values of ``metric``)."""
    pooled: dict[str, list[RunRecord]] = {}
    for config, runs in group_by_config(records, keys).items():
        value = UNSET if config[index] is None else config[index]
        pooled.setdefault(value, []).extend(stat_runs(runs))
    settings = []
    for value in sorted(pooled, key=natural_key):
        used = [
            (r, v)
            for r in pooled[value]
            if (v := metric_value(r, metric)) is not None and math.isfinite(v)
        ]
        seeds = {r.seed for r, _ in used}
        settings.append(Setting(value, tuple(v for _, v in used), len(seeds)))
    return settings


def sweep_verdicts(records: Sequence[RunRecord], keys: Sequence[str], metric: str) -> list[str]:
    """One :func:`verdict_line` per swept key (besides the seed)."""
    return [
        verdict_line(k, metric, key_settings(records, keys, i, metric)) for i, k in enumerate(keys)
    ]
