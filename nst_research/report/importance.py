"""Which swept key mattered: the share of a metric's variance each key explains.

Two estimators, both functional ANOVA (Hutter, Hoos & Leyton-Brown, ICML 2014), chosen by the
sweep's design:

- **A full grid** (every combination of the swept values ran; the usual ``nst -m`` sweep): the
  decomposition is computed exactly from the configurations' means, with the uniform measure over
  the grid. The mean over the grid is f0; a key's main effect is f_k(v) = mean of the cells with
  k = v, minus f0, and V_k = mean over v of f_k(v)²; a pair's interaction f_kl(v, w) = mean of the
  cells with (k, l) = (v, w) minus f_k(v), f_l(w) and f0, V_kl = mean f_kl². What the cells vary
  beyond the main effects and pairs is ``higher-order``; the mean variance between the seeds of a
  configuration is ``seed (noise)``. Shares are fractions of the total variance over the runs,
  which these parts sum to exactly (with the same number of seeds per configuration). This is
  what fANOVA's random forest estimates; on a grid there is nothing to estimate.
- **Anything else** (an Optuna search, an incomplete grid): Optuna's
  ``FanovaImportanceEvaluator`` (a seeded random forest over the configurations' means, numeric
  keys as float ranges, the rest categorical); its importances are shares of the variance the
  forest explains (they sum to 1), with no seed share.

Categorical keys (layer presets, style losses, methods, images) are levels like any other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from nst_research.report.configs import group_by_config
from nst_research.report.ranking import metric_value
from nst_research.report.records import RunRecord, natural_key

SEED_PART = "seed (noise)"
HIGHER_PART = "higher-order"
EXACT = "exact functional ANOVA over the grid"
FOREST = "fANOVA (Optuna, random forest; shares of the explained variance)"


@dataclass
class Importance:
    """The variance of ``metric`` over a sweep's runs, by part.

    Attributes:
        metric: the metric decomposed.
        method: :data:`EXACT` or :data:`FOREST`.
        shares: key -> share of the variance (main effects), largest first.
        pairs: (key, key) -> share of their interaction (exact method only).
        other: :data:`HIGHER_PART` and :data:`SEED_PART` shares (exact method only).
        n_runs: the runs with a value of ``metric``.
    """

    metric: str
    method: str
    shares: dict[str, float]
    pairs: dict[tuple[str, str], float] = field(default_factory=dict)
    other: dict[str, float] = field(default_factory=dict)
    n_runs: int = 0

    def top(self) -> str | None:
        return next(iter(self.shares), None)


def _values(records: Sequence[RunRecord], keys: Sequence[str], metric: str):
    """(config -> list of the metric's finite values) over the runs that have it."""
    cells: dict[tuple, list[float]] = {}
    for config, runs in group_by_config(records, keys).items():
        vals = [metric_value(r, metric) for r in runs if not r.failed]
        vals = [v for v in vals if v is not None and math.isfinite(v)]
        if vals:
            cells[config] = vals
    return cells


def _levels(cells: dict[tuple, list[float]], n_keys: int) -> list[list]:
    return [sorted({c[i] for c in cells}, key=natural_key) for i in range(n_keys)]


def is_full_grid(cells: dict[tuple, list[float]], n_keys: int) -> bool:
    """Whether every combination of the keys' values has a configuration."""
    levels = _levels(cells, n_keys)
    return math.prod(len(lv) for lv in levels) == len(cells)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _marginal(means: dict[tuple, float], idx: Sequence[int]) -> dict[tuple, float]:
    """Mean of the cell means per combination of the keys at ``idx``."""
    groups: dict[tuple, list[float]] = {}
    for config, m in means.items():
        groups.setdefault(tuple(config[i] for i in idx), []).append(m)
    return {k: _mean(v) for k, v in groups.items()}


def exact_anova(cells: dict[tuple, list[float]], keys: Sequence[str], metric: str) -> Importance:
    """The exact decomposition on a full grid (module docstring)."""
    means = {c: _mean(v) for c, v in cells.items()}
    runs = [x for v in cells.values() for x in v]
    f0 = _mean(list(means.values()))
    between = _mean([(m - f0) ** 2 for m in means.values()])
    within = _mean([_mean([(x - _mean(v)) ** 2 for x in v]) for v in cells.values()])
    total = between + within
    if total <= 0:  # every run gave the same value: nothing to explain
        return Importance(metric, EXACT, {k: 0.0 for k in keys}, n_runs=len(runs))
    main = {i: {k: m - f0 for k, m in _marginal(means, [i]).items()} for i in range(len(keys))}
    v_main = {keys[i]: _mean([e**2 for e in eff.values()]) for i, eff in main.items()}
    v_pairs: dict[tuple[str, str], float] = {}
    for i, j in itertools.combinations(range(len(keys)), 2):
        joint = _marginal(means, [i, j])
        effects = [m - main[i][(a,)] - main[j][(b,)] - f0 for (a, b), m in joint.items()]
        v_pairs[(keys[i], keys[j])] = _mean([e**2 for e in effects])
    higher = max(0.0, between - sum(v_main.values()) - sum(v_pairs.values()))
    if len(keys) <= 2:
        higher = 0.0  # with two keys the pair is the whole interaction (rounding only)
    shares = dict(sorted(((k, v / total) for k, v in v_main.items()), key=lambda kv: -kv[1]))
    pairs = dict(sorted(((k, v / total) for k, v in v_pairs.items()), key=lambda kv: -kv[1]))
    other = {HIGHER_PART: higher / total, SEED_PART: within / total}
    return Importance(metric, EXACT, shares, pairs, other, len(runs))


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def forest_anova(
    cells: dict[tuple, list[float]], keys: Sequence[str], metric: str, seed: int = 0
) -> Importance:
    """Optuna's fANOVA over the configurations' means (module docstring)."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    levels = _levels(cells, len(keys))
    dists = {}
    for key, lv in zip(keys, levels, strict=True):
        nums = [_number(v) for v in lv]
        if all(n is not None for n in nums):
            lo, hi = min(nums), max(nums)
            dists[key] = FloatDistribution(lo, hi, log=lo > 0 and hi / lo > 10)
        else:
            dists[key] = CategoricalDistribution([str(v) for v in lv])
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    for config, vals in cells.items():
        params = {
            k: (_number(v) if isinstance(dists[k], FloatDistribution) else str(v))
            for k, v in zip(keys, config, strict=True)
        }
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=dists, value=_mean(vals))
        )
    got = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed))
    shares = {k: float(v) for k, v in got.items()}
    return Importance(metric, FOREST, shares, n_runs=sum(len(v) for v in cells.values()))


def importance(records: Sequence[RunRecord], keys: Sequence[str], metric: str) -> Importance | None:
    """The variance of ``metric`` by swept key; None when fewer than two configurations (or
    fewer than two keys for a non-grid sweep, where the forest needs a choice) have values.

    ``keys``: the swept keys other than the seed (the seed is the noise part)."""
    keys = list(keys)
    cells = _values(records, keys, metric)
    if not keys or len(cells) < 2:
        return None
    varying = [i for i, lv in enumerate(_levels(cells, len(keys))) if len(lv) > 1]
    keys = [keys[i] for i in varying]
    cells = _merge(cells, varying)
    if is_full_grid(cells, len(keys)):
        return exact_anova(cells, keys, metric)
    try:
        return forest_anova(cells, keys, metric)
    except ImportError:  # scikit-learn (Optuna's forest) not installed
        return None


def _merge(cells: dict[tuple, list[float]], idx: Sequence[int]) -> dict[tuple, list[float]]:
    """Cells keyed by the varying keys only (runs of configs that differ in nothing else pool)."""
    merged: dict[tuple, list[float]] = {}
    for config, vals in cells.items():
        merged.setdefault(tuple(config[i] for i in idx), []).extend(vals)
    return merged
