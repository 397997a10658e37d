"""Issue 13 item 4: ``schedule=pyramid``, coarse to fine (Gatys et al. 2017), and ``schedule=none``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.errors import ConfigError, InputImageError
from nst_research.optimisation.schedules import Pyramid, Single, Stage, stage_at, upsample
from nst_research.run import run

NST = [sys.executable, "-m", "nst_research.cli"]
TINY = ["trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]",
        "logger=none", "snapshot_every=0"]  # fmt: skip
TWO_STAGES = ["size=64", "schedule=pyramid", "schedule.sizes=[32]", "schedule.iterations=[4]"]


def pixels(path: Path) -> bytes:
    return Image.open(path).tobytes()


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- the plan: pure arithmetic ---------------------------------------------------------------------


def test_the_default_pyramid_is_half_size_then_full_size_with_three_quarters_low():
    assert Pyramid().stages(512, 300) == [Stage(256, 0), Stage(512, 225)]
    assert Pyramid(sizes=[128, 256]).stages(512, 400) == [
        Stage(128, 0), Stage(256, 150), Stage(512, 300)
    ]  # fmt: skip
    assert Pyramid(sizes=[128, 256], iterations=[50, 20]).stages(512, 100) == [
        Stage(128, 0), Stage(256, 50), Stage(512, 70)
    ]  # fmt: skip
    assert Single().stages(256, 300) == [Stage(256, 0)]


def test_stage_at_counts_steps_across_stages():
    stages = [Stage(128, 0), Stage(256, 50), Stage(512, 70)]
    assert [stage_at(stages, s) for s in (0, 49, 50, 69, 70, 1000)] == [0, 0, 1, 1, 2, 2]
    assert stage_at([Stage(256, 0)], 10**6) == 0


def test_pinned_keeps_the_stages_that_ran_when_a_run_goes_on():
    """A resumed run with more iterations lengthens only the last stage."""
    pins = Pyramid().pinned(512, 300)
    assert pins == {"sizes": [256], "iterations": [225]}
    assert Pyramid(**pins).stages(512, 1000) == [Stage(256, 0), Stage(512, 225)]
    assert Single().pinned(512, 300) == {}


@pytest.mark.parametrize(
    ("kwargs", "size", "message"),
    [
        ({"sizes": [256, 128]}, 512, "must rise and stay below size=512"),
        ({"sizes": [512]}, 512, "must rise and stay below size=512"),
        ({"sizes": [128], "iterations": [10, 10]}, 512, "2 values for 1 schedule.sizes"),
        ({"sizes": [0]}, 512, "positive integers"),
        ({"sizes": [128], "iterations": [0]}, 512, "positive integers"),
        ({"iterations": [10, 10]}, 512, "set schedule.sizes too"),
        ({"sizes": []}, 512, "use schedule=none"),
        ({"upsample": "lanczos"}, 512, "bilinear, bicubic, nearest"),
    ],
)
def test_a_bad_pyramid_is_one_line_naming_the_key(kwargs, size, message):
    with pytest.raises(ConfigError, match=message):
        Pyramid(**kwargs).stages(size, 300)


def test_upsampling_in_input_space_is_upsampling_in_rgb():
    """The caffe preprocessing is affine per channel, so it commutes with bilinear upsampling:
    a stage's image goes to the next size the same in either space; a constant image stays."""
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(1, 3, 6, 8, generator=g)
    prep = PREPROCESSING["caffe"]
    a = upsample(prep(rgb), (12, 16))
    b = prep(upsample(rgb, (12, 16)))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    flat = torch.full((1, 3, 5, 7), 0.25)
    for mode in ("bilinear", "bicubic", "nearest"):
        torch.testing.assert_close(upsample(flat, (10, 14), mode), torch.full((1, 3, 10, 14), 0.25))
    assert upsample(rgb, (6, 8)) is rgb


# --- real runs (Caffe VGG19, tiny images) ----------------------------------------------------------


@pytest.mark.slow
def test_two_stages_give_a_64px_image_and_continuous_steps(compose, tiny_images, tmp_path):
    content, style = tiny_images
    images = [f"content={content}", f"style={style}"]
    metrics = run(compose([*images, *TINY, *TWO_STAGES, "iterations=8", "snapshot_every=3"]),
                  tmp_path / "pyr")  # fmt: skip
    out = tmp_path / "pyr"
    assert Image.open(out / "final.png").size == (64, 48)
    assert metrics["iterations"] == 8 and metrics["image_size"] == [48, 64]
    assert metrics["stages"] == [
        {"start": 0, "image_size": [24, 32]}, {"start": 4, "image_size": [48, 64]}
    ]  # fmt: skip
    steps = [int(r["step"]) for r in csv_rows(out / "losses.csv")]
    assert steps == list(range(1, 9))  # one row per iteration, on across the stage change
    snaps = {p.name: Image.open(p).size for p in (out / "snapshots").iterdir()}
    # every 3 steps, and the end of the first stage (step 4) at its own size
    assert snaps == {"step_00003.png": (32, 24), "step_00004.png": (32, 24),
                     "step_00006.png": (64, 48)}  # fmt: skip
    evals = [int(r["step"]) for r in csv_rows(out / "eval.csv")]
    assert evals == [0, 3, 4, 6, 8]
    assert all(float(r["time_s"]) >= 0 for r in csv_rows(out / "eval.csv"))
    losses = [float(r["loss/total"]) for r in csv_rows(out / "losses.csv")]
    assert losses[3] < losses[0] and losses[-1] < losses[4]  # each stage lowers its own loss


@pytest.mark.slow
def test_the_first_stage_is_the_plain_run_at_its_size(compose, tiny_images, tmp_path):
    """Up to the first stage's end a pyramid is a run at that size, to the pixel (same seed)."""
    content, style = tiny_images
    images = [f"content={content}", f"style={style}", *TINY, "iterations=4", "init=noise"]
    run(compose([*images, *TWO_STAGES]), tmp_path / "pyr")
    run(compose([*images, "size=32"]), tmp_path / "plain")
    assert pixels(tmp_path / "pyr" / "final.png") == pixels(tmp_path / "plain" / "final.png")
    lines = [(tmp_path / d / "losses.csv").read_text() for d in ("pyr", "plain")]
    assert lines[0] == lines[1]


@pytest.mark.slow
def test_resume_inside_a_pyramid_is_the_straight_run(compose, tiny_images, tmp_path):
    """3 iterations (stage 1), resumed to 6 (across the change at 4), resumed to 9 (inside stage
    2): the same pixels and losses as 9 straight."""
    content, style = tiny_images
    base = [f"content={content}", f"style={style}", *TINY, *TWO_STAGES, "init=noise",
            "checkpoint=always"]  # fmt: skip
    run(compose([*base, "iterations=3"]), tmp_path / "a")
    assert Image.open(tmp_path / "a" / "final.png").size == (32, 24)
    run(compose([*base, "iterations=6"]), tmp_path / "b",
        resume_from=tmp_path / "a" / "checkpoint.ckpt")  # fmt: skip
    metrics = run(compose([*base, "iterations=9"]), tmp_path / "c",
                  resume_from=tmp_path / "b" / "checkpoint.ckpt")  # fmt: skip
    run(compose([*base, "iterations=9"]), tmp_path / "straight")
    assert metrics["iterations"] == 9 and metrics["status"] == "completed"
    assert pixels(tmp_path / "c" / "final.png") == pixels(tmp_path / "straight" / "final.png")
    lines = [(tmp_path / d / "losses.csv").read_text() for d in ("c", "straight")]
    assert lines[0] == lines[1]
    assert torch.load(tmp_path / "b" / "checkpoint.ckpt", weights_only=False)["nst"]["stage"] == 1


@pytest.mark.slow
def test_cli_resume_keeps_the_stages_that_ran(tiny_images, tmp_path):
    """With the default split (3/4 of iterations= low), resuming with more iterations records
    and runs the stages of the first run: only the last stage grows."""
    content, style = tiny_images
    first, second = tmp_path / "first", tmp_path / "second"
    args = [f"content={content}", f"style={style}", *TINY, "size=64", "schedule=pyramid"]
    done = subprocess.run([*NST, *args, "iterations=4", "checkpoint=always",
                           f"hydra.run.dir={first}"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    done = subprocess.run([*NST, f"resume={first}", "iterations=8", f"hydra.run.dir={second}"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    config = yaml.safe_load((second / ".hydra" / "config.yaml").read_text())
    assert config["schedule"]["sizes"] == [32] and config["schedule"]["iterations"] == [3]
    metrics = json.loads((second / "metrics.json").read_text())
    assert [s["start"] for s in metrics["stages"]] == [0, 3]
    assert Image.open(second / "final.png").size == (64, 48)


@pytest.mark.slow
def test_a_run_that_ends_in_a_lower_stage_says_so(tiny_images, tmp_path):
    content, style = tiny_images
    done = subprocess.run([*NST, f"content={content}", f"style={style}", *TINY, *TWO_STAGES,
                           "iterations=2", f"hydra.run.dir={tmp_path / 'short'}"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "iterations=2 ends in the schedule's stage 1 of 2 (32 px)" in done.stderr
    assert Image.open(tmp_path / "short" / "final.png").size == (32, 24)


def test_a_first_stage_too_small_for_the_layers_is_one_line(compose, tiny_images, tmp_path):
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "size=64", "schedule=pyramid",
                   "schedule.sizes=[8]", "logger=none"])  # fmt: skip
    with pytest.raises(InputImageError, match=r"at the schedule's first stage \(8 px\).*relu5_1"):
        run(cfg, tmp_path / "small")
    assert not (tmp_path / "small").exists()


@pytest.mark.slow
def test_controls_go_through_the_stages_and_resume(compose, tiny_images, tmp_path):
    """keep_luminance in a pyramid: the final image has the content's chroma (I and Q of YIQ)
    exactly, up to 8-bit rounding; an interrupted-and-resumed controlled run is the straight one
    to the pixel (its colour control and stage come back from the config and checkpoint)."""
    from nst_research.controls.colour import rgb_to_yiq
    from nst_research.io.images import image_to_tensor, load_image

    content, style = tiny_images
    base = [f"content={content}", f"style={style}", *TINY, *TWO_STAGES, "colour=keep_luminance",
            "checkpoint=always"]  # fmt: skip
    run(compose([*base, "iterations=5"]), tmp_path / "a")
    run(compose([*base, "iterations=7"]), tmp_path / "b",
        resume_from=tmp_path / "a" / "checkpoint.ckpt")  # fmt: skip
    run(compose([*base, "iterations=7"]), tmp_path / "straight")
    assert pixels(tmp_path / "b" / "final.png") == pixels(tmp_path / "straight" / "final.png")
    final = image_to_tensor(load_image(tmp_path / "b" / "final.png"))
    shown = image_to_tensor(load_image(content), 64)
    assert final.shape == shown.shape == (1, 3, 48, 64)
    iq = rgb_to_yiq(final)[:, 1:] - rgb_to_yiq(shown)[:, 1:]
    assert iq.abs().max() <= 1.2 * 0.5 / 255 + 1e-6  # the content's chroma, up to 8-bit rounding
    assert (rgb_to_yiq(final)[:, 0] - rgb_to_yiq(shown)[:, 0]).abs().mean() > 0.01  # restyled
