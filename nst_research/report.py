"""The ``nst-report`` command: compare the runs of a Hydra multirun sweep.

It reads the job dirs of a sweep (``multirun/<date>/<time>/<job>/``, each with ``.hydra/overrides.yaml``
and, when the job finished, ``metrics.json``, ``losses.csv`` and ``final.png``) and writes into the sweep
dir:

- ``report.csv`` / ``report.md``: one row per configuration (the swept overrides other than ``seed``),
  with mean and sample sd over seed replicates, plus one row per failed job with its reason;
- ``contact_sheet.png``: the final images in a labelled grid;
- ``loss_curves.png``: ``loss/total`` (and ``loss/style``) against step, one line per configuration.

A job with no ``metrics.json`` (it raised) is reported as ``failed``, never dropped.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SEED_KEY = "seed"
LOSS_KEYS = ("loss/total", "loss/content", "loss/style", "loss/tv")
RUN_KEYS = ("iterations", "wall_time_s", "s_per_iter")
NUMERIC_KEYS = LOSS_KEYS + RUN_KEYS
UNSET = "(unset)"
FAILED = "failed"

Config = tuple[str | None, ...]


class ReportError(Exception):
    """The sweep dir cannot be reported on (missing, or holds no job dirs)."""


# --------------------------------------------------------------------------------------------
# Reading the sweep


@dataclass
class RunRecord:
    """One job of a sweep, as found on disk.

    Attributes:
        job_dir: the job's run dir.
        name: the job dir relative to the sweep dir (``"0"``, ``"1"``, ...).
        overrides: the job's Hydra overrides, key -> value as written on the command line.
        status: ``metrics.json``'s status (``completed``, ``interrupted``, ``diverged``), or
            ``failed`` when the job left no readable ``metrics.json``.
        metrics: the parsed ``metrics.json``, or None for a failed job.
        reason: why a failed job failed (last non-empty line of its log), else None.
        seed: the seed from the overrides, else ``metrics.json``, else ``.hydra/config.yaml``.
    """

    job_dir: Path
    name: str
    overrides: dict[str, str]
    status: str
    metrics: dict[str, Any] | None = None
    reason: str | None = None
    seed: str | None = None

    @property
    def failed(self) -> bool:
        return self.metrics is None

    @property
    def final_image(self) -> Path | None:
        path = self.job_dir / "final.png"
        return path if path.is_file() else None

    def value(self, key: str) -> float | None:
        """A numeric result: a final loss (``loss/...``) or a top-level metric; None if absent."""
        if self.metrics is None:
            return None
        if key.startswith("loss/"):
            source = self.metrics.get("final_losses") or {}
        else:
            source = self.metrics
        raw = source.get(key)
        if raw is None:
            return None
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None


def natural_key(value: str | None) -> tuple[Any, ...]:
    """Sort key: numbers numerically, then strings with digit runs compared as numbers."""
    if value is None:
        return (2, 0.0, ())
    try:
        return (0, float(value), ())
    except ValueError:
        # Lists ("[relu1_1,relu2_1]") sort by length first, so cumulative layer sets read in order.
        length = value.count(",") + 1 if value.startswith("[") and value != "[]" else 0
        parts = re.split(r"(\d+)", value)
        return (1, float(length), tuple(int(p) if i % 2 else p for i, p in enumerate(parts)))


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Every dir under ``sweep_dir`` holding ``.hydra/overrides.yaml``, in natural order."""
    found = {
        p.parent.parent
        for p in sweep_dir.rglob("overrides.yaml")
        if p.parent.name == ".hydra" and p.parent.parent != sweep_dir
    }

    def key(path: Path) -> tuple[tuple[Any, ...], ...]:
        return tuple(natural_key(part) for part in path.relative_to(sweep_dir).parts)

    return sorted(found, key=key)


def read_overrides(job_dir: Path) -> dict[str, str]:
    """``.hydra/overrides.yaml`` (a list of ``key=value``) as a dict; ``+``/``++`` prefixes dropped."""
    items = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
    overrides: dict[str, str] = {}
    for item in items:
        key, _, value = str(item).partition("=")
        overrides[key.lstrip("+")] = value
    return overrides


def failure_reason(job_dir: Path) -> str:
    """The last non-empty line of the job's ``*.log`` files, or a note that there is none."""
    for log in sorted(job_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in reversed(lines):
            if line.strip():
                return line.strip()
    return "no metrics.json and no log output (the job raised, was killed, or is still running)"


def read_config(job_dir: Path) -> dict[str, Any]:
    """The job's resolved config (``.hydra/config.yaml``), or ``{}`` if missing or unreadable."""
    try:
        cfg = yaml.safe_load((job_dir / ".hydra" / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def job_seed(
    overrides: dict[str, str], metrics: dict[str, Any] | None, job_dir: Path
) -> str | None:
    """The seed from the overrides, else the one ``metrics.json`` recorded, else the config's."""
    if SEED_KEY in overrides:
        return overrides[SEED_KEY]
    for source in (metrics or {}, read_config(job_dir)):
        if source.get(SEED_KEY) is not None:
            return str(source[SEED_KEY])
    return None


def read_record(job_dir: Path, sweep_dir: Path) -> RunRecord:
    """One job dir as a :class:`RunRecord`."""
    name = job_dir.relative_to(sweep_dir).as_posix()
    overrides = read_overrides(job_dir)
    metrics: dict[str, Any] | None = None
    reason: str | None = None
    metrics_path = job_dir / "metrics.json"
    if not metrics_path.is_file():
        reason = failure_reason(job_dir)
    else:
        try:
            metrics = json.loads(metrics_path.read_text())
        except (OSError, ValueError) as exc:
            reason = f"unreadable metrics.json: {exc}"
        if metrics is not None and metrics.get("status") == FAILED:
            # nst writes {"status": "failed", "error": ...} for a job that raised.
            reason = str(metrics.get("error") or failure_reason(job_dir))
            metrics = None
    status = FAILED if metrics is None else str(metrics.get("status") or "unknown")
    seed = job_seed(overrides, metrics, job_dir)
    return RunRecord(job_dir, name, overrides, status, metrics, reason, seed)


def collect(sweep_dir: str | os.PathLike[str]) -> list[RunRecord]:
    """Read every job dir of a sweep.

    Raises:
        ReportError: ``sweep_dir`` is not a directory, or holds no job dirs.
    """
    sweep = Path(sweep_dir)
    if not sweep.is_dir():
        raise ReportError(f"sweep dir not found: {sweep}")
    job_dirs = find_job_dirs(sweep)
    if not job_dirs:
        raise ReportError(
            f"no job dirs in {sweep} (expected subdirs like 0/.hydra/overrides.yaml from `nst -m ...`)"
        )
    return [read_record(job_dir, sweep) for job_dir in job_dirs]


# --------------------------------------------------------------------------------------------
# Grouping into configurations


def swept_keys(records: Sequence[RunRecord]) -> list[str]:
    """Override keys whose value differs across jobs (absent counts as a value), in CLI order."""
    keys: list[str] = []
    for record in records:
        keys.extend(k for k in record.overrides if k not in keys)
    return [k for k in keys if len({r.overrides.get(k) for r in records}) > 1]


def config_keys(records: Sequence[RunRecord]) -> list[str]:
    """The swept keys that identify a configuration: all but ``seed``."""
    return [k for k in swept_keys(records) if k != SEED_KEY]


def config_of(record: RunRecord, keys: Sequence[str]) -> Config:
    return tuple(record.overrides.get(k) for k in keys)


def config_label(config: Config, keys: Sequence[str], records: Sequence[RunRecord] = ()) -> str:
    """``k=v, k=v`` for a configuration; with no swept keys, the overrides shared by all jobs."""
    if keys:
        return ", ".join(
            f"{k}={UNSET if v is None else v}" for k, v in zip(keys, config, strict=True)
        )
    if records:
        common = {k: v for k, v in records[0].overrides.items() if k != SEED_KEY}
        return ", ".join(f"{k}={v}" for k, v in common.items()) or "defaults"
    return "all runs"


def group_by_config(
    records: Sequence[RunRecord], keys: Sequence[str]
) -> dict[Config, list[RunRecord]]:
    """Records per configuration, configurations in natural order, runs ordered by seed."""
    groups: dict[Config, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(config_of(record, keys), []).append(record)
    ordered = sorted(groups, key=lambda c: tuple(natural_key(v) for v in c))
    return {c: sorted(groups[c], key=lambda r: natural_key(r.seed)) for c in ordered}


def stat_runs(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs whose numbers are summarised: the completed ones, else any that left metrics."""
    completed = [r for r in runs if r.status == "completed"]
    return completed or [r for r in runs if not r.failed]


def mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and sample sd (n - 1); sd is None for fewer than two values."""
    if not values:
        return None, None
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else None
    return mean, sd


def status_summary(runs: Sequence[RunRecord]) -> str:
    """``completed`` when all agree, else counts such as ``2 completed, 1 failed``."""
    counts = Counter(r.status for r in runs)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


# --------------------------------------------------------------------------------------------
# The table


@dataclass
class ReportRow:
    """One row of the report: a configuration, or one failed job of it."""

    config: Config
    n_runs: int
    n_failed: int
    status: str
    stats: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    n_stat: int = 0
    seeds: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    reason: str | None = None


def build_rows(records: Sequence[RunRecord]) -> list[ReportRow]:
    """One row per configuration that left metrics, followed by one row per failed job of it."""
    keys = config_keys(records)
    rows: list[ReportRow] = []
    for config, runs in group_by_config(records, keys).items():
        n_failed = sum(r.failed for r in runs)
        used = stat_runs(runs)
        if used:
            stats = {
                k: mean_sd([v for r in used if (v := r.value(k)) is not None]) for k in NUMERIC_KEYS
            }
            rows.append(
                ReportRow(
                    config=config,
                    n_runs=len(runs),
                    n_failed=n_failed,
                    status=status_summary(runs),
                    stats=stats,
                    n_stat=len(used),
                    seeds=[r.seed or "" for r in runs],
                    jobs=[r.name for r in runs],
                )
            )
        for run in (r for r in runs if r.failed):
            rows.append(
                ReportRow(
                    config=config,
                    n_runs=1,
                    n_failed=1,
                    status=FAILED,
                    seeds=[run.seed or ""],
                    jobs=[run.name],
                    reason=run.reason,
                )
            )
    return rows


def has_replicates(rows: Sequence[ReportRow]) -> bool:
    """Whether any configuration summarises more than one run (then mean and sd are reported)."""
    return any(row.n_stat > 1 for row in rows)


def table(rows: Sequence[ReportRow], keys: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """Header and typed cells (str, int, float or None) shared by the CSV and the W&B table.

    Numeric columns are ``<metric>_mean`` and ``<metric>_sd`` when any configuration has seed
    replicates, else plain ``<metric>``.
    """
    replicated = has_replicates(rows)
    numeric = [c for k in NUMERIC_KEYS for c in ((f"{k}_mean", f"{k}_sd") if replicated else (k,))]
    header = [*keys, "n_runs", "n_failed", "status", *numeric, "seeds", "jobs", "reason"]
    cells: list[list[Any]] = []
    for row in rows:
        values: list[Any] = []
        for k in NUMERIC_KEYS:
            mean, sd = row.stats.get(k, (None, None))
            values.extend((mean, sd) if replicated else (mean,))
        cells.append(
            [
                *row.config,
                row.n_runs,
                row.n_failed,
                row.status,
                *values,
                " ".join(row.seeds),
                " ".join(row.jobs),
                row.reason,
            ]
        )
    return header, cells


def write_csv(rows: Sequence[ReportRow], keys: Sequence[str], path: Path) -> Path:
    """``report.csv``: floats at full precision, empty cells for missing values."""
    header, cells = table(rows, keys)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for line in cells:
            writer.writerow(
                ["" if v is None else repr(v) if isinstance(v, float) else v for v in line]
            )
    return path


def fmt_number(value: float | None) -> str:
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
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(
    sweep_dir: Path, records: Sequence[RunRecord], rows: Sequence[ReportRow], keys: Sequence[str]
) -> str:
    """The text of ``report.md``: summary, results table, failures, and the two figures."""
    n_failed = sum(r.failed for r in records)
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
    lines += ["", "## Results", ""]
    header = [*keys, "n runs", "n failed", "status", *NUMERIC_KEYS, "seeds", "jobs"]
    if n_failed:
        header.append("reason")
    lines.append("| " + " | ".join(md_cell(h) for h in header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        cells = [
            *(UNSET if v is None else v for v in row.config),
            row.n_runs,
            row.n_failed,
            f"**{FAILED}**" if row.status == FAILED else row.status,
            *(fmt_stat(*row.stats.get(k, (None, None))) for k in NUMERIC_KEYS),
            " ".join(row.seeds),
            " ".join(row.jobs),
        ]
        if n_failed:
            cells.append(row.reason)
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    failed = [r for r in records if r.failed]
    if failed:
        lines += ["", "## Failed jobs", ""]
        for r in failed:
            overrides = " ".join(f"{k}={v}" for k, v in r.overrides.items())
            lines.append(f"- job `{r.name}` (`{overrides}`): {r.reason}")
    lines += [
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
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Figures


def wrap_label(text: str, width: int) -> str:
    """Wrap at spaces and after commas (so ``[relu1_1,relu2_1,...]`` breaks between layers)."""
    lines: list[str] = []
    line = ""
    for token in re.split(r"(?<=[, ])", text):
        if line and len(line) + len(token.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        while len(token) > width:
            lines.append(token[:width])
            token = token[width:]
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def _figure(width_in: float, height_in: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, so no global backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _load_rgb(path: Path | None):
    """An image file as an (H, W, 3) uint8 array, or None if absent or unreadable."""
    if path is None:
        return None
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except OSError:
        return None


def _representative(runs: Sequence[RunRecord]) -> RunRecord | None:
    """The run to show for a cell: the lowest seed with a final image, completed ones first."""
    with_image = [r for r in runs if r.final_image is not None]
    completed = [r for r in with_image if r.status == "completed"]
    return (completed or with_image or list(runs) or [None])[0]


def contact_sheet_grid(
    records: Sequence[RunRecord],
) -> tuple[list[str], list[str], list[list[RunRecord | None | str]]]:
    """Row labels, column labels and cells (a run, or a string for a tile with no run).

    Two swept keys (besides the seed): rows = values of the first, columns = values of the second,
    each cell the lowest-seed run. Otherwise one row per configuration and one column per seed.
    """
    keys = config_keys(records)
    groups = group_by_config(records, keys)
    if len(keys) == 2:
        row_values = sorted({c[0] for c in groups}, key=natural_key)
        col_values = sorted({c[1] for c in groups}, key=natural_key)
        cells: list[list[RunRecord | None | str]] = [
            [
                _representative(groups[(rv, cv)]) if (rv, cv) in groups else "missing"
                for cv in col_values
            ]
            for rv in row_values
        ]
        fmt = lambda k, v: f"{k}={UNSET if v is None else v}"  # noqa: E731
        return (
            [fmt(keys[0], v) for v in row_values],
            [fmt(keys[1], v) for v in col_values],
            cells,
        )
    row_labels = [config_label(c, keys, records) for c in groups]
    if SEED_KEY in swept_keys(records):
        seeds = sorted({r.seed for r in records}, key=natural_key)
        cells = [
            [next((r for r in runs if r.seed == s), "missing") for s in seeds]
            for runs in groups.values()
        ]
        return row_labels, [f"seed={s}" for s in seeds], cells
    width = max(len(runs) for runs in groups.values())
    cells = [[*runs, *(["missing"] * (width - len(runs)))] for runs in groups.values()]
    return row_labels, ["" for _ in range(width)], cells


def draw_contact_sheet(
    records: Sequence[RunRecord], path: Path, title: str = "", tile_in: float = 1.8
) -> tuple[int, int]:
    """Draw the final images as a labelled grid into ``path``; returns ``(rows, cols)``.

    Tiles keep the images' aspect (nearest-neighbour, so tiny test images stay crisp); a job with
    no final image is a grey tile saying ``failed`` and a combination never run one saying
    ``missing``. A run that stopped early (interrupted, diverged) has its status under its tile.
    """
    import numpy as np

    row_labels, col_labels, cells = contact_sheet_grid(records)
    n_rows, n_cols = len(cells), len(cells[0])
    images = [
        [_load_rgb(c.final_image) if isinstance(c, RunRecord) else None for c in row]
        for row in cells
    ]
    shapes = [im.shape for row in images for im in row if im is not None]
    ref_h, ref_w = shapes[0][:2] if shapes else (64, 64)
    aspect = max((w / h for h, w, _ in shapes), default=1.0)
    col_chars = max(12, int(tile_in * aspect * 12))
    row_text = [
        "\n".join(wrap_label(part, 32) for part in label.split(", ")) for label in row_labels
    ]
    col_text = [wrap_label(label, col_chars) for label in col_labels]
    label_in = max((0.08 * len(ln) + 0.2 for t in row_text for ln in t.splitlines()), default=0.0)
    title_in = 0.2 * max((t.count("\n") + 1 for t in col_text if t), default=0)
    fig = _figure(
        label_in + n_cols * (tile_in * aspect + 0.1),
        0.4 + title_in + n_rows * (tile_in + 0.25),
    )
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    grey = np.full((ref_h, ref_w, 3), 200, dtype=np.uint8)
    for i in range(n_rows):
        for j in range(n_cols):
            ax, cell, image = axes[i][j], cells[i][j], images[i][j]
            ax.imshow(grey if image is None else image, interpolation="nearest")
            if image is None:
                word = cell if isinstance(cell, str) else FAILED
                ax.text(
                    0.5, 0.5, word, transform=ax.transAxes, ha="center", va="center", color="0.25"
                )
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0 and col_text[j]:
                ax.set_title(col_text[j], fontsize=10)
            if j == 0 and row_text[i]:
                ax.set_ylabel(row_text[i], rotation=0, ha="right", va="center", fontsize=9)
            if isinstance(cell, RunRecord) and cell.status not in ("completed", FAILED):
                ax.set_xlabel(cell.status, fontsize=8, color="tab:red")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.savefig(path, bbox_inches="tight", dpi=100)
    return n_rows, n_cols


def read_losses(path: Path) -> dict[str, list[float]]:
    """``losses.csv`` as columns (``step`` and each loss); empty if missing or unreadable."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            columns: dict[str, list[float]] = {k: [] for k in reader.fieldnames or []}
            for line in reader:
                for k in columns:
                    try:
                        columns[k].append(float(line[k]))
                    except (TypeError, ValueError):
                        columns[k].append(math.nan)
    except OSError:
        return {}
    return columns


def mean_curve(
    runs: Sequence[RunRecord], key: str
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Steps present in every run's ``losses.csv``, with the mean, min and max of ``key`` there."""
    per_run: list[dict[float, float]] = []
    for run in runs:
        columns = read_losses(run.job_dir / "losses.csv")
        if "step" in columns and key in columns:
            per_run.append(dict(zip(columns["step"], columns[key], strict=False)))
    if not per_run:
        return [], [], [], []
    steps = sorted(set.intersection(*(set(d) for d in per_run)))
    mean = [statistics.fmean(d[s] for d in per_run) for s in steps]
    low = [min(d[s] for d in per_run) for s in steps]
    high = [max(d[s] for d in per_run) for s in steps]
    return steps, mean, low, high


def draw_loss_curves(
    records: Sequence[RunRecord], path: Path, keys: Sequence[str] = ("loss/total", "loss/style")
) -> int:
    """Plot each loss in ``keys`` against step (log y), one line per configuration.

    The line is the mean over the configuration's seeds (failed jobs have no curve), the band
    their min..max. Returns the number of configurations drawn.
    """
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    ckeys = config_keys(records)
    groups = group_by_config(records, ckeys)
    n_lines = 0
    fig = _figure(6.0 * len(keys) + 3.0, 4.5)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    cmap = matplotlib.colormaps["tab10" if len(groups) <= 10 else "viridis"]
    for n, (config, runs) in enumerate(groups.items()):
        color = cmap(n % 10) if len(groups) <= 10 else cmap(n / max(1, len(groups) - 1))
        label = config_label(config, ckeys, records)
        drawn = False
        for ax, key in zip(axes, keys, strict=True):
            steps, mean, low, high = mean_curve(stat_runs(runs), key)
            pairs = [
                (s, m, lo, hi)
                for s, m, lo, hi in zip(steps, mean, low, high, strict=True)
                if math.isfinite(m) and m > 0
            ]
            if not pairs:
                continue
            s, m, lo, hi = (list(t) for t in zip(*pairs, strict=True))
            ax.plot(s, m, color=color, label=wrap_label(label, 50), linewidth=1.5)
            if lo != hi and all(math.isfinite(v) and v > 0 for v in lo + hi):
                ax.fill_between(s, lo, hi, color=color, alpha=0.15, linewidth=0)
            drawn = True
        n_lines += drawn
    replicated = any(len(stat_runs(runs)) > 1 for runs in groups.values())
    for ax, key in zip(axes, keys, strict=True):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(key)
        ax.set_title(
            key + (" (mean over seeds, band: min..max)" if replicated else ""), fontsize=10
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if not ax.lines:
            ax.text(0.5, 0.5, "no loss data", transform=ax.transAxes, ha="center", va="center")
    if n_lines:
        axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.savefig(path, bbox_inches="tight", dpi=100)
    return n_lines


# --------------------------------------------------------------------------------------------
# W&B, the report, the command


def _wandb_project(records: Sequence[RunRecord]) -> str:
    """The W&B project the sweep's jobs logged to (their resolved config), else ``nst-research``."""
    for record in records:
        logger = read_config(record.job_dir).get("logger")
        if isinstance(logger, dict) and logger.get("project"):
            return str(logger["project"])
    return "nst-research"


def log_report_to_wandb(
    sweep_dir: Path,
    records: Sequence[RunRecord],
    header: list[str],
    cells: list[list[Any]],
    images: dict[str, Path],
) -> bool:
    """Log the table and figures to a W&B run (``job_type="report"``, group = sweep dir name).

    The mode comes from ``WANDB_MODE`` (default ``offline``); the run lives in ``sweep_dir/wandb``.
    Returns False, with a note on stderr, when wandb is not installed or W&B refuses the run
    (e.g. online without a login): the report files are written either way.
    """
    try:
        import wandb
    except ImportError:
        print("note: wandb is not installed; skipping W&B logging", file=sys.stderr)
        return False
    group = sweep_dir.name
    try:
        run = wandb.init(
            project=_wandb_project(records),
            group=group,
            job_type="report",
            name=f"report-{group}",
            mode=os.environ.get("WANDB_MODE", "offline"),
            dir=str(sweep_dir),
            config={"sweep_dir": str(sweep_dir)},
        )
        payload: dict[str, Any] = {
            "report/table": wandb.Table(columns=header, data=cells, allow_mixed_types=True)
        }
        for name, path in images.items():
            payload[f"report/{name}"] = wandb.Image(str(path))
        run.log(payload)
    except wandb.errors.Error as exc:
        print(f"warning: W&B logging failed: {exc}", file=sys.stderr)
        return False
    finally:
        wandb.finish()
    return True


def write_report(sweep_dir: str | os.PathLike[str], log_to_wandb: bool = False) -> dict[str, Path]:
    """Write ``report.md``, ``report.csv``, ``contact_sheet.png`` and ``loss_curves.png`` into ``sweep_dir``.

    Returns their paths by name (``"md"``, ``"csv"``, ``"contact_sheet"``, ``"loss_curves"``).

    Raises:
        ReportError: the dir is missing or holds no job dirs.
    """
    sweep = Path(sweep_dir).resolve()
    records = collect(sweep)
    keys = config_keys(records)
    rows = build_rows(records)
    paths = {
        "md": sweep / "report.md",
        "csv": write_csv(rows, keys, sweep / "report.csv"),
        "contact_sheet": sweep / "contact_sheet.png",
        "loss_curves": sweep / "loss_curves.png",
    }
    draw_contact_sheet(records, paths["contact_sheet"], title=f"sweep {sweep.name}")
    draw_loss_curves(records, paths["loss_curves"])
    paths["md"].write_text(render_markdown(sweep, records, rows, keys))
    if log_to_wandb:
        header, cells = table(rows, keys)
        images = {k: paths[k] for k in ("contact_sheet", "loss_curves")}
        log_report_to_wandb(sweep, records, header, cells, images)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``nst-report SWEEP_DIR [--wandb]``: write the report and print the paths written."""
    parser = argparse.ArgumentParser(
        prog="nst-report",
        description="Summarise a Hydra multirun sweep of `nst`: table, contact sheet, loss curves.",
    )
    parser.add_argument(
        "sweep_dir", metavar="SWEEP_DIR", type=Path, help="e.g. multirun/2024-01-01/12-00-00"
    )
    parser.add_argument(
        "--wandb",
        action="store_true",
        help="also log the table and images to a W&B run (mode from WANDB_MODE, default offline)",
    )
    args = parser.parse_args(argv)
    try:
        paths = write_report(args.sweep_dir, log_to_wandb=args.wandb)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
