"""The search space: Hydra sweep overrides in, Optuna distributions out; trial params back to overrides.

| override                        | distribution                                        |
|---------------------------------|-----------------------------------------------------|
| ``k=a,b`` / ``k=choice(a,b)``   | ``CategoricalDistribution([a, b])``                 |
| ``k=interval(lo,hi)``           | ``FloatDistribution(lo, hi)``                       |
| ``k=tag(log,interval(lo,hi))``  | ``FloatDistribution(lo, hi, log=True)``             |
| ``k=range(a,b[,s])``            | ``IntDistribution(a, last, step=s)``, ``last < b``  |
| ``k=tag(log,range(a,b))``       | ``IntDistribution(a, b - 1, log=True)``             |
| ``k=v``, ``+k=v``, ``~k``       | fixed: passed unchanged to every job                |

``range`` excludes its end, as in Python and in Hydra's basic sweeper (the old hydra-optuna-sweeper
included it); a range with a float bound or step gives a stepped ``FloatDistribution``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


@dataclass(frozen=True)
class SearchSpace:
    """What trials vary and what every job gets.

    ``distributions``: override key (as written, e.g. ``loss.style_weight`` or ``+foo``) -> the
    distribution Optuna samples it from; ``fixed``: overrides passed unchanged to every job.
    """

    distributions: dict[str, BaseDistribution]
    fixed: tuple[str, ...]

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """One job's overrides: the fixed ones, then ``key=value`` for every sampled parameter."""
        return [*self.fixed, *(f"{key}={format_value(params[key])}" for key in self.distributions)]


def parse_search_space(overrides: Sequence[str]) -> SearchSpace:
    """The space of ``overrides`` (``hydra.sweeper.params`` as ``key=value``, then the command line).

    A later override of a key replaces an earlier one, so the command line wins over the preset.
    Raises ``ValueError`` for a sweep Optuna cannot sample (``shuffle``, ``glob``).
    """
    entries: dict[str, tuple[str, BaseDistribution | str]] = {}
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.get_key_element()
        entry = to_distribution(override) if override.is_sweep_override() else override.input_line
        entries.pop(key.lstrip("+~"), None)  # re-insert: the later one also takes the later place
        entries[key.lstrip("+~")] = (key, entry)
    distributions = {k: v for k, v in entries.values() if isinstance(v, BaseDistribution)}
    fixed = tuple(v for _, v in entries.values() if isinstance(v, str))
    return SearchSpace(distributions, fixed)


def to_distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override (see the module's table)."""
    sweep = override.value()
    log = "log" in getattr(sweep, "tags", set())
    if isinstance(sweep, IntervalSweep):
        low, high = float(sweep.start), float(sweep.end)
        key = override.get_key_element()
        if not low < high:
            raise ValueError(
                f"{override.input_line}: interval(low,high) needs low < high, e.g. "
                f"'{key}=interval({sweep.end:g},{sweep.start:g})'"
            )
        if log and low <= 0:
            raise ValueError(
                f"{override.input_line}: a log interval needs low > 0, e.g. "
                f"{key}='tag(log,interval({high / 1000:g},{high:g}))'"
            )
        return FloatDistribution(low, high, log=log)
    if isinstance(sweep, RangeSweep) and not sweep.shuffle:
        values = list(override.sweep_iterator())
        if not values:
            raise ValueError(f"{override.input_line}: the range is empty")
        low, high, step = min(values), max(values), abs(sweep.step)
        if all(isinstance(v, int) for v in (sweep.start, sweep.stop, sweep.step)):
            return IntDistribution(low, high, log=log, step=step)
        return FloatDistribution(float(low), float(high), log=log, step=float(step))
    if isinstance(sweep, ChoiceSweep) and not sweep.shuffle:
        return CategoricalDistribution(
            list(override.sweep_iterator(transformer=Transformer.encode))
        )
    raise ValueError(
        f"{override.input_line}: the nst_optuna sweeper takes choice(...)/a,b, interval(...), "
        "tag(log,interval(...)) or range(...), not this sweep"
    )


def format_value(value: Any) -> str:
    """A sampled value as Hydra's override grammar reads it back (``1e-05``, ``true``, ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)
