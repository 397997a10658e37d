"""Issue 22 (4): the user's ``WANDB_DIR`` is honoured by a real offline run (no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

NST = [sys.executable, "-m", "nst_research.cli"]
TINY = ["size=32", "trainer.progress_bar=false", "eval=[]", "layers.style=[relu1_1,relu2_1]",
        "layers.content=[relu2_1]", "iterations=2"]  # fmt: skip


@pytest.mark.slow
def test_an_offline_run_puts_its_wandb_files_under_wandb_dir(tiny_images, tmp_path):
    content, style = tiny_images
    run_dir, wandb_dir = tmp_path / "run", tmp_path / "my wandb"  # a space, too
    env = {**os.environ, "WANDB_DIR": str(wandb_dir), "WANDB_MODE": "offline"}
    proc = subprocess.run(
        [*NST, f"content={content}", f"style={style}", *TINY, "logger=wandb",
         f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WANDB_DIR" not in proc.stderr and "warning" not in proc.stderr.lower()
    (offline,) = (wandb_dir / "wandb").glob("offline-run-*")  # W&B's own layout under it
    (records,) = offline.glob("run-*.wandb")
    assert b"final-" in records.read_bytes()  # the final image's artifact was logged from there
    assert not (run_dir / "wandb").exists()  # not also (or instead) in the run dir
    assert (run_dir / "final.png").exists()
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
