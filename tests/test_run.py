"""Whole runs on real (caffe) VGG19 weights at tiny sizes: losses fall, files appear, W&B logs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
import torch
from PIL import Image

from nst_research.run import run
from tests.conftest import REPO, shared_image


def read_losses(run_dir):
    with open(run_dir / "losses.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_real_weights_style_loss_halves_and_files_appear(compose, tiny_images, tmp_path):
    content, style = tiny_images
    cfg = compose(
        [f"content={content}", f"style={style}", "size=64", "iterations=20", "logger=none",
         "snapshot_every=10", "trainer.progress_bar=false"]
    )  # fmt: skip
    metrics = run(cfg, tmp_path / "run")
    rows = read_losses(tmp_path / "run")
    assert len(rows) == 20 and metrics["iterations"] == 20 and metrics["status"] == "completed"
    first, last = float(rows[0]["loss/style"]), float(rows[-1]["loss/style"])
    assert last <= 0.5 * first, (first, last)
    run_dir = tmp_path / "run"
    assert Image.open(run_dir / "final.png").size == (64, 48)
    assert sorted(p.name for p in (run_dir / "snapshots").iterdir()) == [
        "step_00010.png",
        "step_00020.png",
    ]
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["final_losses"]["loss/total"] == pytest.approx(float(rows[-1]["loss/total"]))
    assert len(saved["hashes"]["weights"]) == 64 and len(saved["hashes"]["content"]) == 64
    assert saved["seed"] == 0 and saved["s_per_iter"] > 0 and "commit" in saved["git"]
    # L-BFGS asks again at its Polyak probe and at the ends of its two line searches: recalled
    evaluations = saved["loss_evaluations"]
    assert evaluations["recalled"] == 3 and evaluations["computed"] >= 20, evaluations


@pytest.mark.slow
def test_classic_images_stylise(compose, tmp_path):
    content, style = shared_image("tubingen.jpg"), shared_image("starry_night.jpg")
    cfg = compose(
        [f"content={content}", f"style={style}", "size=64", "iterations=20", "logger=none",
         "model.pooling=avg", "trainer.progress_bar=false", "snapshot_every=0"]
    )  # fmt: skip
    run(cfg, tmp_path / "run")
    rows = read_losses(tmp_path / "run")
    assert float(rows[-1]["loss/style"]) <= 0.5 * float(rows[0]["loss/style"])


@pytest.mark.slow
def test_same_config_and_seed_give_identical_pixels(compose, tiny_images, tmp_path):
    content, style = tiny_images
    overrides = [f"content={content}", f"style={style}", "size=32", "iterations=8",
                 "logger=none", "init=noise", "seed=3", "trainer.progress_bar=false",
                 "layers.style=[relu1_1,relu2_1,relu3_1]"]  # fmt: skip
    run(compose(overrides), tmp_path / "a")
    run(compose(overrides), tmp_path / "b")
    a = Image.open(tmp_path / "a" / "final.png").tobytes()
    b = Image.open(tmp_path / "b" / "final.png").tobytes()
    assert a == b
    run(compose([*overrides[:-3], "seed=4", *overrides[-2:]]), tmp_path / "c")
    assert Image.open(tmp_path / "c" / "final.png").tobytes() != a


@pytest.mark.slow
def test_wandb_offline_run_has_loss_keys_and_images(compose, tiny_images, tmp_path):
    content, style = tiny_images
    cfg = compose(
        [f"content={content}", f"style={style}", "size=32", "iterations=4", "logger=wandb",
         "snapshot_every=2", "trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]",
         "layers.content=[relu2_1]"]
    )  # fmt: skip
    run_dir = tmp_path / "run"
    os.environ["WANDB_MODE"] = "dryrun"  # W&B's old name for offline; the run sets "offline"
    threads = torch.get_num_threads()
    cfg.trainer.threads = 1 if threads != 1 else 2
    run(cfg, run_dir, run_name="wandb-test")
    # Process-wide settings the run changed are back (in-process sweeps, figures).
    assert torch.get_num_threads() == threads and os.environ["WANDB_MODE"] == "dryrun"
    assert json.loads((run_dir / "metrics.json").read_text())["task"] == "stylize"
    runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list(run_dir.rglob("*"))
    wandb_bin = REPO / ".venv" / "bin" / "wandb"
    wandb_cmd = str(wandb_bin if wandb_bin.exists() else "wandb")
    records = subprocess.run(
        [wandb_cmd, "leet", "inspect", "--json", str(runs[0])],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    for key in ("loss/total", "loss/content", "loss/style", "loss/style/relu1_1",
                "loss/style/relu2_1", "loss/tv", "time/step_s", "image/generated"):  # fmt: skip
        assert key in records, key
    summary = json.loads(
        subprocess.run(
            [wandb_cmd, "leet", "inspect", "--summary", "--json", str(runs[0])],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout  # fmt: skip
    )
    assert summary["state"] == "finished" and summary["exit_code"] == 0
    assert summary["name"] == "wandb-test"
    assert summary["summary"]["trainer/global_step"] == 4
    assert summary["summary"]["status"] == "completed"
    assert summary["summary"]["image/final"]["width"] == 32
    provenance = summary["config"]["provenance"]
    assert provenance["seed"] == 0 and len(provenance["hashes"]["weights"]) == 64
    media = [p.name for p in (runs[0] / "files" / "media" / "images").rglob("*.png")]
    assert sum(n.startswith("generated") for n in media) == 2, media  # snapshots at steps 2, 4
    assert sum(n.startswith("final") for n in media) == 1, media
    # the final image as a versioned artifact, with the run's status and scores
    (artifact,) = [
        json.loads(line)["artifact"] for line in records.splitlines() if '"artifact"' in line
    ]
    assert artifact["name"] == "final-" + runs[0].name.split("-")[-1]  # offline-run-<date>-<id>
    assert artifact["type"] == "image" and "completed" in artifact["aliases"]
    (entry,) = artifact["manifest"]["contents"]
    assert entry["path"] == "final.png"
    assert int(entry["size"]) == (run_dir / "final.png").stat().st_size
    assert json.loads(artifact["metadata"])["status"] == "completed"


def test_cli_bad_layer_is_one_line_exit_2(tmp_path):
    nst = REPO / ".venv" / "bin" / "nst"
    proc = subprocess.run(
        [str(nst if nst.exists() else "nst"), "layers.style=[relu1_1,relu9_9]", "logger=none",
         f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: unknown layer name")
    assert "Traceback" not in proc.stderr and "relu5_4" in lines[0]


def test_cli_missing_image_is_one_line_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", f"content={tmp_path / 'nope.jpg'}",
         "logger=none", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "nope.jpg" in proc.stderr and "Traceback" not in proc.stderr
