"""Statistics of seed replicates: identical replicates (no spread) and Welch's t-test (scipy).

A configuration's seeds are *identical replicates* when they gave the same final image (the same
``final.png`` bytes) or, without images, the same evaluation values: the run did not depend on its
seed (L-BFGS from ``init=content`` is deterministic), so the seeds say nothing about the spread and
no test may be made. ``init.perturb`` (a seeded perturbation of the start) gives real replicates.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from nst_research.report.records import RunRecord, read_config

ALPHA = 0.05  # the test's level; the interval is the (1 - ALPHA) confidence interval


@dataclass(frozen=True)
class Welch:
    """Welch's unequal-variance t-test of two samples (``a - b``) and its confidence interval."""

    t: float
    df: float
    p: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.p < ALPHA


def welch(a: Sequence[float], b: Sequence[float]) -> Welch | None:
    """Welch's t-test of ``mean(a) - mean(b)`` (``scipy.stats.ttest_ind(equal_var=False)``).

    None when either sample has fewer than two values, a value is not finite, or both samples
    have no spread (the test is undefined).
    """
    from scipy import stats

    if min(len(a), len(b)) < 2 or not all(math.isfinite(v) for v in (*a, *b)):
        return None
    if len(set(a)) == 1 and len(set(b)) == 1:
        return None
    result = stats.ttest_ind(list(a), list(b), equal_var=False)
    ci = result.confidence_interval(confidence_level=1 - ALPHA)
    t, df, p = float(result.statistic), float(result.df), float(result.pvalue)
    return Welch(t, df, p, float(ci.low), float(ci.high))


def _file_hash(record: RunRecord) -> str | None:
    path = record.final_image
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def identical_replicates(runs: Sequence[RunRecord]) -> bool:
    """Whether two or more runs gave identical results: the same ``final.png`` bytes (when every
    run has one), else the same ``eval`` values and objective (when every run has them)."""
    if len(runs) < 2:
        return False
    hashes = [_file_hash(r) for r in runs]
    if None not in hashes:
        return len(set(hashes)) == 1
    scores = [((r.metrics or {}).get("eval"), (r.metrics or {}).get("objective")) for r in runs]
    if any(s == (None, None) for s in scores):
        return False
    return all(s == scores[0] for s in scores)


def init_name(record: RunRecord) -> str:
    """The run's start (``content``, ``noise``, ...), from its overrides or saved config."""
    if "init" in record.overrides:
        return record.overrides["init"]
    target = str((read_config(record.job_dir).get("init") or {}).get("_target_", ""))
    names = {"from_content": "content", "from_style": "style", "white_noise": "noise"}
    return names.get(target.rsplit(".", 1)[-1], "image" if "from_image" in target else "?")


def no_effect_note(records: Sequence[RunRecord]) -> str:
    """``seed has no effect with init=content: spread unknown`` (the inits of ``records``)."""
    inits = sorted({init_name(r) for r in records})
    return f"seed has no effect with init={','.join(inits)}: spread unknown"


PERTURB_HINT = (
    "for real replicates from a fixed start, perturb it by a seeded noise, e.g. `init.perturb=0.05`"
)
