"""Evaluation metrics on analytic and constructed cases, on the real reference network."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from torch.testing import assert_close

from nst_research.configs.names import (
    EVAL_COLOUR,
    EVAL_CONTENT_DISTANCE,
    EVAL_CONTENT_RATIO,
    EVAL_KEYS,
    EVAL_SSIM,
    EVAL_STYLE_DISTANCE,
    EVAL_STYLE_RATIO,
    LOSS_TOTAL,
    OBJECTIVE,
)
from nst_research.errors import ConfigError
from nst_research.evaluation.metrics import (
    ColourDistance,
    ContentDistance,
    LuminanceSSIM,
    Scorer,
    StyleDistance,
    gram,
    luminance,
    objective_value,
    parse_objective,
    relative_sq_error,
    sliced_wasserstein,
)
from nst_research.io.images import image_to_tensor, load_image


def test_gram_and_relative_error_by_hand():
    f = torch.tensor([[1.0, 2.0], [0.0, 1.0]]).reshape(1, 2, 1, 2)  # C=2, H=1, W=2
    assert_close(gram(f), torch.tensor([[5.0, 2.0], [2.0, 1.0]]) / 4)
    assert relative_sq_error(torch.tensor([3.0, 4.0]), torch.tensor([3.0, 4.0])) == 0.0
    assert relative_sq_error(torch.tensor([0.0, 0.0]), torch.tensor([3.0, 4.0])) == 1.0


def test_luminance_of_grey_is_the_grey_level():
    assert_close(luminance(torch.full((1, 3, 2, 2), 0.25)), torch.full((1, 1, 2, 2), 0.25))


def test_sliced_wasserstein_of_a_shift():
    """Shifting every point by t moves each projection by u.t: SW = sqrt(mean (u.t)^2) -> |t|/sqrt(3)."""
    a = torch.rand(500, 3, generator=torch.Generator().manual_seed(0))
    assert sliced_wasserstein(a, a) == 0.0
    shifted = a + torch.tensor([0.3, 0.0, 0.0])
    assert sliced_wasserstein(a, shifted, projections=4096) == pytest.approx(
        0.3 / math.sqrt(3), rel=0.03
    )
    assert sliced_wasserstein(a, shifted) == sliced_wasserstein(a, shifted)  # fixed directions
    # Different counts compare quantiles: the same distribution subsampled is close to 0.
    assert sliced_wasserstein(a, a[::2]) < 0.02


@pytest.fixture
def images(tiny_images):
    content, style = tiny_images
    return image_to_tensor(load_image(content)), image_to_tensor(load_image(style))


def scorer(images) -> Scorer:
    metrics = {
        "style": StyleDistance(),
        "content": ContentDistance(),
        "ssim": LuminanceSSIM(),
        "colour": ColourDistance(),
    }
    return Scorer(*images, metrics)


@pytest.mark.slow
def test_the_content_itself_scores_as_unstylised(images):
    content, _ = images
    s = scorer(images)
    scores = s(content)
    assert set(scores) == set(EVAL_KEYS) == set(s.keys())
    assert scores[EVAL_STYLE_RATIO] == pytest.approx(1.0)
    assert scores[EVAL_STYLE_DISTANCE] > 0
    assert scores[EVAL_CONTENT_DISTANCE] == pytest.approx(0.0, abs=1e-9)
    assert scores[EVAL_CONTENT_RATIO] == pytest.approx(0.0, abs=1e-9)
    assert scores[EVAL_SSIM] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_the_style_scores_as_the_style(images):
    content, style = images
    s = scorer(images)
    own = StyleDistance()(style, s)[EVAL_STYLE_DISTANCE]
    assert own == pytest.approx(0.0, abs=1e-9)  # its own statistics
    as_content = s(s.style_resized())
    assert as_content[EVAL_CONTENT_RATIO] == pytest.approx(1.0)  # as far as the style is
    assert as_content[EVAL_SSIM] < 0.5
    assert ColourDistance()(style, s)[EVAL_COLOUR] == 0.0
    assert s(content)[EVAL_COLOUR] > 0.1


def test_objective_parsing_and_value():
    known = [EVAL_STYLE_RATIO, EVAL_CONTENT_RATIO, EVAL_SSIM, LOSS_TOTAL]
    w = parse_objective("eval/style_ratio + 0.5*eval/content_ratio - 1e-1*eval/ssim", known)
    assert w == {EVAL_STYLE_RATIO: 1.0, EVAL_CONTENT_RATIO: 0.5, EVAL_SSIM: -0.1}
    values = {EVAL_STYLE_RATIO: 0.2, EVAL_CONTENT_RATIO: 0.4, EVAL_SSIM: 0.5}
    assert objective_value(w, values) == pytest.approx(0.2 + 0.2 - 0.05)
    assert objective_value(w, {**values, EVAL_SSIM: float("nan")}) is None
    assert objective_value(w, {EVAL_STYLE_RATIO: 0.2}) is None
    for bad, match in (("eval/colour_distance", "does not compute"), ("eval/ssim*2", "weighted"),
                       ("", "empty")):  # fmt: skip
        with pytest.raises(ConfigError, match=match) as e:
            parse_objective(bad, known)
        assert "\n" not in str(e.value)


@pytest.mark.slow
def test_a_more_stylised_run_scores_lower(compose, tiny_images, tmp_path):
    """Real weights: the eval curve starts unstylised (ratio 1) and falls; a 100x style weight
    ends lower still; metrics.json holds the scores and the objective the task returns."""
    from nst_research.run import run

    content, style = tiny_images
    base = [f"content={content}", f"style={style}", "size=48", "iterations=10", "logger=none",
            "snapshot_every=5", "trainer.progress_bar=false"]  # fmt: skip
    weak = run(compose([*base, "loss.style_weight=5"]), tmp_path / "weak")
    strong = run(compose([*base, "loss.style_weight=500"]), tmp_path / "strong")
    with open(tmp_path / "weak" / "eval.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [0, 5, 10]
    assert float(rows[0][EVAL_STYLE_RATIO]) == pytest.approx(1.0)  # content init
    assert float(rows[-1][EVAL_STYLE_RATIO]) < float(rows[0][EVAL_STYLE_RATIO])
    assert strong["eval"][EVAL_STYLE_RATIO] < weak["eval"][EVAL_STYLE_RATIO]
    saved = json.loads((tmp_path / "strong" / "metrics.json").read_text())
    assert saved["eval"] == strong["eval"]
    expected = saved["eval"][EVAL_STYLE_RATIO] + saved["eval"][EVAL_CONTENT_RATIO]
    assert saved[OBJECTIVE] == pytest.approx(expected)


def test_eval_off_falls_back_to_the_loss_objective(compose):
    from nst_research.engine.parts import check

    assert check(compose(["eval=[]"])).objective_weights == {LOSS_TOTAL: 1.0}
    assert check(compose([])).objective_weights == {EVAL_STYLE_RATIO: 1.0, EVAL_CONTENT_RATIO: 1.0}
    with pytest.raises(ConfigError, match="does not compute"):
        check(compose(["eval=[style]", "objective=eval/ssim"]))
