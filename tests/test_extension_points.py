"""Every research axis is one small class plus one YAML, added from a user's ``NST_CONFIG_DIR``.

The style loss, backbone, content loss and parametrisation have their own tests (test_terms,
test_backbones, test_content_losses, test_params). Here: an init, a schedule, a colour control and
an evaluation metric, each a class in this module plus a YAML in a temporary config dir (no project
file touched), in one real run on real weights, each checked by its own effect; and a method preset
(a YAML only), which composes, is listed by ``nst --help`` and yields to the command line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor

from nst_research.optimisation.schedules import Stage

TINY = ["size=32", "iterations=4", "logger=none", "trainer.progress_bar=false", "snapshot_every=0",
        "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]"]  # fmt: skip


def grey(content: Tensor, style: Tensor, seed: int) -> Tensor:
    """A start of mid grey, whatever the images: ``init=grey``."""
    return torch.full_like(content, 0.5)


class TwoSizes:
    """``schedule=two_sizes``: half the size for the first half of the iterations, then ``size``."""

    upsample = "nearest"

    def stages(self, size: int, iterations: int) -> list[Stage]:
        return [Stage(size // 2, 0), Stage(size, iterations // 2)]

    def pinned(self, size: int, iterations: int) -> dict:
        return {}


class GreyOutput:
    """``colour=grey_output``: the run as usual; what it shows is the image's channel mean."""

    def inputs(self, content: Tensor, styles: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        return content, styles

    def output(self, image: Tensor, content: Tensor) -> Tensor:
        return image.mean(dim=1, keepdim=True).expand_as(image)


class Brightness:
    """``eval=[brightness]``: the mean of the shown image, in [0, 1]."""

    keys = ("eval/brightness",)

    def __call__(self, output: Tensor, scorer) -> dict[str, float]:
        return {"eval/brightness": float(output.mean())}


@pytest.fixture
def user_conf(tmp_path, monkeypatch):
    conf = tmp_path / "user_conf"
    files = {
        "init/grey.yaml": "_target_: tests.test_extension_points.grey\n_partial_: true\n",
        "schedule/two_sizes.yaml": "_target_: tests.test_extension_points.TwoSizes\n",
        "colour/grey_output.yaml": "_target_: tests.test_extension_points.GreyOutput\n",
        "eval/brightness.yaml": "brightness:\n  _target_: tests.test_extension_points.Brightness\n",
        "method/mean_std_adam.yaml": (
            "# Per-channel means and stds of the features, fitted by Adam: a user's method.\n"
            "defaults:\n"
            "  - override /style_loss@_global_.style_loss: mean_std\n"
            "  - override /optimizer@_global_.optimizer: adam\n"
            "name: mean_std_adam\n"
            "optimise: true\n"
        ),
    }
    for name, text in files.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    monkeypatch.setenv("NST_CONFIG_DIR", str(conf))
    return conf


@pytest.mark.slow
def test_an_init_schedule_colour_control_and_metric_from_the_user_config_dir(
    user_conf, tiny_images, tmp_path
):
    from nst_research.configs.compose import compose
    from nst_research.engine import process
    from nst_research.engine.build import build
    from nst_research.run import fit

    content, style = tiny_images
    cfg = compose(
        [f"content={content}", f"style={style}", *TINY, "init=grey", "schedule=two_sizes",
         "colour=grey_output", "eval=[brightness]", "seed=0"]
    )  # fmt: skip
    with process.run_settings(cfg.trainer):
        run = build(cfg, tmp_path / "run")
        start = run.module.rgb()
        assert start.shape[-1] == 16  # the schedule's first stage: half of size=32
        assert torch.allclose(start, torch.full_like(start, 0.5), atol=1e-5)  # the init: grey
        fit(run)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert [s["image_size"][1] for s in metrics["stages"]] == [16, 32]  # both stages ran
    final = np.asarray(Image.open(tmp_path / "run" / "final.png").convert("RGB")).astype(float)
    assert max(final.shape[:2]) == 32  # the last stage: size=32
    assert np.array_equal(final[..., 0], final[..., 1]) and np.array_equal(
        final[..., 1], final[..., 2]
    )
    assert final.std() > 0  # the colour control's grey, not a flat image
    assert metrics["eval"]["eval/brightness"] == pytest.approx(final.mean() / 255, abs=2e-3)


def test_a_method_preset_from_the_user_config_dir(user_conf):
    from nst_research.configs.compose import compose
    from nst_research.configs.help import render

    cfg = compose(["method=mean_std_adam"])
    assert cfg.method.name == "mean_std_adam"
    assert cfg.style_loss._target_.endswith("MeanStdLoss")
    assert cfg.optimizer._target_.endswith("adam")
    ablated = compose(["method=mean_std_adam", "style_loss=gram"])  # the command line wins
    assert ablated.style_loss._target_.endswith("GramLoss")
    assert ablated.optimizer._target_.endswith("adam")
    line = next(x for x in render(["method=mean_std_adam"]).splitlines() if "mean_std_adam" in x)
    assert "Per-channel means and stds" in line
