"""The ``method=`` presets a sweep's jobs ran, each with its label (``conf/method/*.yaml``).

A preset's label says what the runs are: ``STROTSS (VGG19 layers)`` is STROTSS with its VGG16
layers mapped onto our VGG19, not the published network. The report names every method once,
with its label, so a table row ``method=strotss`` is never read as the paper's own numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from nst_research.report.records import RunRecord, read_config


def method_labels(records: Sequence[RunRecord]) -> dict[str, str]:
    """``method.name -> method.label`` over the jobs' resolved configs, in first-seen order.

    A job without a resolved config or without a label adds nothing; two labels for one name
    (a preset edited between jobs) are both kept, joined by `` / ``."""
    labels: dict[str, list[str]] = {}
    for record in records:
        method = read_config(record.job_dir).get("method")
        if not isinstance(method, dict) or not method.get("name"):
            continue
        label = method.get("label")
        seen = labels.setdefault(str(method["name"]), [])
        if label and str(label) not in seen:
            seen.append(str(label))
    return {name: " / ".join(found) for name, found in labels.items() if found}


def methods_line(records: Sequence[RunRecord]) -> str | None:
    """``- methods: `strotss` = STROTSS (VGG19 layers); ...`` or None when no job has a label."""
    labels = method_labels(records)
    if not labels:
        return None
    return "- methods: " + "; ".join(f"`{name}` = {label}" for name, label in labels.items())
