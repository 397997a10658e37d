"""After a sweep: which knob mattered (:mod:`.importance`), the parallel coordinates, the answer
per image pair (:mod:`.pairs`), and the way back from the best point to a run (:mod:`.best`).

:func:`analyse` writes ``importance.png``, ``parallel.png`` and ``optimization_results.yaml`` into
the sweep dir and returns the report's markdown lines for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nst_research.configs.names import EVAL_CONTENT_RATIO, EVAL_STYLE_RATIO, OBJECTIVE
from nst_research.report.analysis_plots import draw_importance, draw_parallel
from nst_research.report.best import best_job, rerun_command, results, write_results
from nst_research.report.importance import EXACT, Importance, importance
from nst_research.report.pairs import pair_lines
from nst_research.report.plane import pareto_front
from nst_research.report.ranking import eval_keys, metric_value
from nst_research.report.records import RunRecord


@dataclass
class Analysis:
    """What :func:`analyse` found and wrote."""

    importances: list[Importance] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    best: RunRecord | None = None
    command: str | None = None


def _metrics(records: Sequence[RunRecord], rank_key: str) -> list[str]:
    """The ranking metric first, then every eval metric some run recorded."""
    wanted = [rank_key, *(k for k in (OBJECTIVE, *eval_keys(records)) if k != rank_key)]
    return [k for k in wanted if any(metric_value(r, k) is not None for r in records)]


def importance_lines(importances: Sequence[Importance]) -> list[str]:
    """A markdown table: one row per part (key, pair, higher-order, seeds), a column per metric."""
    if not importances:
        return []
    parts: list[str] = []
    for imp in importances:
        for part in [*imp.shares, *(f"{a} × {b}" for a, b in imp.pairs), *imp.other]:
            if part not in parts:
                parts.append(part)

    def cell(imp: Importance, part: str) -> str:
        pairs = {f"{a} × {b}": v for (a, b), v in imp.pairs.items()}
        value = imp.shares.get(part, pairs.get(part, imp.other.get(part)))
        return "" if value is None else f"{value:.0%}"

    methods = sorted({imp.method for imp in importances})
    lines = ["", "## What mattered", ""]
    lines += [f"Share of each metric's variance over the runs ({'; '.join(methods)}).", ""]
    lines.append("| part | " + " | ".join(f"`{i.metric}`" for i in importances) + " |")
    lines.append("|---|" + "---:|" * len(importances))
    for part in parts:
        lines.append(f"| {part} | " + " | ".join(cell(i, part) for i in importances) + " |")
    first = importances[0]
    if first.top() is not None:
        top = first.top()
        lines += ["", f"- `{first.metric}` depends most on **{top}** ({first.shares[top]:.0%})."]
    if first.method == EXACT and first.other:
        lines.append(
            "- Exact on a full grid: the parts sum to 100%; `seed (noise)` is the spread "
            "between the seeds of one configuration (0% when replicates are identical)."
        )
    lines += ["", "![importance](importance.png) ![parallel coordinates](parallel.png)"]
    return lines


def _front_jobs(records: Sequence[RunRecord]) -> list[RunRecord]:
    done = [r for r in records if not r.failed and r.status == "completed"]
    points = [
        (metric_value(r, EVAL_CONTENT_RATIO), metric_value(r, EVAL_STYLE_RATIO)) for r in done
    ]
    usable = [(r, p) for r, p in zip(done, points, strict=True) if None not in p]
    front = pareto_front([p for _, p in usable])  # type: ignore[misc]
    return [usable[i][0] for i in front]


def analyse(
    sweep: Path, records: Sequence[RunRecord], keys: Sequence[str], rank_key: str
) -> Analysis:
    """Decompose every metric, draw the two figures, write the results file; markdown lines."""
    out = Analysis()
    for metric in _metrics(records, rank_key):
        imp = importance(records, keys, metric)
        if imp is not None:
            out.importances.append(imp)
    out.paths["importance"] = sweep / "importance.png"
    draw_importance(out.importances, out.paths["importance"])
    out.paths["parallel"] = sweep / "parallel.png"
    draw_parallel(records, keys, rank_key, out.paths["parallel"])
    out.lines = importance_lines(out.importances)
    ranked = next((i for i in out.importances if i.metric == rank_key), None)
    out.lines += pair_lines(records, keys, rank_key, ranked)
    out.best = best_job(records, rank_key)
    contents = results(records, keys, rank_key, _front_jobs(records))
    if contents is not None and out.best is not None:
        written = write_results(sweep, contents)
        if written is not None:
            out.paths["results"] = written
        out.command = rerun_command(out.best)
        git = (out.best.metrics or {}).get("git")
        commit = git.get("commit") if isinstance(git, dict) else git
        if isinstance(git, dict) and git.get("dirty"):
            commit = f"{commit} (with uncommitted changes)"
        value = metric_value(out.best, rank_key)
        out.lines += [
            "",
            "## Best job",
            "",
            f"Job `{out.best.name}` has the best `{rank_key}` ({value:.4g}); "
            f"it ran at git commit `{commit or 'unknown'}`. To rerun it (same pixels on the "
            "same machine and code):",
            "",
            "```bash",
            out.command,
            "```",
            "",
            "`optimization_results.yaml` holds it in the layout of Hydra's Optuna sweeper.",
        ]
    return out
