"""``report.md``: the sweep's summary, the results table, the failed jobs and the figures.

A sweep with evaluation metrics gets a ranked table (eval metrics first), the verdicts, and the
style/content plane with its Pareto front; one without (older sweeps) gets the plain table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nst_research.configs.names import EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO
from nst_research.report.configs import UNSET, config_of, swept_keys
from nst_research.report.environments import environment_line
from nst_research.report.methods import methods_line
from nst_research.report.ranking import direction, metric_columns
from nst_research.report.records import RunRecord, natural_key
from nst_research.report.stats import PERTURB_HINT, no_effect_note
from nst_research.report.table import NUMERIC_KEYS, ReportRow, has_replicates

if TYPE_CHECKING:
    from nst_research.report.plane import PlanePoint
from nst_research.engine.status import RunStatus


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


def row_stat(row: ReportRow, key: str) -> str:
    """A row's ``mean ± sd`` of ``key``; identical replicates say so instead of ``± 0``."""
    mean, sd = row.stats.get(key, (None, None))
    if row.identical and mean is not None and sd == 0:
        return f"{fmt_number(mean)} (identical)"
    return fmt_stat(mean, sd)


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
    if method_line := methods_line(records):
        lines.append(method_line)
    if has_replicates(rows):
        lines.append("- numbers: mean ± sample sd over completed seed replicates")
    same = [row for row in rows if row.identical]
    if same:
        which = (
            "every configuration"
            if len(same) == sum(r.n_stat > 1 for r in rows)
            else (f"{len(same)} configuration(s)")
        )
        lines.append(
            f"- **identical replicates**: the seeds of {which} gave identical results "
            f"(final.png, eval values): {no_effect_note(records)}; no significance is claimed "
            f"({PERTURB_HINT})"
        )
    if env_line := environment_line(records):
        lines.append(env_line)
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
            *(row_stat(row, k) for k in NUMERIC_KEYS),
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


def ranked_lines(
    rows: Sequence[ReportRow], keys: Sequence[str], rank_key: str, with_reason: bool
) -> list[str]:
    """The ranked table: rank, configuration, seeds, then the metrics with any value, then losses.

    Metrics are ``mean ± sd`` over the ``n seeds`` runs summarised; failed jobs follow, unranked.
    """
    metrics = [
        k
        for k in metric_columns(rank_key, rows)
        if any(r.stats.get(k, (None,))[0] is not None for r in rows)
    ]
    header = ["rank", *keys, "n seeds", *metrics, "status", *NUMERIC_KEYS, "seeds", "jobs"]
    header += ["reason"] if with_reason else []
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        failed = row.status == RunStatus.FAILED
        cells = [
            row.rank,
            *(UNSET if v is None else v for v in row.config),
            None if failed else row.n_stat,
            *(row_stat(row, k) for k in metrics),
            f"**{row.status}**" if failed else row.status,
            *(row_stat(row, k) for k in NUMERIC_KEYS),
            " ".join(row.seeds),
            " ".join(row.jobs),
        ]
        cells += [row.reason] if with_reason else []
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return lines


def plane_lines(points: Sequence[PlanePoint], image: str = "plane.png") -> list[str]:
    """The plane figure and its Pareto front, one bullet per configuration on it."""
    lines = ["", "## Style/content plane", "", f"![style/content plane]({image})", ""]
    if not points:
        return [*lines, f"No configuration has both {EVAL_CONTENT_RATIO} and {EVAL_STYLE_RATIO}."]
    lines.append(
        f"Pareto front (no other configuration is lower on both {EVAL_CONTENT_RATIO} and "
        f"{EVAL_STYLE_RATIO}):"
    )
    lines.append("")

    def stat(mean: float, sd: float | None) -> str:  # sd 0 over seeds: identical replicates
        return f"{mean:.4g} (identical)" if sd == 0 else fmt_stat(mean, sd)

    for p in sorted((p for p in points if p.on_front), key=lambda p: p.x):
        lines.append(
            f"- `{p.name}`: {EVAL_CONTENT_RATIO} {stat(p.x, p.x_sd)}, "
            f"{EVAL_STYLE_RATIO} {stat(p.y, p.y_sd)}"
        )
    return lines


VERDICT_NOTE = (
    "Each setting pools its runs over the other swept keys and the seeds. The winner is tested "
    "against the runner-up by Welch's t-test (scipy.stats.ttest_ind, equal_var=False; two or "
    "more seeds per setting), with its p-value and the 95% confidence interval of the "
    "difference (winner minus runner-up); seeds that gave identical results have no spread, and no test is made."
)


def render_markdown(
    sweep_dir: Path,
    records: Sequence[RunRecord],
    rows: Sequence[ReportRow],
    keys: Sequence[str],
    rank_key: str | None = None,
    verdicts: Sequence[str] = (),
    plane: Sequence[PlanePoint] = (),
) -> str:
    """The text of ``report.md``: summary, results table, failures, and the figures.

    With ``rank_key`` (rows ranked by it): the ranked table, the ``verdicts`` lines and the
    ``plane`` points' Pareto front; without, the plain table of an older sweep.
    """
    with_reason = any(r.failed for r in records)
    if rank_key is None:
        middle = ["", "## Results", "", *results_lines(rows, keys, with_reason)]
    else:
        middle = [
            f"- ranked by: `{rank_key}` ({direction(rank_key)})",
            *["", "## Ranking", ""],
            *ranked_lines(rows, keys, rank_key, with_reason),
            *(["", "## Verdicts", "", VERDICT_NOTE, "", *verdicts] if verdicts else []),
            *plane_lines(plane),
        ]
    return "\n".join(
        [
            *summary_lines(sweep_dir, records, rows, keys),
            *middle,
            *failed_lines(records),
            *FIGURE_LINES,
        ]
    )
