"""The Python API: ``from nst_research import compose, stylize``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from omegaconf import OmegaConf
from PIL import Image

from nst_research import compose, stylize
from nst_research.configs.names import LOSS_TOTAL
from nst_research.errors import ConfigError
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
    assert from_api["optimizer"]["_target_"] == "nst_research.optimisation.optimizers.adam"
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


def notebook_code(path):
    """The code cells of a notebook, in order (no jupyter needed)."""
    import json

    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.slow
def test_example_notebook_runs():
    namespace: dict = {}
    for code in notebook_code(REPO / "experiments" / "api_example.ipynb"):
        exec(compile(code, "api_example.ipynb", "exec"), namespace)
    result = namespace["result"]
    assert result.metrics["status"] == "completed" and len(namespace["totals"]) == 5
    assert namespace["totals"][-1] < namespace["totals"][0]
    assert max(result.image.size) == 64
    assert (result.run_dir / "inputs" / "style.png").is_file()  # the PIL style, kept and hashed
    assert result.metrics["hashes"]["style"]


@pytest.mark.slow
def test_ctrl_c_is_raised_again_after_the_outputs_are_saved(tmp_path, tiny_images):
    content, style = tiny_images

    def stop(step, image, losses):
        if step == 2:
            raise KeyboardInterrupt  # what Ctrl-C raises in a notebook cell

    with pytest.raises(KeyboardInterrupt):
        stylize([f"content={content}", f"style={style}", "size=32", "iterations=20",
                 "logger=none", "eval=[]", "trainer.progress_bar=false"],
                run_dir=tmp_path / "run", callback=stop)  # fmt: skip
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["iterations"] == 2
    assert (tmp_path / "run" / "final.png").is_file()
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()


def test_keywords_with_a_composed_config_and_bad_inputs(tmp_path):
    cfg = compose(["size=32"])
    with pytest.raises(ConfigError, match="optimizer= chooses a config group"):
        stylize(cfg, optimizer={"lr": 1})
    with pytest.raises(ConfigError, match="takes a path, a PIL image or a tensor, not int"):
        stylize(content=3)
    with pytest.raises(ConfigError, match=r"must be \(3, H, W\) or \(1, 3, H, W\) RGB"):
        stylize(content=torch.zeros(2, 8, 8))
    assert not (tmp_path / "outputs").exists()
