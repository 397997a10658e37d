"""Tests of nst_research.report on synthetic sweep dirs (no model runs: files written by hand)."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from nst_research.configs.names import (
    EVAL_COLOUR,
    EVAL_CONTENT_DISTANCE,
    EVAL_CONTENT_RATIO,
    EVAL_SSIM,
    EVAL_STYLE_DISTANCE,
    EVAL_STYLE_RATIO,
    OBJECTIVE,
)
from nst_research.report import (
    FAILED,
    RATIO_SUM,
    Setting,
    build_rows,
    collect,
    config_keys,
    config_label,
    contact_sheet_grid,
    draw_contact_sheet,
    draw_loss_curves,
    draw_plane,
    group_by_config,
    main,
    mean_sd,
    natural_key,
    pareto_front,
    plane_points,
    swept_keys,
    verdict_line,
    write_report,
)
from nst_research.report.compare import named_rows
from nst_research.report.methods import method_labels
from nst_research.report.stats import identical_replicates, welch

LOSS_COLUMNS = [
    "loss/style/relu1_1",
    "loss/style/relu2_1",
    "loss/content",
    "loss/style",
    "loss/tv",
    "loss/total",
]
TILE = (24, 16)  # width, height of the synthetic final images


def make_job(
    sweep: Path,
    num: int,
    overrides: dict[str, Any],
    *,
    total: float = 100.0,
    status: str = "completed",
    s_per_iter: float | None = 0.5,
    wall_time_s: float = 2.0,
    failed_log: str | None = None,
    eval_metrics: dict[str, float] | None = None,
    objective: float | None = None,
) -> Path:
    """Write one job dir as `nst -m` would: .hydra/, and unless failing, metrics, losses, image.

    With ``eval_metrics``, metrics.json gains ``eval`` and ``objective`` (null if None) and the
    job an ``eval.csv``, as the evaluation metrics write them."""
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    items = [f"{k}={v}" for k, v in overrides.items()]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(items))
    (job / ".hydra" / "config.yaml").write_text(
        yaml.safe_dump({"seed": 0, "logger": {"project": "nst-test"}})
    )
    if failed_log is not None:
        (job / "cli.log").write_text(failed_log)
        return job
    steps = 4
    rows = []
    for step in range(1, steps + 1):
        scale = 2.0 ** (steps - step)  # falls to `total` at the last step
        values = {k: scale * total / (i + 2) for i, k in enumerate(LOSS_COLUMNS)}
        values["loss/total"] = scale * total
        rows.append({"step": step, **values})
    with open(job / "losses.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", *LOSS_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    metrics = {
        "status": status,
        "iterations": steps,
        "final_losses": {k: rows[-1][k] for k in LOSS_COLUMNS},
        "wall_time_s": wall_time_s,
        "fit_time_s": wall_time_s / 2,
        "s_per_iter": s_per_iter,
        "peak_memory_mb": 10.0,
        "seed": int(overrides.get("seed", 0)),
        "hashes": {},
        "git": {"commit": None, "dirty": None},
        "image_size": [TILE[1], TILE[0]],
    }
    if eval_metrics is not None:
        metrics["eval"] = eval_metrics
        metrics["objective"] = objective
        with open(job / "eval.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["step", *eval_metrics])
            writer.writeheader()
            writer.writerow({"step": steps, **eval_metrics})
    (job / "metrics.json").write_text(json.dumps(metrics))
    color = np.uint8((num * 57) % 256)
    pixels = np.full((TILE[1], TILE[0], 3), color, dtype=np.uint8)
    Image.fromarray(pixels).save(job / "final.png")
    return job


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def grid_sweep(tmp_path: Path) -> Path:
    """2 x 2: loss.style_weight in {10, 2} (listed out of numeric order) x optimizer."""
    sweep = tmp_path / "multirun" / "2024-01-01" / "12-00-00"
    num = 0
    for weight in ("10", "2"):
        for opt in ("lbfgs", "adam"):
            make_job(
                sweep,
                num,
                {"size": 32, "loss.style_weight": weight, "optimizer": opt, "seed": 1},
                total=float(num + 1),
            )
            num += 1
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    return sweep


def test_natural_key_orders_numbers_numerically() -> None:
    values = ["10", "2", "1e3", "relu10_1", "relu2_1", "0.5"]
    assert sorted(values, key=natural_key) == ["0.5", "2", "10", "1e3", "relu2_1", "relu10_1"]


def test_two_by_two_sweep(grid_sweep: Path) -> None:
    paths = write_report(grid_sweep)
    assert set(paths) == {"md", "csv", "contact_sheet", "loss_curves"}
    for path in paths.values():
        assert path.is_file() and path.parent == grid_sweep.resolve()

    rows = read_csv(paths["csv"])
    assert len(rows) == 4
    assert {(r["loss.style_weight"], r["optimizer"]) for r in rows} == {
        ("2", "adam"),
        ("2", "lbfgs"),
        ("10", "adam"),
        ("10", "lbfgs"),
    }
    assert [r["loss.style_weight"] for r in rows] == ["2", "2", "10", "10"]  # numeric order
    assert "seed" not in rows[0] and "size" not in rows[0]  # constant keys are not columns
    assert all(r["status"] == "completed" and r["n_runs"] == "1" for r in rows)
    # one run per config: plain metric columns, no mean/sd
    assert (
        float(
            next(r for r in rows if r["optimizer"] == "lbfgs" and r["loss.style_weight"] == "10")[
                "loss/total"
            ]
        )
        == 1.0
    )

    md = paths["md"].read_text()
    for value in ("| 2 |", "| 10 |", "adam", "lbfgs", "loss.style_weight", "optimizer", "size=32"):
        assert value in md
    assert "contact_sheet.png" in md and "loss_curves.png" in md

    records = collect(grid_sweep)
    assert swept_keys(records) == ["loss.style_weight", "optimizer"]
    row_labels, col_labels, _ = contact_sheet_grid(records)
    assert row_labels == ["loss.style_weight=2", "loss.style_weight=10"]
    assert col_labels == ["optimizer=adam", "optimizer=lbfgs"]
    sheet = grid_sweep / "sheet_again.png"
    assert draw_contact_sheet(records, sheet, tile_in=1.8) == (2, 2)
    width, height = Image.open(sheet).size
    tile_w, tile_h = 1.8 * 100 * TILE[0] / TILE[1], 1.8 * 100  # tiles keep the 3:2 aspect
    assert 2 * tile_w * 0.8 <= width <= 2 * tile_w + 400  # two columns plus row labels
    assert 2 * tile_h * 0.8 <= height <= 2 * tile_h + 200  # two rows plus titles
    assert draw_loss_curves(records, grid_sweep / "curves_again.png") == 4


def test_seed_replicates_mean_and_sd(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    totals = {1: 1.0, 2: 2.0, 3: 6.0}
    for num, (seed, total) in enumerate(totals.items()):
        make_job(
            sweep,
            num,
            {"loss.style_weight": 100, "seed": seed},
            total=total,
            wall_time_s=float(seed),
            s_per_iter=None if seed == 3 else 0.1 * seed,
        )
    # a diverged replicate of the same config is counted but not averaged
    make_job(sweep, 3, {"loss.style_weight": 100, "seed": 4}, total=1e30, status="diverged")
    make_job(sweep, 4, {"loss.style_weight": 1000, "seed": 1}, total=50.0)

    records = collect(sweep)
    assert config_keys(records) == ["loss.style_weight"]
    assert swept_keys(records) == ["loss.style_weight", "seed"]

    rows = read_csv(write_report(sweep)["csv"])
    assert len(rows) == 2
    a, b = rows
    assert a["loss.style_weight"] == "100" and b["loss.style_weight"] == "1000"
    assert a["n_runs"] == "4" and a["n_failed"] == "0"
    assert a["status"] == "3 completed, 1 diverged"
    assert a["seeds"] == "1 2 3 4"
    assert float(a["loss/total_mean"]) == pytest.approx(3.0)
    assert float(a["loss/total_sd"]) == pytest.approx(math.sqrt(7.0))  # sample sd of 1, 2, 6
    assert float(a["loss/content_mean"]) == pytest.approx(3.0 / 4)  # content = total / 4 here
    assert float(a["wall_time_s_mean"]) == pytest.approx(2.0)
    assert float(a["wall_time_s_sd"]) == pytest.approx(1.0)
    assert float(a["s_per_iter_mean"]) == pytest.approx(0.15)  # null values are skipped
    assert float(a["iterations_sd"]) == 0.0
    assert float(b["loss/total_mean"]) == 50.0 and b["loss/total_sd"] == ""

    md = (sweep / "report.md").read_text()
    assert "3 ± 2.6" in md
    assert "mean ± sample sd" in md

    row_labels, col_labels, cells = contact_sheet_grid(records)
    assert col_labels == ["seed=1", "seed=2", "seed=3", "seed=4"]
    assert cells[1][1:] == ["missing"] * 3
    assert draw_contact_sheet(records, tmp_path / "sheet.png") == (2, 4)


def test_failed_job_is_a_row_and_others_still_report(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    make_job(sweep, 0, {"size": 32, "lr": 1}, total=5.0)
    log = "Traceback (most recent call last):\n  File x\nValueError: boom\n\n"
    make_job(sweep, 1, {"size": 4, "lr": 1}, failed_log=log)
    make_job(sweep, 2, {"size": 32, "lr": 2}, total=6.0)
    make_job(sweep, 3, {"size": 4, "lr": 2}, failed_log="")

    records = collect(sweep)
    assert [r.status for r in records] == ["completed", FAILED, "completed", FAILED]
    assert records[1].metrics is None and records[1].reason == "ValueError: boom"
    assert "no metrics.json" in (records[3].reason or "")
    assert records[1].seed == "0"  # from .hydra/config.yaml

    paths = write_report(sweep)
    rows = read_csv(paths["csv"])
    assert len(rows) == 4
    failed = [r for r in rows if r["status"] == FAILED]
    assert {r["jobs"] for r in failed} == {"1", "3"}
    assert next(r for r in failed if r["jobs"] == "1")["reason"] == "ValueError: boom"
    assert all(r["loss/total"] == "" for r in failed)
    done = [r for r in rows if r["status"] == "completed"]
    assert sorted(float(r["loss/total"]) for r in done) == [5.0, 6.0]

    md = paths["md"].read_text()
    assert "**failed**" in md and "ValueError: boom" in md and "## Failed jobs" in md
    # two keys vary: a 2 x 2 grid whose size=4 row is failed tiles
    _, _, cells = contact_sheet_grid(records)
    assert [c.status for row in cells for c in row] == [FAILED, FAILED, "completed", "completed"]
    assert draw_contact_sheet(records, tmp_path / "sheet.png") == (2, 2)


def test_failed_run_in_a_replicated_config(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    make_job(sweep, 0, {"seed": 1, "w": 1}, total=1.0)
    make_job(sweep, 1, {"seed": 2, "w": 1}, failed_log="RuntimeError: out of memory\n")
    make_job(sweep, 2, {"seed": 1, "w": 2}, total=3.0)
    make_job(sweep, 3, {"seed": 2, "w": 2}, total=5.0)
    rows = read_csv(write_report(sweep)["csv"])
    assert [(r["w"], r["status"], r["n_runs"], r["n_failed"]) for r in rows] == [
        ("1", "1 completed, 1 failed", "2", "1"),
        ("1", FAILED, "1", "1"),
        ("2", "completed", "2", "0"),
    ]
    assert rows[1]["reason"] == "RuntimeError: out of memory"
    assert float(rows[0]["loss/total_mean"]) == 1.0 and rows[0]["loss/total_sd"] == ""
    assert float(rows[2]["loss/total_mean"]) == 4.0
    assert float(rows[2]["loss/total_sd"]) == pytest.approx(math.sqrt(2.0))


def test_three_keys_give_one_row_per_config(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    num = 0
    for a in (1, 2):
        for b in ("x", "y"):
            make_job(sweep, num, {"a": a, "b": b, "c": num % 2 + 10 * (num // 2)})
            num += 1
    records = collect(sweep)
    assert config_keys(records) == ["a", "b", "c"]
    row_labels, col_labels, _ = contact_sheet_grid(records)
    assert row_labels[0] == "a=1, b=x, c=0" and len(row_labels) == 4
    assert col_labels == [""]
    assert draw_contact_sheet(records, tmp_path / "sheet.png") == (4, 1)


def test_report_names_each_method_with_its_label(tmp_path: Path) -> None:
    """A method sweep's report says what each preset is (its label), once per method."""
    sweep = tmp_path / "methods"
    labels = {"gatys2016": "Gatys et al. 2016 (VGG19)", "strotss": "STROTSS (VGG19 layers)"}
    for num, (name, label) in enumerate([*labels.items(), ("strotss", labels["strotss"])]):
        job = make_job(sweep, num, {"method": name, "seed": num})
        config = {"seed": num, "method": {"name": name, "label": label}}
        (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    make_job(sweep, 3, {"method": "nnst"}, failed_log="RuntimeError: out of memory\n")
    assert method_labels(collect(sweep)) == labels  # the failed job left no label: not named
    text = write_report(sweep)["md"].read_text()
    line = "- methods: `gatys2016` = Gatys et al. 2016 (VGG19); `strotss` = STROTSS (VGG19 layers)"
    assert text.count(line) == 1
    # runs that record no method (older sweeps) get no such line
    plain = tmp_path / "plain"
    make_job(plain, 0, {"a": 1})
    make_job(plain, 1, {"a": 2})
    assert "- methods:" not in write_report(plain)["md"].read_text()


def test_all_failed_or_single_job_still_writes_everything(tmp_path: Path) -> None:
    sweep = tmp_path / "all_failed"
    make_job(sweep, 0, {"size": 4}, failed_log="InputImageError: too small\n")
    make_job(sweep, 1, {"size": 8}, failed_log="InputImageError: too small\n")
    paths = write_report(sweep)
    assert all(p.is_file() for p in paths.values())
    assert [r["status"] for r in read_csv(paths["csv"])] == [FAILED, FAILED]

    single = tmp_path / "single"
    make_job(single, 0, {"size": 32, "seed": 3}, status="interrupted", total=7.0)
    records = collect(single)
    assert swept_keys(records) == [] and records[0].seed == "3"
    rows = read_csv(write_report(single)["csv"])
    assert len(rows) == 1 and rows[0]["status"] == "interrupted"
    assert float(rows[0]["loss/total"]) == 7.0
    assert draw_contact_sheet(records, tmp_path / "sheet.png") == (1, 1)


def test_main_writes_and_prints_paths(grid_sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(grid_sweep)]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == [
        "report.md",
        "report.csv",
        "contact_sheet.png",
        "loss_curves.png",
    ]
    assert all(Path(p).is_file() for p in printed)


def test_a_stopped_sweep_lists_the_jobs_that_never_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: a sweep of 2 x 3 jobs stopped by Ctrl-C in job 2 (interrupted, its record
    written); jobs 3 to 5 never started, and a job dir with no metrics.json stays failed."""
    sweep = tmp_path / "sweep"
    make_job(sweep, 0, {"size": 32, "lr": 1, "seed": 1}, total=5.0)
    make_job(sweep, 1, {"size": 32, "lr": 1, "seed": 2}, total=6.0)
    make_job(sweep, 2, {"size": 32, "lr": 1, "seed": 3}, total=7.0, status="interrupted")
    planned = {
        "hydra": {
            "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                        "max_batch_size": None, "params": None},
            "overrides": {"hydra": ["hydra.mode=MULTIRUN"], "task": ["size=32", "lr=1,2",
                                                                    "seed=1,2,3"]},
        },
        "size": 32,
    }  # fmt: skip
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(planned))
    (sweep / "4" / ".hydra").mkdir(parents=True)  # started, never wrote a record
    (sweep / "4" / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["lr=2", "seed=2"]))
    assert main([str(sweep)]) == 0
    err = capsys.readouterr().err
    assert (
        err
        == "2 of 6 planned jobs never ran (the sweep was stopped): 3 (lr=2 seed=1), 5 (lr=2 seed=3)\n"
    )
    md = (sweep / "report.md").read_text()
    section = md.split("## Jobs not run")[1]
    assert "- job 3: `lr=2 seed=1`" in section and "- job 5: `lr=2 seed=3`" in section
    assert "job 4" not in section and "## Failed jobs" in md  # job 4 started: failed, as before
    (sweep / "multirun.yaml").write_text("hydra: {}\n")  # no job list known: nothing listed
    assert main([str(sweep)]) == 0 and capsys.readouterr().err == ""
    assert "## Jobs not run" not in (sweep / "report.md").read_text()


def test_main_missing_or_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no job dirs") and err.count("\n") == 1


def test_wandb_offline_logging(
    grid_sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    write_report(grid_sweep, log_to_wandb=True)
    runs = list((tmp_path / "wandb_dir" / "wandb").glob("offline-run-*"))  # WANDB_DIR honoured
    assert len(runs) == 1 and not (grid_sweep / "wandb").exists()
    assert list(runs[0].glob("*.wandb"))


def test_wandb_report_joins_the_jobs_group(
    grid_sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report run goes into the W&B group the jobs logged to (metrics.json records it)."""
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for path in grid_sweep.rglob("metrics.json"):
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "group": "my_sweep-2026-12-06"}))
    write_report(grid_sweep, log_to_wandb=True)
    run_file = next((grid_sweep / "wandb").glob("offline-run-*/*.wandb"))
    # W&B's service may still be writing the file when finish() returns on a loaded machine (the
    # full suite on 2 busy cores once read only its header): wait for it, up to 30 s
    deadline = time.monotonic() + 30
    while b"my_sweep-2026-12-06" not in run_file.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert b"my_sweep-2026-12-06" in run_file.read_bytes()


# --- sweeps with evaluation metrics: ranking, plane, verdicts, compare ---

# (loss.style_weight, optimizer) -> mean style ratio, content ratio, objective. Seeds 1, 2, 3 add
# -1, 0, +1 times 0.01 to the ratios and 0.1 to the objective: sd 0.01 and 0.1 exactly.
EVAL_MEANS = {
    ("10", "lbfgs"): (0.5, 0.1, 1.0),
    ("10", "adam"): (0.6, 0.2, 3.0),
    ("100", "lbfgs"): (0.2, 0.3, 4.0),
    ("100", "adam"): (0.3, 0.4, 2.5),
}
SEED_OFFSETS = {1: -1.0, 2: 0.0, 3: 1.0}


def eval_values(style: float, content: float, offset: float) -> dict[str, float]:
    """Eval metrics of one run (colour distance disabled); SSIM = 1 - content ratio."""
    return {
        EVAL_STYLE_DISTANCE: 10 * (style + 0.01 * offset),
        EVAL_STYLE_RATIO: style + 0.01 * offset,
        EVAL_CONTENT_DISTANCE: 5 * (content + 0.01 * offset),
        EVAL_CONTENT_RATIO: content + 0.01 * offset,
        EVAL_SSIM: 1.0 - content - 0.01 * offset,
    }


@pytest.fixture
def eval_sweep(tmp_path: Path) -> Path:
    """2 x 2 configurations x 3 seeds, each job with eval metrics and an objective."""
    sweep = tmp_path / "multirun" / "2024-01-01" / "12-00-00"
    num = 0
    for (weight, opt), (style, content, objective) in EVAL_MEANS.items():
        for seed, k in SEED_OFFSETS.items():
            overrides = {"size": 32, "loss.style_weight": weight, "optimizer": opt, "seed": seed}
            values = eval_values(style, content, k)
            make_job(sweep, num, overrides, eval_metrics=values, objective=objective + 0.1 * k)
            num += 1
    return sweep


def ranked_order(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(r["rank"], r["loss.style_weight"], r["optimizer"]) for r in rows]


def test_eval_sweep_ranked_by_objective_with_mean_and_sd(eval_sweep: Path) -> None:
    paths = write_report(eval_sweep)
    # issue 27 adds what mattered and the way back to the best run
    assert set(paths) == {"md", "csv", "contact_sheet", "loss_curves", "eval_curves", "plane",
                          "importance", "parallel", "results"}  # fmt: skip
    assert all(p.is_file() for p in paths.values())

    rows = read_csv(paths["csv"])
    assert ranked_order(rows) == [
        ("1", "10", "lbfgs"),  # objective 1
        ("2", "100", "adam"),  # 2.5
        ("3", "10", "adam"),  # 3
        ("4", "100", "lbfgs"),  # 4
    ]
    first = rows[0]
    assert first["n_seeds"] == "3" and first["seeds"] == "1 2 3"
    assert float(first["objective_mean"]) == pytest.approx(1.0)
    assert float(first["objective_sd"]) == pytest.approx(0.1)
    assert float(first[f"{EVAL_STYLE_RATIO}_mean"]) == pytest.approx(0.5)
    assert float(first[f"{EVAL_STYLE_RATIO}_sd"]) == pytest.approx(0.01)
    assert float(first[f"{EVAL_CONTENT_RATIO}_mean"]) == pytest.approx(0.1)
    assert float(first[f"{EVAL_SSIM}_mean"]) == pytest.approx(0.9)
    assert f"{RATIO_SUM}_mean" not in first  # a column only when it is the ranking metric
    assert first[f"{EVAL_COLOUR}_mean"] == ""  # disabled in every run
    assert float(first["loss/total_mean"]) == pytest.approx(100.0)  # losses stay in the CSV
    header = list(first)
    assert header[:3] == ["rank", "loss.style_weight", "optimizer"]
    assert header.index("objective_mean") < header.index(f"{EVAL_STYLE_RATIO}_mean")
    assert header.index(f"{EVAL_STYLE_RATIO}_mean") < header.index("loss/total_mean")

    md = paths["md"].read_text()
    assert f"ranked by: `{OBJECTIVE}` (lower is better)" in md and "## Ranking" in md
    table_lines = [line for line in md.splitlines() if line.startswith("| ")]
    head = table_lines[0]
    assert head.startswith("| rank | loss.style_weight | optimizer | n seeds | objective |")
    assert head.index(EVAL_SSIM) < head.index("loss/total")  # eval metrics lead
    assert EVAL_COLOUR not in head  # no run has it
    assert table_lines[1].startswith("| 1 | 10 | lbfgs | 3 | 1 ± 0.1 |")
    assert "| 0.5 ± 0.01 |" in table_lines[1] and "| 0.9 ± 0.01 |" in table_lines[1]
    assert table_lines[4].startswith("| 4 | 100 | lbfgs | 3 | 4 ± 0.1 |")


def test_old_sweep_is_not_ranked(grid_sweep: Path) -> None:
    paths = write_report(grid_sweep)
    md = paths["md"].read_text()
    assert "## Results" in md and "## Ranking" not in md and "plane.png" not in md
    assert "rank" not in read_csv(paths["csv"])[0]
    assert not (grid_sweep / "plane.png").exists()
    assert main([str(grid_sweep), "--rank-by", OBJECTIVE]) == 2  # nothing to rank by


def test_rank_by_and_fallback_to_ratio_sum(
    eval_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(eval_sweep), "--rank-by", EVAL_SSIM]) == 0  # higher is better
    rows = read_csv(eval_sweep / "report.csv")
    assert [(r["loss.style_weight"], r["optimizer"]) for r in rows] == [
        ("10", "lbfgs"),
        ("10", "adam"),
        ("100", "lbfgs"),
        ("100", "adam"),
    ]
    assert f"ranked by: `{EVAL_SSIM}` (higher is better)" in (eval_sweep / "report.md").read_text()

    capsys.readouterr()
    assert main([str(eval_sweep), "--rank-by", EVAL_COLOUR]) == 2
    assert "no run recorded it" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(eval_sweep), "--rank-by", "loss/total"])

    # one completed run without an objective: the default is the sum of the two ratios
    metrics_path = eval_sweep / "0" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics[OBJECTIVE] = None
    metrics_path.write_text(json.dumps(metrics))
    rows = read_csv(write_report(eval_sweep)["csv"])
    assert ranked_order(rows) == [
        ("1", "100", "lbfgs"),  # 0.2 + 0.3
        ("2", "10", "lbfgs"),  # 0.6
        ("3", "100", "adam"),  # 0.7
        ("4", "10", "adam"),  # 0.8
    ]
    assert float(rows[0][f"{RATIO_SUM}_mean"]) == pytest.approx(0.5)
    assert float(rows[0][f"{RATIO_SUM}_sd"]) == pytest.approx(0.02)  # both ratios move together
    assert f"ranked by: `{RATIO_SUM}`" in (eval_sweep / "report.md").read_text()

    # neither an objective nor both ratios: the first metric some run has (SSIM here)
    ssim_only = tmp_path / "ssim_only"
    for num, ssim in enumerate((0.5, 0.7)):
        make_job(ssim_only, num, {"w": num}, eval_metrics={EVAL_SSIM: ssim})
    rows = read_csv(write_report(ssim_only)["csv"])
    assert [(r["rank"], r["w"]) for r in rows] == [("1", "1"), ("2", "0")]
    assert "No configuration has both" in (ssim_only / "report.md").read_text()


def test_eval_curves_are_the_mean_of_each_configs_eval_csv(eval_sweep: Path) -> None:
    """eval_curves.png plots eval.csv's scores per configuration (mean over the seeds)."""
    from nst_research.report.plots import EVAL_CURVES, mean_curve

    records = collect(eval_sweep)
    groups = group_by_config(records, config_keys(records))
    expected = {  # (style_weight, optimizer) -> the style ratios its three seeds wrote
        key: sorted(r.metrics["eval"][EVAL_STYLE_RATIO] for r in runs if r.status == "completed")
        for key, runs in groups.items()
    }
    for key, runs in groups.items():
        steps, mean, low, high = mean_curve(runs, EVAL_STYLE_RATIO, EVAL_CURVES.file)
        ratios = expected[key]
        assert steps == [4.0]  # the fixture scores the last of 4 steps
        assert mean[0] == pytest.approx(sum(ratios) / len(ratios))
        assert (low[0], high[0]) == (pytest.approx(ratios[0]), pytest.approx(ratios[-1]))
    assert draw_loss_curves(records, eval_sweep / "e.png", EVAL_CURVES) == len(groups)
    assert (eval_sweep / "e.png").stat().st_size > 0


def test_failed_job_in_a_ranked_sweep_comes_last_unranked(eval_sweep: Path) -> None:
    overrides = {"size": 32, "loss.style_weight": "1000", "optimizer": "adam", "seed": 1}
    make_job(eval_sweep, 12, overrides, failed_log="RuntimeError: boom\n")
    paths = write_report(eval_sweep)
    rows = read_csv(paths["csv"])
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", ""]
    assert rows[-1]["status"] == FAILED and rows[-1]["reason"] == "RuntimeError: boom"
    md = paths["md"].read_text()
    assert "| **failed** |" in md and "## Failed jobs" in md
    weight = next(line for line in md.splitlines() if line.startswith("- `loss.style_weight`:"))
    assert "`10` wins on objective" in weight  # 1000 has no completed run: left out

    # a NaN objective in one seed (job 6 is 100/lbfgs, seed 1): a NaN mean, not ranked
    metrics = json.loads((eval_sweep / "6" / "metrics.json").read_text())
    metrics[OBJECTIVE] = math.nan
    (eval_sweep / "6" / "metrics.json").write_text(json.dumps(metrics))
    rows = read_csv(write_report(eval_sweep)["csv"])
    assert [(r["rank"], r["loss.style_weight"], r["optimizer"]) for r in rows[2:4]] == [
        ("3", "10", "adam"),
        ("", "100", "lbfgs"),
    ]
    assert math.isnan(float(rows[3]["objective_mean"]))
    assert math.isnan(float(rows[3]["objective_sd"]))


def test_mean_sd_of_non_finite_values() -> None:
    assert mean_sd([]) == (None, None)
    assert mean_sd([2.0]) == (2.0, None)
    assert mean_sd([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2.0)))
    mean, sd = mean_sd([math.nan, 1.0])
    assert math.isnan(mean) and math.isnan(sd)  # statistics.stdev would raise
    mean, sd = mean_sd([math.inf, 1.0])
    assert mean == math.inf and math.isnan(sd)
    assert mean_sd([math.inf]) == (math.inf, None)


def test_pareto_front() -> None:
    assert pareto_front([]) == []
    assert pareto_front([(0.3, 0.7)]) == [0]
    assert pareto_front([(1, 1), (0, 1), (0, 0), (1, 0)]) == [2]  # all dominated but one
    assert pareto_front([(0, 3), (1, 1), (3, 0), (2, 2), (3, 3)]) == [0, 1, 2]  # a trade-off
    assert pareto_front([(1, 1), (1, 1), (2, 2)]) == [0, 1]  # equal points: both on the front
    assert pareto_front([(1, 2), (1, 1)]) == [1]  # same x, lower y dominates
    assert pareto_front([(2, 1), (1, 1)]) == [1]  # same y, lower x dominates
    assert pareto_front([(math.nan, 0), (1, 1), (0, math.inf)]) == [1]  # non-finite: never


def test_plane_points_and_front(eval_sweep: Path, tmp_path: Path) -> None:
    paths = write_report(eval_sweep)
    assert paths["plane"].is_file() and paths["plane"].name == "plane.png"
    records = collect(eval_sweep)
    keys = config_keys(records)
    rows = build_rows(records)
    names = [config_label(row.config, keys) for row in rows]
    drawn = draw_plane(plane_points(rows, names, "sweep"), tmp_path / "plane.png")
    assert len(drawn) == 4  # one point per configuration
    front = {p.name for p in drawn if p.on_front}
    assert front == {
        "loss.style_weight=10, optimizer=lbfgs",
        "loss.style_weight=100, optimizer=lbfgs",
    }
    point = next(p for p in drawn if p.label == "10, lbfgs")
    assert (point.x, point.y) == (pytest.approx(0.1), pytest.approx(0.5))
    assert (point.x_sd, point.y_sd) == (pytest.approx(0.01), pytest.approx(0.01))

    md = paths["md"].read_text()
    assert "![style/content plane](plane.png)" in md
    front_lines = [line for line in md.splitlines() if line.startswith("- `loss.style_weight=")]
    assert front_lines == [
        f"- `loss.style_weight=10, optimizer=lbfgs`: {EVAL_CONTENT_RATIO} 0.1 ± 0.01, "
        f"{EVAL_STYLE_RATIO} 0.5 ± 0.01",
        f"- `loss.style_weight=100, optimizer=lbfgs`: {EVAL_CONTENT_RATIO} 0.3 ± 0.01, "
        f"{EVAL_STYLE_RATIO} 0.2 ± 0.01",
    ]

    rows[0].stats[EVAL_CONTENT_RATIO] = (None, None)  # a configuration without the ratio
    assert len(plane_points(rows, names, "sweep")) == 3
    assert draw_plane([], tmp_path / "empty.png") == [] and (tmp_path / "empty.png").is_file()


def test_verdict_lines_on_constructed_numbers() -> None:
    from scipy import stats

    a = Setting("a", (1.0, 1.1, 0.9), 3)  # mean 1, sd 0.1
    b = Setting("b", (2.0, 2.1, 1.9), 3)  # mean 2, sd 0.1
    # Welch by hand: se = sqrt(0.01/3 + 0.01/3), t = -1/se, df = 4 (equal sds and ns)
    se = math.sqrt(0.01 / 3 + 0.01 / 3)
    test = welch(a.values, b.values)
    assert test is not None and test.t == pytest.approx(-1 / se) and test.df == pytest.approx(4)
    assert test.p == pytest.approx(2 * stats.t.sf(1 / se, 4))
    half = stats.t.ppf(0.975, 4) * se
    assert (test.low, test.high) == (pytest.approx(-1 - half), pytest.approx(-1 + half))
    assert verdict_line("k", OBJECTIVE, [b, a]) == (
        "- `k`: `a` wins on objective (1, n=3) over `b` (2, n=3): 1 lower (50% of the "
        f"runner-up's); significant at 0.05 (Welch's t-test p={test.p:.2g}; 95% CI of winner "
        f"minus runner-up {-1 - half:.4g} to {-1 + half:.4g})"
    )
    wide = Setting("b", (1.2, 1.7, 0.7), 3)  # mean 1.2, sd 0.5: 0.2 apart, p about 0.65
    wide_a = Setting("a", (1.0, 1.5, 0.5), 3)
    line = verdict_line("k", OBJECTIVE, [wide_a, wide])
    p_wide = stats.ttest_ind(wide_a.values, wide.values, equal_var=False).pvalue
    assert f"not significant at 0.05 (Welch's t-test p={p_wide:.2g};" in line
    # 2 SE no longer decides: with two seeds each, |diff| 4 > 2 SE (2.83), yet p = 0.11
    two = welch((0.0, 2.0), (4.0, 6.0))
    assert two is not None and 4.0 > 2 * math.sqrt(2 / 2 + 2 / 2)
    assert two.t == pytest.approx(-2 * math.sqrt(2)) and two.df == pytest.approx(2)
    assert two.p == pytest.approx(2 * stats.t.sf(2 * math.sqrt(2), 2)) and two.p > 0.05
    assert welch((1.0,), (2.0, 3.0)) is None and welch((1.0, 1.0), (2.0, 2.0)) is None

    # identical replicates: no test, whatever the means
    same = [Setting("a", (1.0, 1.0, 1.0), 3, True), Setting("b", (2.0, 2.0, 2.0), 3, True)]
    line = verdict_line(
        "k", OBJECTIVE, same, "seed has no effect with init=content: spread unknown"
    )
    assert "`a` wins" in line and line.endswith(
        "seed has no effect with init=content: spread unknown"
    )
    assert "significant" not in line

    # one seed (even when pooled over another key's two values): spread unknown
    single = [Setting("a", (1.0, 3.0), 1), Setting("b", (4.0,), 1)]
    line = verdict_line("k", OBJECTIVE, single)
    assert "`a` wins" in line and "2 lower (50% of" in line
    assert line.endswith("single seed: spread unknown")
    mixed = [Setting("a", (1.0, 1.2), 2), Setting("b", (4.0,), 1)]
    assert verdict_line("k", OBJECTIVE, mixed).endswith("single seed: spread unknown")

    # SSIM: higher wins
    ssim = [Setting("lo", (0.8, 0.8), 2, True), Setting("hi", (0.9, 0.9), 2, True)]
    line = verdict_line("k", EVAL_SSIM, ssim)
    assert "`hi` wins" in line and "0.1 higher" in line
    assert line.endswith("seed has no effect: spread unknown")  # two equal seeds, no spread

    # degenerate cases
    assert verdict_line("k", OBJECTIVE, [Setting("a", (0.5,), 1), Setting("b", (), 0)]) == (
        "- `k`: only `a` has objective (0.5, n=1)"
    )
    assert verdict_line("k", OBJECTIVE, [Setting("a", (), 0)]) == "- `k`: no run has objective"
    zero = verdict_line("k", OBJECTIVE, [Setting("a", (-1.0,), 1), Setting("b", (0.0,), 1)])
    assert "(n/a of the runner-up's)" in zero


def test_verdicts_in_the_report(eval_sweep: Path) -> None:
    md = write_report(eval_sweep)["md"].read_text()
    assert "## Verdicts" in md
    weight = next(line for line in md.splitlines() if line.startswith("- `loss.style_weight`:"))
    optimizer = next(line for line in md.splitlines() if line.startswith("- `optimizer`:"))
    # pooled over the optimizer and seeds: 10 -> mean 2 of (1, 3) +- 0.1; 100 -> 3.25 of (4, 2.5)
    assert "`10` wins on objective (2, n=6) over `100` (3.25, n=6): 1.25 lower" in weight
    assert "38.5% of the runner-up's" in weight
    pooled_10 = [v + d for v in (1.0, 3.0) for d in (-0.1, 0.0, 0.1)]
    pooled_100 = [v + d for v in (4.0, 2.5) for d in (-0.1, 0.0, 0.1)]
    from scipy import stats

    p = stats.ttest_ind(pooled_10, pooled_100, equal_var=False).pvalue
    # 1.25 > 2 SE (the old rule said "exceeds the spread"), but Welch's p is 0.09: not significant
    sd_10, sd_100 = np.std(pooled_10, ddof=1), np.std(pooled_100, ddof=1)
    assert 1.25 > 2 * math.sqrt(sd_10**2 / 6 + sd_100**2 / 6) and p > 0.05
    assert f"not significant at 0.05 (Welch's t-test p={p:.2g};" in weight
    assert "`lbfgs` wins on objective (2.5, n=6) over `adam` (2.75, n=6)" in optimizer
    assert "not significant at 0.05" in optimizer
    assert "identical replicates" not in md and "(identical)" not in md  # the seeds differ


def test_identical_replicates_are_detected(tmp_path: Path) -> None:
    """init=content is deterministic: 3 seeds give one image and one score; no test is claimed."""
    sweep = tmp_path / "multirun" / "2024-01-01" / "12-00-00"
    for num, (weight, seed) in enumerate((w, s) for w in (10, 100) for s in (0, 1, 2)):
        overrides = {"init": "content", "loss.style_weight": weight, "seed": seed}
        values = eval_values(0.5 if weight == 10 else 0.3, 0.1, 0.0)
        job = make_job(
            sweep, num, overrides, eval_metrics=values, objective=values[EVAL_STYLE_RATIO]
        )
        Image.new("RGB", TILE, (weight, 0, 0)).save(job / "final.png")  # same bytes per weight
    records = collect(sweep)
    assert identical_replicates(records[:3]) and identical_replicates(records[3:])
    assert not identical_replicates(records[2:4]) and not identical_replicates(records[:1])
    md = write_report(sweep)["md"].read_text()
    assert "**identical replicates**: the seeds of every configuration gave identical" in md
    assert "seed has no effect with init=content: spread unknown" in md
    assert "init.perturb=" in md  # the way to real replicates
    weight = next(line for line in md.splitlines() if line.startswith("- `loss.style_weight`:"))
    assert weight.endswith("seed has no effect with init=content: spread unknown")
    assert "significant" not in weight and "0.3 (identical)" in md and "± 0 " not in md

    # the eval values alone (no final.png) also show it; one differing seed does not
    for record in records:
        (record.job_dir / "final.png").unlink()
    assert identical_replicates(collect(sweep)[:3])
    metrics = json.loads((sweep / "1" / "metrics.json").read_text())
    metrics["eval"][EVAL_STYLE_RATIO] += 0.01
    (sweep / "1" / "metrics.json").write_text(json.dumps(metrics))
    assert not identical_replicates(collect(sweep)[:3])


def test_compare_two_sweeps(
    eval_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other" / "13-00-00"
    for num, (seed, k) in enumerate(((1, -1.0), (2, 1.0))):
        values = eval_values(0.1, 0.2, k)
        make_job(
            other, num, {"loss.style_weight": 1000, "seed": seed}, eval_metrics=values,
            objective=0.5 + 0.1 * k,
        )  # fmt: skip
    assert len(named_rows(collect(other), "B")[1]) == 1  # one configuration, one point

    capsys.readouterr()
    assert main(["--compare", str(eval_sweep), str(other)]) == 0
    printed = [Path(p) for p in capsys.readouterr().out.split()]
    out = eval_sweep.resolve() / "compare_13-00-00"
    assert printed == [out / "compare.md", out / "compare.csv", out / "plane.png"]
    assert all(p.is_file() for p in printed)

    rows = read_csv(out / "compare.csv")
    assert [(r["rank"], r["configuration"], r["n_seeds"]) for r in rows] == [
        ("1", "13-00-00: loss.style_weight=1000", "2"),
        ("2", "12-00-00: loss.style_weight=10, optimizer=lbfgs", "3"),
        ("3", "12-00-00: loss.style_weight=100, optimizer=adam", "3"),
        ("4", "12-00-00: loss.style_weight=10, optimizer=adam", "3"),
        ("5", "12-00-00: loss.style_weight=100, optimizer=lbfgs", "3"),
    ]
    assert float(rows[0]["objective_sd"]) == pytest.approx(math.sqrt(0.02))

    md = (out / "compare.md").read_text()
    assert md.startswith("# Sweep comparison: 12-00-00 vs 13-00-00")
    assert "(12 jobs, 4 configurations)" in md and "(2 jobs, 1 configuration)" in md
    table_lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table_lines) == 6  # header and five configurations
    assert table_lines[1].startswith("| 1 | 13-00-00: loss.style_weight=1000 | 2 | 0.5 ± 0.14 |")
    # the joint front: B's (0.2, 0.1) beats 100/lbfgs's (0.3, 0.2); 10/lbfgs's (0.1, 0.5) stays
    front = [
        line for line in md.splitlines() if line.startswith("- `1") and EVAL_STYLE_RATIO in line
    ]
    assert [line.split("`")[1] for line in front] == [
        "12-00-00: loss.style_weight=10, optimizer=lbfgs",
        "13-00-00: loss.style_weight=1000",
    ]
    assert len(collect(eval_sweep)) == 12  # the compare dir is no job dir

    assert main(["--compare", str(eval_sweep), str(other), "--out", str(tmp_path / "cmp")]) == 0
    assert {p.name for p in (tmp_path / "cmp").iterdir()} == {
        "compare.md",
        "compare.csv",
        "plane.png",
    }


def test_compare_needs_eval_data_and_one_mode(
    grid_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    make_job(old, 0, {"size": 32})
    capsys.readouterr()
    assert main(["--compare", str(grid_sweep), str(old)]) == 2
    assert "neither" in capsys.readouterr().err
    for argv in ([], [str(grid_sweep), "--compare", str(old), str(old)], [str(old), "--out", "x"]):
        with pytest.raises(SystemExit):
            main(argv)


def test_wandb_logs_ranked_table_and_plane(
    eval_sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_dir"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    write_report(eval_sweep, log_to_wandb=True)
    (run,) = (tmp_path / "wandb_dir" / "wandb").glob("offline-run-*")  # WANDB_DIR honoured
    media = run / "files" / "media"
    (table_file,) = (media / "table" / "report").glob("table_*.table.json")
    logged = json.loads(table_file.read_text())
    assert logged["columns"][:4] == ["rank", "loss.style_weight", "optimizer", "n_runs"]
    assert [line[:3] for line in logged["data"]] == [
        [1, "10", "lbfgs"],
        [2, "100", "adam"],
        [3, "10", "adam"],
        [4, "100", "lbfgs"],
    ]
    assert len(list((media / "images" / "report").glob("plane_*.png"))) == 1
    # the jobs with their final images, one row each: the run's table, and the images in the
    # table's artifact (where W&B keeps a logged table's media)
    (runs_file,) = (media / "table" / "report").glob("runs_*.table.json")
    runs_table = json.loads(runs_file.read_text())
    assert runs_table["columns"][-1] == "final" and len(runs_table["data"]) == 12
    wandb_cmd = str(Path(sys.executable).parent / "wandb")
    records = subprocess.run(
        [wandb_cmd, "leet", "inspect", "--json", str(run)], capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout  # fmt: skip
    artifacts = [json.loads(ln)["artifact"] for ln in records.splitlines() if '"artifact"' in ln]
    (table_art,) = [a for a in artifacts if "reportruns" in a["name"]]
    contents = {c["path"]: c for c in table_art["manifest"]["contents"]}
    pngs = [p for p in contents if p.startswith("media/images/") and p.endswith("final.png")]
    assert len(pngs) == 12
    (table_path,) = [p for p in contents if p.endswith("runs.table.json")]
    logged_runs = json.loads(Path(contents[table_path]["local_path"]).read_text())
    cells = [row[-1] for row in logged_runs["data"]]
    assert all(c["_type"] == "image-file" and c["path"] in contents for c in cells)
    assert sorted(row[0] for row in runs_table["data"]) == sorted(str(i) for i in range(12))


def test_wandb_runs_table_has_a_column_per_swept_key(eval_sweep: Path) -> None:
    from nst_research.report.wandb_log import run_columns, run_rows

    records = collect(eval_sweep)
    columns = run_columns(records)
    assert columns == ["job", "loss.style_weight", "optimizer", "seed", "status",
                       EVAL_STYLE_DISTANCE, EVAL_STYLE_RATIO, EVAL_CONTENT_DISTANCE,
                       EVAL_CONTENT_RATIO, EVAL_SSIM, "objective", "final"]  # fmt: skip
    first = dict(zip(columns, run_rows(records)[0], strict=True))
    overrides = records[0].overrides
    assert first["job"] == records[0].name and first["seed"] == overrides["seed"]
    assert (first["loss.style_weight"], first["optimizer"]) == (
        overrides["loss.style_weight"],
        overrides["optimizer"],
    )
    assert first[EVAL_STYLE_RATIO] == records[0].metrics["eval"][EVAL_STYLE_RATIO]
    assert first["final"] == records[0].final_image


def test_a_metric_beyond_the_built_in_ones_is_discovered_shown_and_rankable(
    eval_sweep: Path,
) -> None:
    """``eval=[...,cfsd]``: no list names ``eval/cfsd``; the report finds it in the records."""
    for job in sorted(eval_sweep.iterdir()):
        if not (job / "metrics.json").is_file():
            continue
        metrics = json.loads((job / "metrics.json").read_text())
        style = metrics["eval"][EVAL_STYLE_RATIO]
        metrics["eval"]["eval/cfsd"] = 10.0 - style  # reverses the style ranking
        (job / "metrics.json").write_text(json.dumps(metrics))
    header = read_csv(write_report(eval_sweep)["csv"])[0]
    assert "eval/cfsd_mean" in header and "eval/cfsd_sd" in header
    assert "eval/cfsd" in (eval_sweep / "report.md").read_text()
    assert main([str(eval_sweep), "--rank-by", "eval/cfsd"]) == 0
    rows = read_csv(eval_sweep / "report.csv")
    means = [float(r["eval/cfsd_mean"]) for r in rows]
    assert means == sorted(means) and len(set(means)) == 4  # lowest first, all four distinct
    assert "ranked by: `eval/cfsd` (lower is better)" in (eval_sweep / "report.md").read_text()
