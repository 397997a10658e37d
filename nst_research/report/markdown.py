"""``report.md``: the sweep's summary, the results table, the failed jobs and the two figures."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nst_research.report.configs import UNSET, config_of, swept_keys
from nst_research.report.records import RunRecord, natural_key
from nst_research.report.table import NUMERIC_KEYS, ReportRow, has_replicates
from nst_research.status import RunStatus


def fmt_number(value: float | None) -> str:
    """An integer as such, else 4 significant digits; ``""`` for None."""
    if value is None:
        return ""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"


def fmt_stat(mean: float | None, sd: float | None) -> str:
    """``mean ± sd`` (sd to 2 significant digits), or the single value."""
    if mean is None:
        return ""
    return fmt_number(mean) if sd is None else f"{mean:.4g} ± {sd:.2g}"


def md_cell(value: object) -> str:
    """A value as one markdown table cell (pipes escaped, newlines as spaces)."""
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def summary_lines(
    sweep_dir: Path, records: Sequence[RunRecord], rows: Sequence[ReportRow], keys: Sequence[str]
) -> list[str]:
    """The title and the bullet list: jobs by status, what was swept, what was fixed."""
    counts = Counter(r.status for r in records)
    fixed = {
        k: v
        for k, v in records[0].overrides.items()
        if k not in swept_keys(records) and all(r.overrides.get(k) == v for r in records)
    }
    seeds = sorted({r.seed for r in records if r.seed is not None}, key=natural_key)
    lines = [
        f"# Sweep report: {sweep_dir.name}",
        "",
        f"- sweep dir: `{sweep_dir}`",
        f"- jobs: {len(records)} ("
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + f"); configurations: {len({config_of(r, keys) for r in records})}",
        f"- swept: {', '.join(f'`{k}`' for k in keys) or 'nothing but the seed'}"
        + (f"; seeds: {', '.join(seeds)}" if seeds else ""),
        f"- fixed overrides: {' '.join(f'`{k}={v}`' for k, v in fixed.items()) or 'none'}",
    ]
    if has_replicates(rows):
        lines.append("- numbers: mean ± sample sd over completed seed replicates")
    return lines


def results_lines(rows: Sequence[ReportRow], keys: Sequence[str], with_reason: bool) -> list[str]:
    """The results table: a row per configuration and per failed job (its reason if any)."""
    header = [*keys, "n runs", "n failed", "status", *NUMERIC_KEYS, "seeds", "jobs"]
    if with_reason:
        header.append("reason")
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        cells = [
            *(UNSET if v is None else v for v in row.config),
            row.n_runs,
            row.n_failed,
            f"**{row.status}**" if row.status == RunStatus.FAILED else row.status,
            *(fmt_stat(*row.stats.get(k, (None, None))) for k in NUMERIC_KEYS),
            " ".join(row.seeds),
            " ".join(row.jobs),
        ]
        if with_reason:
            cells.append(row.reason)
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return lines


def failed_lines(records: Sequence[RunRecord]) -> list[str]:
    """A section listing each failed job with its overrides and reason; none if none failed."""
    failed = [r for r in records if r.failed]
    if not failed:
        return []
    lines = ["", "## Failed jobs", ""]
    for r in failed:
        overrides = " ".join(f"{k}={v}" for k, v in r.overrides.items())
        lines.append(f"- job `{r.name}` (`{overrides}`): {r.reason}")
    return lines


FIGURE_LINES = [
    "",
    "## Final images",
    "",
    "![contact sheet](contact_sheet.png)",
    "",
    "## Loss curves",
    "",
    "![loss curves](loss_curves.png)",
    "",
]


def render_markdown(
    sweep_dir: Path, records: Sequence[RunRecord], rows: Sequence[ReportRow], keys: Sequence[str]
) -> str:
    """The text of ``report.md``: summary, results table, failures, and the two figures."""
    with_reason = any(r.failed for r in records)
    return "\n".join(
        [
            *summary_lines(sweep_dir, records, rows, keys),
            *["", "## Results", ""],
            *results_lines(rows, keys, with_reason),
            *failed_lines(records),
            *FIGURE_LINES,
        ]
    )
