"""Tests of nst_research.report on synthetic sweep dirs (no model runs: files written by hand)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from nst_research.report import (
    FAILED,
    collect,
    config_keys,
    contact_sheet_grid,
    draw_contact_sheet,
    draw_loss_curves,
    main,
    natural_key,
    swept_keys,
    write_report,
)

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
) -> Path:
    """Write one job dir as `nst -m` would: .hydra/, and unless failing, metrics, losses, image."""
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
    runs = list((grid_sweep / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    assert list(runs[0].glob("*.wandb"))
