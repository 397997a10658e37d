"""Verdicts: per swept key, which setting won on the ranking metric, by how much, and whether
the difference is significant (Welch's t-test, scipy).

A setting's runs are pooled over the other swept keys' values and over seeds (the completed
runs of every configuration with that setting). The winner is the best pooled mean; the margin
is its difference to the runner-up's, absolute and relative to the runner-up's mean. With at
least two seeds in both, Welch's unequal-variance t-test
(``scipy.stats.ttest_ind(equal_var=False)``) gives the p-value and the 95% confidence interval
of the difference; the margin is "significant" when p < 0.05 (the pooled sd also holds the
other keys' effects, so the test is conservative). With one seed, or when a configuration's
seeds gave identical results (:mod:`.stats`: the seed had no effect), the spread is unknown and
no test is made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nst_research.report.configs import UNSET, group_by_config, stat_runs
from nst_research.report.markdown import fmt_number
from nst_research.report.ranking import higher_is_better, metric_value, sort_value
from nst_research.report.records import RunRecord, natural_key
from nst_research.report.stats import ALPHA, identical_replicates, no_effect_note, welch
from nst_research.report.table import mean_sd

SIGNIFICANT = f"significant at {ALPHA:g}"
NOT_SIGNIFICANT = f"not significant at {ALPHA:g}"
SINGLE_SEED = "single seed: spread unknown"
IDENTICAL = "seed has no effect: spread unknown"  # the default note for identical replicates


@dataclass(frozen=True)
class Setting:
    """One value of a swept key: the ranking metric of its pooled runs, and how many seeds."""

    value: str
    values: tuple[float, ...]
    n_seeds: int
    identical: bool = False  # some configuration's seeds gave identical results

    @property
    def mean(self) -> float | None:
        return mean_sd(self.values)[0]

    @property
    def sd(self) -> float | None:
        return mean_sd(self.values)[1]


def judgement(a: Setting, b: Setting, identical_note: str = IDENTICAL) -> str:
    """Whether ``a`` and ``b`` differ: Welch's t-test with its p-value and 95% CI of
    ``mean(a) - mean(b)``, or why there is no test (one seed, identical replicates)."""
    if a.identical or b.identical:
        return identical_note
    test = welch(a.values, b.values) if min(a.n_seeds, b.n_seeds) >= 2 else None
    if test is None:
        return SINGLE_SEED
    word = SIGNIFICANT if test.significant else NOT_SIGNIFICANT
    return (
        f"{word} (Welch's t-test p={test.p:.2g}; {100 * (1 - ALPHA):g}% CI of winner minus runner-up "
        f"{fmt_number(test.low)} to {fmt_number(test.high)})"
    )


def _stat(setting: Setting) -> str:
    return f"{fmt_number(setting.mean)}, n={len(setting.values)}"


def verdict_line(
    key: str, metric: str, settings: Sequence[Setting], identical_note: str = IDENTICAL
) -> str:
    """One markdown bullet: the winning setting of ``key`` on ``metric``, its margin and test.

    Settings with no values are ignored; ties keep the order given. ``identical_note``: what to
    say when a setting's seeds gave identical results (no test).
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
    word = "higher" if higher_is_better(metric) else "lower"
    return head + (
        f"`{best.value}` wins on {metric} ({_stat(best)}) over `{second.value}` "
        f"({_stat(second)}): {fmt_number(diff)} {word} ({relative} of the runner-up's); "
        + judgement(best, second, identical_note)
    )


def key_settings(
    records: Sequence[RunRecord], keys: Sequence[str], index: int, metric: str
) -> list[Setting]:
    """The settings of ``keys[index]``, in natural order, each pooling its configurations' runs
    (their finite values of ``metric``)."""
    pooled: dict[str, list[RunRecord]] = {}
    same: set[str] = set()
    for config, runs in group_by_config(records, keys).items():
        value = UNSET if config[index] is None else config[index]
        pooled.setdefault(value, []).extend(stat_runs(runs))
        if identical_replicates(stat_runs(runs)):
            same.add(value)
    settings = []
    for value in sorted(pooled, key=natural_key):
        used = [
            (r, v)
            for r in pooled[value]
            if (v := metric_value(r, metric)) is not None and math.isfinite(v)
        ]
        seeds = {r.seed for r, _ in used}
        settings.append(Setting(value, tuple(v for _, v in used), len(seeds), value in same))
    return settings


def sweep_verdicts(records: Sequence[RunRecord], keys: Sequence[str], metric: str) -> list[str]:
    """One :func:`verdict_line` per swept key (besides the seed)."""
    note = no_effect_note(records)
    return [
        verdict_line(k, metric, key_settings(records, keys, i, metric), note)
        for i, k in enumerate(keys)
    ]


def caption(line: str) -> str:
    """A verdict bullet as plain text for a figure (no bullet, no backticks)."""
    return line.removeprefix("- ").replace("`", "")
