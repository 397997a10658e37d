"""Issue 21 item 2: the image parametrisation is a config group (``param=pixels|laplacian``)."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch.testing import assert_close

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import VGGFeatures
from nst_research.engine.module import StyleTransfer
from nst_research.errors import ConfigError
from nst_research.optimisation.optimizers import lbfgs
from nst_research.params.laplacian import (
    Laplacian,
    build_pyramid,
    level_sizes,
    pack,
    reconstruct,
    unpack,
)
from nst_research.params.pixels import Pixels
from nst_research.run import run
from tests.test_module import objective

TINY = ["trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]",
        "logger=none", "eval=[]"]  # fmt: skip


def csv_column(path: Path, key: str) -> list[float]:
    with open(path, newline="") as f:
        return [float(row[key]) for row in csv.DictReader(f)]


# --- the pyramid: pure functions ------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    levels=st.integers(0, 7),
    seed=st.integers(0, 2**16),
)
def test_the_pyramid_decodes_its_own_encoding(h, w, levels, seed):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, h, w, generator=g, dtype=torch.float64) * 255 - 120
    pyramid = build_pyramid(image, levels)
    assert [tuple(p.shape[-2:]) for p in pyramid] == level_sizes((h, w), levels)
    assert len(pyramid) == levels + 1
    assert_close(reconstruct(pyramid), image, rtol=0, atol=1e-9)  # float64: rounding only
    flat = pack(pyramid)
    assert flat.shape == (sum(3 * a * b for a, b in level_sizes((h, w), levels)),)
    assert all(
        torch.equal(a, b) for a, b in zip(unpack(flat, image.shape, levels), pyramid, strict=True)
    )
    param = Laplacian(levels)
    assert_close(param.decode(param.encode(image.float()), image.shape), image.float(),
                 rtol=0, atol=1e-4)  # fmt: skip


def test_level_sizes_halve_down_to_one_pixel():
    assert level_sizes((48, 64), 3) == [(48, 64), (24, 32), (12, 16), (6, 8)]
    assert level_sizes((5, 3), 3) == [(5, 3), (2, 1), (1, 1), (1, 1)]


def test_a_flat_image_has_no_bands_and_its_value_as_residual():
    image = torch.full((1, 3, 16, 12), 7.5)
    pyramid = build_pyramid(image, 3)
    for band in pyramid[:-1]:
        assert_close(band, torch.zeros_like(band))
    assert_close(pyramid[-1], torch.full((1, 3, 2, 1), 7.5))


def test_zero_levels_is_the_pixels():
    image = torch.rand(1, 3, 5, 6)
    assert torch.equal(Laplacian(0).encode(image), image.reshape(-1))
    assert torch.equal(Laplacian(0).decode(image.reshape(-1), image.shape), image)


def test_pixels_decode_is_the_parameter_itself():
    p = torch.nn.Parameter(torch.rand(1, 3, 4, 4))
    assert Pixels().decode(p, p.shape) is p
    image = torch.rand(1, 3, 4, 4)
    assert Pixels().encode(image) is image


@pytest.mark.parametrize("levels", [-1, 2.5, "3", True])
def test_bad_levels_are_one_line(levels):
    with pytest.raises(ConfigError, match="param.levels=") as e:
        Laplacian(levels)
    assert "\n" not in str(e.value)


def test_coefficients_of_another_size_are_refused():
    with pytest.raises(ValueError, match="do not make a 2-level pyramid"):
        unpack(torch.zeros(10), (1, 3, 8, 8), 2)


# --- the module: one parameter, the decoded image everywhere ----------------------------------


def laplacian_module(levels: int = 3) -> StyleTransfer:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    content, style = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    return StyleTransfer(
        extractor=VGGFeatures(["relu1_1", "relu2_1"]),  # random weights: a toy encoder
        preprocess=PREPROCESSING["caffe"],
        content=content,
        style=style,
        init=content,
        objective=objective(
            {"relu2_1": 1.0},
            {"relu1_1": 0.5, "relu2_1": 0.5},
            content_weight=1.0,
            style_weight=100.0,
        ),  # fmt: skip
        optimizer=lbfgs,
        param=Laplacian(levels),
    )


def test_a_laplacian_module_has_one_parameter_the_coefficients():
    module = laplacian_module(levels=3)
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    assert [n for n, _ in trainable] == ["param"]
    assert module.param.shape == (3 * (16 * 16 + 8 * 8 + 4 * 4 + 2 * 2),)
    opt = module.configure_optimizers()
    assert [p for gr in opt.param_groups for p in gr["params"]] == [module.param]
    # the decoded image is the init, in input space
    assert module.image.shape == (1, 3, 16, 16)
    assert_close(module.image, module.content_image, rtol=0, atol=1e-4)
    assert_close(module.rgb(), module.stages[0].content, rtol=0, atol=1e-5)
    assert module.last_good.shape == module.param.shape  # restores are in parameter space


def test_the_gradient_reaches_the_coefficients_and_the_loss_falls():
    module = laplacian_module()
    module.compute_targets()
    loss = module.compute_losses(module.image)["loss/total"]
    loss.backward()
    assert module.param.grad is not None and module.param.grad.abs().sum() > 0
    start = loss.item()
    opt = module.configure_optimizers()
    for _ in range(15):

        def closure():
            opt.zero_grad()
            total = module.compute_losses(module.image)["loss/total"]
            total.backward()
            return total

        opt.step(closure)
    assert module.compute_losses(module.image)["loss/total"].item() < 0.5 * start


# --- real runs (Caffe VGG19, tiny images) ---------------------------------------------------------


@pytest.mark.slow
def test_laplacian_lowers_the_loss_on_real_weights(compose, tiny_images, tmp_path):
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "size=64", "iterations=8",
                   "snapshot_every=4", "param=laplacian", *TINY])  # fmt: skip
    assert cfg.param.levels == 5
    metrics = run(cfg, tmp_path / "lap")
    assert metrics["status"] == "completed"
    total = csv_column(tmp_path / "lap" / "losses.csv", "loss/total")
    assert len(total) == 8 and total[-1] < 0.5 * total[0]
    assert Image.open(tmp_path / "lap" / "final.png").size == (64, 48)
    assert (tmp_path / "lap" / "snapshots" / "step_00004.png").is_file()


@pytest.mark.slow
def test_resume_of_a_laplacian_pyramid_run_is_the_straight_run(compose, tiny_images, tmp_path):
    """3 iterations at 32 px, resumed to 6 across the stage change at 4 (decode, upsample,
    encode at 64 px): the same pixels and losses as 6 straight."""
    content, style = tiny_images
    base = [f"content={content}", f"style={style}", *TINY, "size=64", "schedule=pyramid",
            "schedule.sizes=[32]", "schedule.iterations=[4]", "param=laplacian",
            "param.levels=3", "init=noise", "checkpoint=always", "snapshot_every=0"]  # fmt: skip
    run(compose([*base, "iterations=3"]), tmp_path / "a")
    saved = torch.load(tmp_path / "a" / "checkpoint.ckpt", weights_only=False)
    assert list(saved["state_dict"]) == ["param"]
    assert saved["state_dict"]["param"].shape == (3 * (24 * 32 + 12 * 16 + 6 * 8 + 3 * 4),)
    metrics = run(compose([*base, "iterations=6"]), tmp_path / "b",
                  resume_from=tmp_path / "a" / "checkpoint.ckpt")  # fmt: skip
    run(compose([*base, "iterations=6"]), tmp_path / "straight")
    assert metrics["iterations"] == 6 and metrics["status"] == "completed"
    images = [Image.open(tmp_path / d / "final.png") for d in ("b", "straight")]
    assert images[0].size == (64, 48) and images[0].tobytes() == images[1].tobytes()
    lines = [(tmp_path / d / "losses.csv").read_text() for d in ("b", "straight")]
    assert lines[0] == lines[1]


MY_PARAM = '''
"""A user's parametrisation for the test: the image divided by a constant."""
from nst_research.params.base import Parametrisation


class Scaled(Parametrisation):
    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def encode(self, image):
        return image / self.scale

    def decode(self, param, shape):
        return param * self.scale
'''


@pytest.mark.slow
def test_a_new_parametrisation_is_one_class_and_one_yaml(
    compose, tiny_images, tmp_path, monkeypatch
):
    """The extension point end to end, from a user's NST_CONFIG_DIR and module alone."""
    code = tmp_path / "user_code"
    code.mkdir()
    (code / "user_param_mine.py").write_text(textwrap.dedent(MY_PARAM))
    monkeypatch.syspath_prepend(str(code))
    conf = tmp_path / "user_conf" / "param"
    conf.mkdir(parents=True)
    (conf / "mine.yaml").write_text(
        "# The image divided by scale.\n_target_: user_param_mine.Scaled\nscale: 10.0\n"
    )
    monkeypatch.setenv("NST_CONFIG_DIR", str(tmp_path / "user_conf"))
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "size=32", "iterations=6",
                   "param=mine", "snapshot_every=3", *TINY])  # fmt: skip
    assert cfg.param._target_ == "user_param_mine.Scaled" and cfg.param.scale == 10.0
    metrics = run(cfg, tmp_path / "mine")
    assert metrics["status"] == "completed"
    total = csv_column(tmp_path / "mine" / "losses.csv", "loss/total")
    assert total[-1] < 0.5 * total[0]
    assert (tmp_path / "mine" / "final.png").is_file()
    assert (tmp_path / "mine" / "snapshots" / "step_00003.png").is_file()
