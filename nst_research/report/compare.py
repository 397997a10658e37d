"""``nst-report --compare A B``: two sweeps' configurations ranked together, and a joint plane.

Each sweep's configurations are summarised as in its own report (mean and sd over seeds), named
``<sweep>: k=v, ...`` and ranked together by one metric (:func:`.ranking.choose_rank_key` over
both sweeps' runs). Written into ``A/compare_<B's name>/`` unless another dir is given:
``compare.md``, ``compare.csv`` and ``plane.png`` (one colour per sweep, one Pareto front over both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from nst_research.io.files import write_text
from nst_research.report.configs import config_keys, config_label
from nst_research.report.markdown import plane_lines, ranked_lines
from nst_research.report.plane import PlanePoint, draw_plane, plane_points
from nst_research.report.ranking import choose_rank_key, direction, rank_rows
from nst_research.report.records import FAILED, ReportError, RunRecord, collect
from nst_research.report.table import ReportRow, build_rows, has_replicates, write_csv

CONFIG_COLUMN = "configuration"


def sweep_names(a: Path, b: Path) -> tuple[str, str]:
    """The sweeps' dir names, or ``parent/name`` where the two names are equal."""
    if a.name != b.name:
        return a.name, b.name
    return f"{a.parent.name}/{a.name}", f"{b.parent.name}/{b.name}"


def named_rows(
    records: Sequence[RunRecord], sweep: str
) -> tuple[list[ReportRow], list[PlanePoint]]:
    """A sweep's rows, each configuration as ``(sweep: label,)``, and its plane points."""
    keys = config_keys(records)
    rows = build_rows(records)
    labels = [config_label(row.config, keys, records) for row in rows]
    names = [f"{sweep}: {label}" for label in labels]
    configs = [i for i, row in enumerate(rows) if row.status != FAILED]
    points = plane_points(
        [rows[i] for i in configs], [names[i] for i in configs], sweep, [labels[i] for i in configs]
    )
    return [replace(row, config=(name,)) for row, name in zip(rows, names, strict=True)], points


def compare_markdown(
    sweeps: Sequence[tuple[str, Path, list[RunRecord]]],
    rows: Sequence[ReportRow],
    rank_key: str,
    points: Sequence[PlanePoint],
) -> str:
    """The text of ``compare.md``: the sweeps, the joint ranked table and the joint plane."""
    lines = [f"# Sweep comparison: {' vs '.join(name for name, _, _ in sweeps)}", ""]
    for name, path, records in sweeps:
        n_configs = len({row.config for row in rows if row.config[0].startswith(f"{name}: ")})
        plural = "" if n_configs == 1 else "s"
        lines.append(
            f"- `{name}`: `{path}` ({len(records)} jobs, {n_configs} configuration{plural})"
        )
    lines.append(f"- ranked by: `{rank_key}` ({direction(rank_key)})")
    if has_replicates(rows):
        lines.append("- numbers: mean ± sample sd over completed seed replicates")
    with_reason = any(row.reason for row in rows)
    lines += ["", "## Ranking", "", *ranked_lines(rows, [CONFIG_COLUMN], rank_key, with_reason)]
    return "\n".join([*lines, *plane_lines(points), ""])


def write_compare(
    sweep_a: str | Path,
    sweep_b: str | Path,
    out: str | Path | None = None,
    rank_by: str | None = None,
) -> dict[str, Path]:
    """Write ``compare.md``, ``compare.csv`` and ``plane.png``; returns their paths by name
    (``"md"``, ``"csv"``, ``"plane"``).

    Raises:
        ReportError: a dir is missing or holds no job dirs, or no run of either sweep has an
            evaluation metric or objective (or ``rank_by``) to rank by.
    """
    a, b = Path(sweep_a).resolve(), Path(sweep_b).resolve()
    records = {a: collect(a), b: collect(b)}
    rank_key = choose_rank_key([*records[a], *records[b]], rank_by)
    if rank_key is None:
        raise ReportError(f"neither {a} nor {b} has evaluation metrics or an objective to compare")
    out_dir = Path(out) if out is not None else a / f"compare_{b.name}"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[ReportRow] = []
    points: list[PlanePoint] = []
    sweeps = [
        (name, path, records[path]) for name, path in zip(sweep_names(a, b), (a, b), strict=True)
    ]
    for name, _, sweep_records in sweeps:
        sweep_rows, sweep_points = named_rows(sweep_records, name)
        rows += sweep_rows
        points += sweep_points
    ranked = rank_rows(rows, rank_key)
    paths = {
        "md": out_dir / "compare.md",
        "csv": write_csv(ranked, [CONFIG_COLUMN], out_dir / "compare.csv", rank_key),
        "plane": out_dir / "plane.png",
    }
    title = f"style/content plane: {' vs '.join(name for name, _, _ in sweeps)}"
    drawn = draw_plane(points, paths["plane"], title=title)
    write_text(paths["md"], compare_markdown(sweeps, ranked, rank_key, drawn))
    return paths
