"""Does the answer depend on the image pair? For a sweep that varies the content or style image:
the share of the variance the images explain against the swept knobs, and the best knob setting
per pair where it differs from the pooled best.

Yeh et al. (2020, "Improving style transfer with calibrated metrics") found that the style image
explains most of the variation of style-transfer results; this says whether that holds in a sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nst_research.report.importance import SEED_PART, Importance
from nst_research.report.ranking import higher_is_better, metric_value
from nst_research.report.records import RunRecord, natural_key

IMAGE_KEYS = ("content", "style")


def image_keys(keys: Sequence[str]) -> list[str]:
    return [k for k in keys if k in IMAGE_KEYS]


def image_share(imp: Importance) -> tuple[float, float]:
    """(share explained by the image keys, their interactions included; share by the knobs
    alone, their interactions among themselves included), from an exact decomposition."""
    images = sum(v for k, v in imp.shares.items() if k in IMAGE_KEYS)
    knobs = sum(v for k, v in imp.shares.items() if k not in IMAGE_KEYS)
    for (a, b), v in imp.pairs.items():
        if a in IMAGE_KEYS or b in IMAGE_KEYS:
            images += v
        else:
            knobs += v
    return images, knobs


def _best(setting_values: dict[tuple, list[float]], metric: str) -> tuple | None:
    sign = -1.0 if higher_is_better(metric) else 1.0
    means = {s: sum(v) / len(v) for s, v in setting_values.items() if v}
    return min(means, key=lambda s: (sign * means[s], natural_key(str(s)))) if means else None


def per_pair_best(
    records: Sequence[RunRecord], keys: Sequence[str], metric: str
) -> tuple[tuple | None, dict[tuple, tuple]]:
    """(the pooled best knob setting, {pair: its best setting} for the pairs where it differs).

    A pair is the values of the image keys; a knob setting the values of the other swept keys.
    """
    img = image_keys(keys)
    knobs = [k for k in keys if k not in img]
    pooled: dict[tuple, list[float]] = {}
    by_pair: dict[tuple, dict[tuple, list[float]]] = {}
    for r in records:
        value = None if r.failed else metric_value(r, metric)
        if value is None or not math.isfinite(value):
            continue
        setting = tuple(r.overrides.get(k) for k in knobs)
        pair = tuple(r.overrides.get(k) for k in img)
        pooled.setdefault(setting, []).append(value)
        by_pair.setdefault(pair, {}).setdefault(setting, []).append(value)
    best = _best(pooled, metric)
    differs = {}
    for pair in sorted(by_pair, key=lambda p: tuple(natural_key(v) for v in p)):
        own = _best(by_pair[pair], metric)
        if own != best:
            differs[pair] = own
    return best, differs


def pair_lines(
    records: Sequence[RunRecord], keys: Sequence[str], metric: str, imp: Importance | None
) -> list[str]:
    """The report's "Per image pair" section (empty when no image key was swept)."""
    img = image_keys(keys)
    if not img:
        return []
    knobs = [k for k in keys if k not in img]
    lines = ["", "## Per image pair", ""]
    if imp is not None and imp.other:
        images, rest = image_share(imp)
        noise = imp.other.get(SEED_PART, 0.0)
        verdict = (
            "the images explain more than the knobs"
            if images > rest
            else ("the knobs explain more than the images")
        )
        lines.append(
            f"- `{metric}`: images ({', '.join(img)}) explain {images:.0%} of the variance, "
            f"the swept knobs {rest:.0%}, seeds {noise:.0%}: {verdict}."
        )
    if not knobs:
        return lines
    best, differs = per_pair_best(records, keys, metric)
    label = ", ".join(f"{k}={v}" for k, v in zip(knobs, best or (), strict=False))
    lines.append(f"- pooled best setting: {label or '(none)'}")
    if not differs:
        lines.append("- every pair has the same best setting as the pooled ranking.")
    for pair, own in differs.items():
        pair_text = ", ".join(f"{k}={_short(v)}" for k, v in zip(img, pair, strict=True))
        own_text = ", ".join(f"{k}={v}" for k, v in zip(knobs, own or (), strict=False))
        lines.append(f"- {pair_text}: best is {own_text} (differs from the pooled best)")
    return lines


def _short(value: str | None) -> str:
    """An image path's file name (the rest of a path is noise in a table)."""
    return "(unset)" if value is None else value.replace("\\", "/").rsplit("/", 1)[-1]
