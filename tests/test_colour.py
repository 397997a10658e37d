"""Colour control (Gatys et al. 2017, sec. 5): YIQ, luminance-only transfer, histogram matching."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from nst_research.configs.names import LOSS_STYLE
from nst_research.controls.colour import (
    YIQ_TO_RGB,
    KeepLuminance,
    MatchHistogram,
    colour_stats,
    linear_colour_transfer,
    luminance,
    luminance_inputs,
    match_histogram,
    recombine,
    rgb_to_yiq,
    yiq_to_rgb,
)
from nst_research.engine.parts import check
from nst_research.errors import ConfigError


def _rand(seed: int, shape=(1, 3, 20, 30), low=0.0, high=1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(shape, generator=g)


def _coloured(seed: int) -> torch.Tensor:
    """A correlated-colour image (a random 3x3 mix of uniform noise), well inside [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.rand(3, 3, generator=g)
    x = torch.einsum("ij,bjhw->bihw", mix / mix.sum(1, keepdim=True), _rand(seed + 1))
    return 0.2 + 0.6 * x


def test_yiq_round_trips_and_knows_white_and_grey():
    rgb = _rand(0)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, atol=1e-6)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(rgb.double())), rgb.double(), atol=1e-12)
    yiq = rgb_to_yiq(torch.full((1, 3, 1, 1), 0.4))  # grey: Y = 0.4, no chroma
    assert torch.allclose(yiq.flatten(), torch.tensor([0.4, 0.0, 0.0]), atol=1e-6)
    # Y's row sums to 1 and I, Q's to 0, so RGB = Y + d(I, Q): the inverse's first column is ones
    assert torch.allclose(YIQ_TO_RGB[:, 0], torch.ones(3, dtype=torch.float64), atol=1e-12)


def test_recombine_keeps_the_content_chroma_exactly_and_the_result_luminance_in_gamut():
    content, result = _rand(1), _rand(2)
    out = recombine(result, content)
    assert out.min() >= 0 and out.max() <= 1
    iq_out, iq_content = rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:]
    assert torch.allclose(iq_out, iq_content, atol=2e-6)
    # Y is the result's wherever Y_result + d(I, Q) is a colour; elsewhere clamped into the gamut
    inside = (yiq_to_rgb(torch.cat([luminance(result), rgb_to_yiq(content)[:, 1:]], 1)) >= 0) & (
        yiq_to_rgb(torch.cat([luminance(result), rgb_to_yiq(content)[:, 1:]], 1)) <= 1
    )
    inside = inside.all(dim=1, keepdim=True)
    assert inside.float().mean() > 0.3
    assert torch.allclose(luminance(out)[inside], luminance(result)[inside], atol=2e-6)
    # a grey result on the content itself gives the content back
    grey = luminance(content).expand(-1, 3, -1, -1)
    assert torch.allclose(recombine(grey, content), content, atol=2e-6)


def test_luminance_inputs_are_grey_with_the_style_matched_to_the_content():
    content, style = _rand(3, low=0.3, high=0.7), _rand(4, shape=(1, 3, 16, 16), low=0.4, high=0.6)
    c, (s,) = luminance_inputs(content, [style])
    for image in (c, s):
        assert torch.equal(image[:, 0], image[:, 1]) and torch.equal(image[:, 0], image[:, 2])
    y_c = luminance(content)
    assert torch.allclose(c[:, :1], y_c, atol=1e-7)
    assert torch.allclose(s[:, 0].mean(), y_c.mean(), atol=1e-5)
    assert torch.allclose(s[:, 0].std(correction=0), y_c.std(correction=0), atol=1e-5)
    out = KeepLuminance().output(c, content)  # the content's own Y and chroma: the content
    assert torch.allclose(out, content, atol=2e-6)


@pytest.mark.parametrize("method", ["cholesky", "eigen"])
def test_histogram_matching_gives_the_target_mean_and_covariance(method):
    source, target = _coloured(5), _coloured(8)[..., :16, :16]
    mu_t, cov_t = colour_stats(target)
    out = linear_colour_transfer(source.double(), target.double(), method, eps=0.0)
    mu, cov = colour_stats(out)
    assert torch.allclose(mu, mu_t, atol=1e-12) and torch.allclose(cov, cov_t, atol=1e-12)
    mu0, cov0 = colour_stats(source)
    assert not torch.allclose(cov0, cov_t, atol=1e-4)  # it did change something
    # with the default regularisation and clamping: close, and a valid image
    clamped = match_histogram(source, target, method)
    assert clamped.min() >= 0 and clamped.max() <= 1
    mu_c, cov_c = colour_stats(clamped)
    assert torch.allclose(mu_c, mu_t, atol=1e-3) and torch.allclose(cov_c, cov_t, atol=1e-3)


def test_the_two_methods_are_different_maps_with_the_same_statistics():
    source, target = _coloured(11), _coloured(12)
    a = linear_colour_transfer(source.double(), target.double(), "cholesky", eps=0.0)
    b = linear_colour_transfer(source.double(), target.double(), "eigen", eps=0.0)
    assert (a - b).abs().max() > 1e-3
    assert torch.allclose(colour_stats(a)[1], colour_stats(b)[1], atol=1e-12)


def test_match_histogram_maps_every_style_and_checks_its_method():
    content, styles = _coloured(13), [_coloured(14), _coloured(15)]
    same, out = MatchHistogram("eigen").inputs(content, styles)
    assert same is content and len(out) == 2
    with pytest.raises(ConfigError, match="unknown colour.method='lab'; choose one of") as e:
        MatchHistogram("lab")
    assert "\n" not in str(e.value)


def test_the_colour_group_is_a_config_choice(compose):
    assert type(check(compose([])).colour).__name__ == "KeepColour"
    assert type(check(compose(["colour=keep_luminance"])).colour) is KeepLuminance
    parts = check(compose(["colour=match_histogram", "colour.method=eigen"]))
    assert isinstance(parts.colour, MatchHistogram) and parts.colour.method == "eigen"
    with pytest.raises(ConfigError, match="unknown colour.method='pca'"):
        check(compose(["colour=match_histogram", "colour.method=pca"]))


def _yiq_of_png(path) -> torch.Tensor:
    arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return rgb_to_yiq(torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0))


def _style_curve(run_dir) -> list[float]:
    with open(run_dir / "losses.csv") as f:
        return [float(row[LOSS_STYLE]) for row in csv.DictReader(f)]


@pytest.mark.slow
@pytest.mark.parametrize("colour", ["keep_luminance", "match_histogram"])
def test_colour_controls_on_real_weights(colour, tmp_path, tiny_images):
    """64 px, a few L-BFGS iterations: the style loss halves; keep_luminance's final.png has the
    content's chroma up to 8-bit rounding (and a changed luminance); match_histogram runs on the
    recoloured style."""
    from nst_research.configs.compose import compose
    from nst_research.io.images import image_to_tensor, load_image
    from nst_research.run import run

    content, style = tiny_images
    cfg = compose(
        [f"content={content}", f"style={style}", "size=64", "iterations=10", "logger=none",
         f"colour={colour}", "trainer.progress_bar=false", "eval=[style]", "snapshot_every=0"]
    )  # fmt: skip
    metrics = run(cfg, tmp_path / "run")
    assert metrics["status"] == "completed"
    curve = _style_curve(tmp_path / "run")
    assert curve[-1] < 0.5 * curve[0], curve
    final = _yiq_of_png(tmp_path / "run" / "final.png")
    want = rgb_to_yiq(image_to_tensor(load_image(content), 64))
    if colour == "keep_luminance":
        # 8-bit rounding moves each channel by <= 0.5/255; |I|, |Q| rows sum to <= 1.19
        assert (final[:, 1:] - want[:, 1:]).abs().max() <= 1.2 * 0.5 / 255 + 1e-6
        assert (final[:, :1] - want[:, :1]).abs().mean() > 0.01
    else:
        assert (final[:, 1:] - want[:, 1:]).abs().mean() > 0.005
