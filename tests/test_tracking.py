"""W&B conventions (nst_research/tracking): names, groups, tags, steps, summary, caller's run."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_research import stylize
from nst_research.tracking.naming import group_name, run_name, run_tags, swept_keys
from tests.conftest import REPO

WANDB = str(Path(sys.executable).parent / "wandb")


def test_run_names_are_the_swept_keys_with_file_names() -> None:
    words = ["content=/abs/path/tubingen.jpg", "loss.style_weight=100", "seed=1", "size=64",
             "hydra.sweep.dir=/tmp/x", "logger.mode=offline"]  # fmt: skip
    assert run_name(words, ["loss.style_weight", "seed"]) == "style_weight=100,seed=1"
    assert run_name(words) == "content=tubingen.jpg,style_weight=100,seed=1,size=64"
    assert "/" not in run_name(words)
    assert run_name(["loss.tv=l1", "optimizer.tv=2"]) == "loss.tv=l1,optimizer.tv=2"  # clash
    assert run_name([]) == "default"
    assert swept_keys(["size=64", "loss.style_weight=100,1000", "seed=range(3)"]) == [
        "loss.style_weight",
        "seed",
    ]


def test_groups_and_tags() -> None:
    day = dt.date(2026, 12, 6)
    assert group_name({"ablation": "pooling"}, Path("/m/2026-12-06/01-02-03"), day) == (
        "pooling-2026-12-06"
    )
    assert group_name({}, Path("/tmp/trust_a"), day) == "trust_a-2026-12-06"
    assert group_name({}, Path("multirun/2026-12-05/01-02-03-123"), day) == (
        "2026-12-05-01-02-03-123"  # a default sweep dir: its own date and time
    )
    assert group_name({}, None, day) is None
    assert run_tags("texture", None, {"ablation": "pooling"}) == [
        "task:texture",
        "ablation:pooling",
    ]
    assert run_tags("stylize", "gatys", {}) == ["task:stylize", "method:gatys"]


def inspect(run_dir: Path) -> tuple[list[dict], dict]:
    (offline,) = list((run_dir / "wandb").glob("offline-run-*"))
    records = subprocess.run([WANDB, "leet", "inspect", "--json", str(offline)],
                             capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    summary = subprocess.run([WANDB, "leet", "inspect", "--summary", "--json", str(offline)],
                             capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    history = [r["history"]["item"] for r in map(json.loads, records.splitlines())
               if r["type"] == "history"]  # fmt: skip
    return history, json.loads(summary)


@pytest.mark.slow
def test_api_run_keeps_the_callers_wandb_run_and_rng_and_logs_by_trainer_step(tmp_path) -> None:
    import wandb

    mine = wandb.init(project="mine", mode="offline", dir=str(tmp_path))
    torch.manual_seed(123), np.random.seed(5), random.seed(7)
    style = torch.rand(3, 32, 32)  # a tensor input
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    seen: list[tuple[int, tuple[int, ...], float]] = []
    content = Image.new("RGB", (40, 32), (200, 100, 50))  # a PIL input
    try:
        result = stylize(
            content=content, style=style, size=32, iterations=4, snapshot_every=2, eval=[],
            run_dir=tmp_path / "run", callback=lambda s, im, losses: seen.append((s, tuple(im.shape), losses["loss/total"])),
            **{"loss.style_weight": 1e4, "trainer.progress_bar": False, "seed": 3},
        )  # fmt: skip
        assert wandb.run is mine and not mine._is_finished  # neither finished nor replaced
    finally:
        mine.finish()
    assert torch.equal(before[0], torch.get_rng_state())
    assert (before[1] == np.random.get_state()[1]).all() and before[2] == random.getstate()
    assert [s for s, _, _ in seen] == [1, 2, 3, 4] and seen[0][1] == (1, 3, 26, 32)
    inputs = result.run_dir / "inputs"
    assert sorted(p.name for p in inputs.iterdir()) == ["content.png", "style.png"]
    import hashlib

    sha = hashlib.sha256((inputs / "content.png").read_bytes()).hexdigest()
    assert result.metrics["hashes"]["content"] == sha and result.metrics["hashes"]["style"]
    assert np.asarray(Image.open(inputs / "content.png"))[0, 0].tolist() == [200, 100, 50]

    history, summary = inspect(result.run_dir)
    images = [h for h in history if "image/generated._type" in h]
    assert [int(h["_step"]) for h in images] == [2, 4]  # the trainer's steps, not log calls
    assert all(h["_step"] == h["trainer/global_step"] for h in history)
    name = summary["name"]  # the overrides, with the inputs' file names instead of temp paths
    assert "/" not in name and "content=content.png" in name and "style=style.png" in name
    for key in ("wall_time_s", "s_per_iter", "peak_memory_mb", "status"):
        assert key in summary["summary"], key
    assert summary["config"]["inputs"]["content"]["sha256"] == sha  # offline: no use_artifact


@pytest.mark.slow
def test_sweep_runs_are_named_grouped_and_tagged(tiny_images, tmp_path) -> None:
    content, style = tiny_images
    sweep = tmp_path / "my_sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", "-m", f"content={content}", f"style={style}",
         "size=32", "iterations=2", "eval=[]", "loss.style_weight=1,10", "logger=wandb",
         "trainer.progress_bar=false", f"hydra.sweep.dir={sweep}"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for job, weight in (("0", "1"), ("1", "10")):
        _, summary = inspect(sweep / job)
        assert summary["name"] == f"style_weight={weight}"
        assert summary["tags"] == ["task:stylize", "method:gatys2016"]  # method= is a group now
        assert summary["config"]["logger"]["tags"] == ["task:stylize", "method:gatys2016"]
        assert summary["config"]["inputs"]["style"]["file"] == "style.png"
    group = f"my_sweep-{dt.date.today().isoformat()}"
    run_file = next((sweep / "0" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert group.encode() in run_file.read_bytes()
