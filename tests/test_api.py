"""The Python API: ``from nst_research import compose, stylize``."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf
from PIL import Image

from nst_research import compose, stylize
from nst_research.errors import ConfigError
from nst_research.names import LOSS_TOTAL
from tests.conftest import REPO


def test_compose_gives_the_config_the_cli_runs():
    overrides = [
        "size=48",
        "optimizer=adam",
        "loss.style_weight=7",
        "style_loss=mmd",
        "eval=[ssim]",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", *overrides, "--cfg", "job"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from_cli = yaml.safe_load(proc.stdout)
    from_api = OmegaConf.to_container(compose(overrides))
    assert from_api == from_cli
    assert from_api["size"] == 48 and from_api["loss"]["style_weight"] == 7
    assert from_api["optimizer"]["_target_"] == "nst_research.optim.adam"
    assert from_api["style_loss"]["_target_"] == from_cli["style_loss"]["_target_"]


def test_stylize_refuses_a_string_and_a_finished_run_dir(tmp_path):
    with pytest.raises(ConfigError, match="list of overrides, not the string 'size=32'"):
        stylize("size=32")
    done = tmp_path / "done"
    done.mkdir()
    (done / "final.png").write_bytes(b"an earlier result")
    with pytest.raises(ConfigError, match="already holds a finished run"):
        stylize(["size=32", "iterations=2", "logger=none", "eval=[]"], run_dir=done)
    assert (done / "final.png").read_bytes() == b"an earlier result"  # nothing lost
    assert sorted(p.name for p in done.iterdir()) == ["final.png"]


@pytest.mark.slow
def test_stylize_returns_the_image_metrics_and_run_dir(tmp_path, tiny_images):
    content, style = tiny_images
    overrides = [f"content={content}", f"style={style}", "size=32", "iterations=6",
                 "logger=none", "eval=[]", "trainer.progress_bar=false"]  # fmt: skip
    image, metrics, run_dir = stylize(overrides, run_dir=tmp_path / "a")
    assert run_dir == (tmp_path / "a").resolve()
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 24)
    assert metrics["status"] == "completed" and metrics["iterations"] == 6
    assert metrics["final_image"] == str(run_dir / "final.png")
    with Image.open(run_dir / "final.png") as saved:
        np.testing.assert_array_equal(np.asarray(saved.convert("RGB")), np.asarray(image))
    with open(run_dir / "losses.csv") as f:
        totals = [float(row[LOSS_TOTAL]) for row in csv.DictReader(f)]
    assert len(totals) == 6 and totals[-1] < 0.5 * totals[0]  # it optimised
    cfg = compose(overrides)
    assert OmegaConf.load(run_dir / ".hydra" / "config.yaml") == cfg  # as nst saves it
    again = stylize(cfg, run_dir=tmp_path / "b")  # a composed config: the same pixels
    np.testing.assert_array_equal(np.asarray(again.image), np.asarray(image))
