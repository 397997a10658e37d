"""Writing a benchmark's report: ``table.md``, ``table.csv`` (a row per method), ``paired.csv``,
``per_style.csv``, ``pairs.csv`` (every job's numbers), the plane and the contact sheet, and with
``--wandb`` the same tables as W&B Tables (offline unless ``WANDB_MODE`` says otherwise).
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from pathlib import Path

from nst_research.benchmark.plan import load_plan
from nst_research.benchmark.runner import latest, scan
from nst_research.benchmark.stats import HIGHER_IS_BETTER, Interval
from nst_research.benchmark.table import (
    Results,
    best_method,
    collect,
    method_rows,
    paired_rows,
    per_style,
)
from nst_research.errors import ConfigError
from nst_research.io.files import write_text
from nst_research.tracking.wandb_dir import wandb_dir

# The metrics of the per-style breakdown (those present).
BREAKDOWN = ["eval/random_style_ratio", "eval/style_ratio", "eval/hist_rgbuv", "eval/cfsd"]


def fmt(x: float) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.3g}"


def fmt_interval(iv: Interval) -> str:
    if iv.n == 0:
        return "–"
    if not math.isfinite(iv.lo):
        return fmt(iv.mean)
    return f"{fmt(iv.mean)} [{fmt(iv.lo)}, {fmt(iv.hi)}]"


def arrow(metric: str) -> str:
    return "↑" if metric in HIGHER_IS_BETTER else "↓"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def method_table(res: Results) -> tuple[list[str], list[list[str]]]:
    rows = method_rows(res)
    header = ["method", "pairs", *[f"{k.removeprefix('eval/')} {arrow(k)}" for k in res.metrics]]
    body = []
    for m in res.methods:
        n = len(res.values.get(m, {}))
        body.append([m, f"{n}/{len(res.pairs)}", *[fmt_interval(rows[m][k]) for k in res.metrics]])
    return header, body


def paired_table(res: Results, baseline: str) -> tuple[list[str], list[list[str]]]:
    header = [
        "method",
        "metric",
        "pairs",
        "diff (method - base) [95% CI]",
        "p (t)",
        "p (Wilcoxon)",
        "W/T/L",
    ]
    body = []
    for m, per_metric in paired_rows(res, baseline).items():
        for k, pr in per_metric.items():
            body.append(
                [
                    m,
                    f"{k.removeprefix('eval/')} {arrow(k)}",
                    str(pr.diff.n),
                    fmt_interval(pr.diff),
                    fmt(pr.p_t),
                    fmt(pr.p_wilcoxon),
                    f"{pr.wins}/{pr.ties}/{pr.losses}",
                ]
            )
    return header, body


def style_tables(res: Results) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    for k in [k for k in BREAKDOWN if k in res.metrics]:
        table = per_style(res, k)
        header = ["style", *res.methods, "best"]
        body = [
            [s, *[fmt(row[m]) for m in res.methods], best_method(row, k) or "–"]
            for s, row in table.items()
        ]
        out.append((k, header, body))
    return out


def markdown(res: Results, baseline: str, pictures: list[str]) -> str:
    p = res.plan
    lines = [
        "# Benchmark: methods x pairs",
        "",
        f"{len(res.pairs)} pairs x {len(res.methods)} methods at {p.size} px, {p.iterations} "
        f"iterations, seed {p.seed}; overrides for every job: {' '.join(p.overrides) or 'none'}.",
        "Methods: "
        + "; ".join(f"{m} = `{' '.join(o) or '(defaults)'}`" for m, o in p.methods.items())
        + ".",
        "",
        "Mean over the pairs each method completed, with the 95% Student t interval (scipy) in "
        "brackets; ↓ lower is better, ↑ higher is better. Each pair ran once (one seed): the "
        "interval is over pairs, not over reruns. `s_per_image` is the job's fit time (seconds), "
        "`peak_memory_mb` its peak memory (CPU: the process's resident set).",
        "",
        *_md_table(*method_table(res)),
        "",
        f"## Paired against {baseline} (the pairs both completed)",
        "",
        "W/T/L: pairs where the method is better / equal / worse than the baseline.",
        "",
        *_md_table(*paired_table(res, baseline)),
        "",
        "## Per style (mean over contents)",
    ]
    for k, header, body in style_tables(res):
        lines += ["", f"### {k} {arrow(k)}", "", *_md_table(header, body)]
    failed = res.failed()
    lines += ["", "## Jobs not completed", ""]
    lines += [f"- {m} {pair}: {status} {err}".rstrip() for m, pair, status, err in failed] or [
        "none"
    ]
    if pictures:
        lines += ["", "## Pictures", "", *[f"![{Path(x).stem}]({x})" for x in pictures]]
    return "\n".join(lines) + "\n"


def _csv_text(header: list[str], rows: list[list]) -> str:
    f = io.StringIO(newline="")
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)
    return f.getvalue()


def csv_tables(res: Results, baseline: str) -> dict[str, tuple[list[str], list[list]]]:
    rows = method_rows(res)
    header = ["method", "pairs"] + [f"{k}{s}" for k in res.metrics for s in ("_mean", "_lo", "_hi")]
    table = [
        [m, len(res.values.get(m, {}))]
        + [x for k in res.metrics for x in (rows[m][k].mean, rows[m][k].lo, rows[m][k].hi)]
        for m in res.methods
    ]
    ph = [
        "method",
        "baseline",
        "metric",
        "pairs",
        "diff_mean",
        "diff_lo",
        "diff_hi",
        "p_t",
        "p_wilcoxon",
        "wins",
        "ties",
        "losses",
    ]
    pr = [
        [
            m,
            baseline,
            k,
            x.diff.n,
            x.diff.mean,
            x.diff.lo,
            x.diff.hi,
            x.p_t,
            x.p_wilcoxon,
            x.wins,
            x.ties,
            x.losses,
        ]
        for m, per in paired_rows(res, baseline).items()
        for k, x in per.items()
    ]
    sh = ["metric", "style", *res.methods]
    sr = [
        [k, s, *[row[m] for m in res.methods]]
        for k in res.metrics
        for s, row in per_style(res, k).items()
    ]
    jh = ["method", "pair", *res.metrics]
    jr = [
        [m, p, *[v.get(k) for k in res.metrics]]
        for m in res.methods
        for p, v in res.values.get(m, {}).items()
    ]
    return {"table": (header, table), "paired": (ph, pr), "per_style": (sh, sr), "pairs": (jh, jr)}


def _nan_to_empty(rows: list[list]) -> list[list]:
    return [["" if isinstance(x, float) and not math.isfinite(x) else x for x in r] for r in rows]


def log_wandb(
    out: Path, tables: dict[str, tuple[list[str], list[list]]], images: list[Path]
) -> None:
    try:
        import wandb
    except ImportError:
        print("note: wandb is not installed; skipping W&B logging", file=sys.stderr)
        return
    run = wandb.init(
        project="nst-research",
        group=out.name,
        job_type="benchmark",
        name=f"benchmark-{out.name}",
        mode=os.environ.get("WANDB_MODE", "offline"),
        dir=str(wandb_dir(out)),  # $WANDB_DIR, honoured, else the benchmark's dir
    )
    try:
        payload = {
            f"benchmark/{k}": wandb.Table(columns=h, data=_nan_to_empty(r), allow_mixed_types=True)
            for k, (h, r) in tables.items()
        }
        payload.update({f"benchmark/{p.stem}": wandb.Image(str(p)) for p in images})
        run.log(payload)
    finally:
        wandb.finish()


def write_report(
    out: Path,
    baseline: str | None = None,
    style_metric: str | None = None,
    content_metric: str | None = None,
    use_wandb: bool = False,
    to: Path | None = None,
) -> int:
    """Write the report of benchmark dir ``out`` (into ``to``, default ``out``); 0, or 1 when a
    planned job is not completed (they are listed)."""
    from nst_research.benchmark.pictures import contact_sheet, draw_plane

    plan = load_plan(out)
    if plan is None:
        raise ConfigError(f"{out} holds no benchmark.json: not a benchmark dir")
    to = to or out
    res = collect(plan, latest(scan(out), plan))
    baseline = baseline or res.methods[0]
    if baseline not in res.methods:
        raise ConfigError(
            f"--baseline {baseline}: not a method of this benchmark ({', '.join(res.methods)})"
        )
    pics = [
        draw_plane(res, to / "plane.png", style_metric, content_metric),
        contact_sheet(res, to / "contact_sheet.jpg"),
    ]
    pics = [p for p in pics if p is not None]
    write_text(to / "table.md", markdown(res, baseline, [p.name for p in pics]))
    tables = csv_tables(res, baseline)
    for name, (h, r) in tables.items():
        write_text(to / f"{name}.csv", _csv_text(h, _nan_to_empty(r)))
    if use_wandb:
        log_wandb(to, tables, pics)
    failed = res.failed()
    done = len(res.pairs) * len(res.methods) - len(failed)
    print(
        f"{done} of {len(res.pairs) * len(res.methods)} jobs completed; table in {to / 'table.md'}"
    )
    for m, p, status, err in failed:
        print(f"  not completed: {m} {p}: {status} {err}".rstrip())
    return 1 if failed else 0
