"""Sweeps through the real CLI (Hydra's compose API cannot multirun): run dirs, W&B groups, reports."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from PIL import Image

from nst_research.report import collect, contact_sheet_grid, write_report
from tests.conftest import REPO

TINY = ["size=32", "iterations=2", "trainer.progress_bar=false", "snapshot_every=0",
        "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]"]  # fmt: skip


def nst_multirun(tmp_path, *args: str, timeout: int = 400) -> subprocess.CompletedProcess:
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    cmd = [sys.executable, "-m", "nst_research.cli", "-m", f"content={content}",
           f"style={style}", *TINY, *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def wandb_summary(run_dir):
    (offline,) = list((run_dir / "wandb").glob("offline-run-*"))
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "wandb"), "leet", "inspect", "--summary", "--json",
         str(offline)], capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


@pytest.mark.slow
def test_2x2_sweep_run_dirs_wandb_groups_and_report(tiny_images, tmp_path):
    sweep = tmp_path / "multirun" / "sweep-2x2"
    proc = nst_multirun(
        tmp_path, "loss.style_weight=10,1000", "model.pooling=max,avg", "logger=wandb",
        f"hydra.sweep.dir={sweep}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    names = set()
    for job in jobs:
        assert (job / "final.png").exists() and (job / ".hydra" / "config.yaml").exists()
        assert json.loads((job / "metrics.json").read_text())["status"] == "completed"
        summary = wandb_summary(job)  # exactly one W&B run per job dir
        assert summary["state"] == "finished"
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        assert summary["name"].split(",")[0] in overrides
        names.add(summary["name"])
        group = json.dumps(summary)  # the group is recorded in the run's metadata
        assert "sweep-2x2" in group
    assert len(names) == 4  # each run named by its own overrides

    report = subprocess.run(
        [sys.executable, "-m", "nst_research.report", str(sweep)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert {(r["loss.style_weight"], r["model.pooling"]) for r in rows} == {
        ("10", "max"), ("10", "avg"), ("1000", "max"), ("1000", "avg")}  # fmt: skip
    grid = contact_sheet_grid(collect(sweep))
    assert len(grid[0]) == 2 and len(grid[1]) == 2  # 2 rows x 2 columns: 4 tiles
    assert Image.open(sweep / "contact_sheet.png").size[0] > 200
    assert (sweep / "loss_curves.png").exists() and "1000" in (sweep / "report.md").read_text()


@pytest.mark.slow
def test_submitit_local_launcher_runs_two_jobs(tiny_images, tmp_path):
    sweep = tmp_path / "multirun" / "submitit"
    proc = nst_multirun(
        tmp_path, "seed=1,2", "init=noise", "logger=none", "hydra/launcher=submitit_local",
        f"hydra.sweep.dir={sweep}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (sweep / ".submitit").is_dir()  # really went through submitit
    finals = [Image.open(sweep / j / "final.png").tobytes() for j in ("0", "1")]
    assert finals[0] != finals[1]  # different seeds, different noise


def test_a_sweep_with_a_bad_arm_is_refused_before_any_job_runs(tiny_images, tmp_path):
    """Issue 23: every job is composed and checked first; one line per bad job, nothing written."""
    sweep = tmp_path / "multirun" / "failing"
    proc = nst_multirun(
        tmp_path, "layers.content=[relu2_1],[relu9_9],[relu1_1]", "logger=none",
        f"hydra.sweep.dir={sweep}",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: job 1 (layers.content=[relu9_9]): unknown layer name")
    assert lines[1] == "error: 1 of 3 jobs are invalid; nothing was run"
    assert "Traceback" not in proc.stderr and not sweep.exists()


# A job that fails while it runs (a full disk, a driver error): injected into job 1 only.
FAIL_JOB_1 = """
import sys
from nst_research import cli, run
from nst_research.errors import ConfigError
build = run.build
def failing(cfg, run_dir, *args, **kwargs):
    if run_dir.name == "1":
        raise ConfigError("unknown layer name(s) 'relu9_9' (injected failure)")
    return build(cfg, run_dir, *args, **kwargs)
run.build = failing
sys.argv = ["nst", *sys.argv[1:]]
cli.main()
"""


@pytest.mark.slow
def test_sweep_with_a_failing_job_still_reports_the_others(tiny_images, tmp_path):
    sweep = tmp_path / "multirun" / "failing"
    script = tmp_path / "fail_job_1.py"
    script.write_text(FAIL_JOB_1)
    content, style = tiny_images
    proc = subprocess.run(
        [sys.executable, str(script), "-m", f"content={content}", f"style={style}", *TINY,
         "layers.content=[relu2_1],[relu3_1],[relu1_1]", "logger=none",
         f"hydra.sweep.dir={sweep}"],
        capture_output=True, text=True, timeout=400, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1  # the sweep reports the failure in one summary line...
    assert "2 of 3 jobs completed; failed: job 1 (unknown layer name(s) 'relu9_9'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (sweep / "0" / "final.png").exists() and (sweep / "2" / "final.png").exists()
    failed = json.loads((sweep / "1" / "metrics.json").read_text())
    assert failed["status"] == "failed" and "relu9_9" in failed["error"]
    paths = write_report(sweep)  # ...and the report still covers every job
    with open(paths["csv"]) as f:
        rows = list(csv.DictReader(f))
    statuses = sorted(r["status"] for r in rows)
    assert len(rows) == 3 and sum("failed" in s for s in statuses) == 1
    assert "relu9_9" in paths["md"].read_text()
