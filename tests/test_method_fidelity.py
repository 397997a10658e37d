"""What makes method=strotss and method=nnst their papers' (issue 24): STROTSS's RGB channels,
palette term, normalised total, halved last learning rate and finest band re-added at each scale;
NNST's rotated style copies and content-only first stage."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.configs.names import FEATURE_RGB, LOSS_TOTAL
from nst_research.errors import ConfigError
from nst_research.loss.terms import ContentLoss, GramLoss, Objective, TVLoss
from nst_research.methods.hypercolumn_terms import (
    HypercolumnREMD,
    HypercolumnSelfSimilarity,
    NeighbourFit,
    mean_entry,
)
from nst_research.optimisation.schedules import Scales, Single, Stage, finest_band, next_start

TINY = ["trainer.progress_bar=false", "logger=none", "snapshot_every=0", "eval=[]"]


def _feats(seed: int = 0, scale: float = 1.0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "a": scale * torch.rand(1, 4, 6, 8, generator=g),
        "b": scale * torch.rand(1, 5, 3, 4, generator=g),
        FEATURE_RGB: torch.rand(1, 3, 6, 8, generator=g),
    }


# --- schedules: the finest band, the next stage's start, the last stage's learning rate -----------


@settings(max_examples=30, deadline=None)
@given(a=st.floats(0.1, 300.0), b=st.floats(-200.0, 200.0), seed=st.integers(0, 100))
def test_the_finest_band_of_an_affine_map_is_the_scaled_band(a, b, seed):
    """The band does not see a constant (resampling keeps it), so the input space's mean shift
    cancels: band(a x + b) = a band(x); band + the coarse part = the image."""
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(finest_band(a * x + b), a * finest_band(x), atol=1e-3, rtol=1e-4)
    assert finest_band(torch.full((1, 3, 8, 8), b)).abs().max().item() < 1e-3
    half = F.interpolate(x, size=(6, 5), mode="bilinear")
    coarse = F.interpolate(half, size=(12, 10), mode="bilinear")
    torch.testing.assert_close(finest_band(x) + coarse, x)


def test_next_start_is_the_upsampled_image_plus_the_band_only_with_detail():
    image, content = torch.full((1, 3, 4, 4), 2.0), torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(next_start(image, content), torch.full((1, 3, 8, 8), 2.0))
    with_band = next_start(image, content, detail=True)
    torch.testing.assert_close(with_band, 2.0 + finest_band(content))


def test_schedule_keys_are_checked_in_one_line():
    assert Scales(last_lr=0.5, detail=True).last_lr == 0.5
    for bad in ({"last_lr": 0}, {"last_lr": True}, {"last_lr": "x"}, {"detail": "yes"}):
        with pytest.raises(ConfigError, match="schedule\\."):
            Single(**bad)


# --- the objective: normalised total, the image as RGB, the stage ------------------------------


def test_normalise_divides_by_the_weights_times_each_terms_mass():
    feats = _feats()
    image = torch.rand(1, 3, 6, 8)
    style = HypercolumnREMD(positions=None, moment_weight=1.0)  # mass 2
    plain = Objective({"a": 1.0}, {"a": 0.5, "b": 0.5}, ContentLoss(), style, TVLoss(), 16, 1, 0.5)
    normal = Objective(
        {"a": 1.0}, {"a": 0.5, "b": 0.5}, ContentLoss(), style, TVLoss(), 16, 1, 0.5, normalise=True
    )
    for objective in (plain, normal):
        objective.set_content_targets(_feats(1), image)
        objective.set_style_targets(0, _feats(2))
    assert normal.weight_sum() == pytest.approx(16 + 2 + 0.5)
    total = plain(feats, image)[LOSS_TOTAL]
    torch.testing.assert_close(normal(feats, image)[LOSS_TOTAL], total / 18.5)


def test_rgb_terms_get_the_image_as_rgb_in_0_1_through_the_preprocessing():
    caffe = PREPROCESSING["caffe"]
    rgb01 = torch.rand(1, 3, 6, 8, generator=torch.Generator().manual_seed(3))
    feats = {k: v for k, v in _feats().items() if k != FEATURE_RGB}
    content = HypercolumnSelfSimilarity(positions=None, rgb=True)
    objective = Objective(
        {"a": 0.5, "b": 0.5}, {}, content, GramLoss(), TVLoss(), 1, 0, to_rgb=caffe.inverse
    )
    assert objective.wants_rgb
    objective.set_content_targets(feats, caffe(rgb01))
    torch.testing.assert_close(content.target_rgb, rgb01)
    # auto: the colour entries as large, on average, as the content's feature entries
    expected = mean_entry([feats["a"], feats["b"]]) / mean_entry([rgb01])
    assert content.rgb_factor == pytest.approx(expected)
    # at its own target the term is 0; another image's colours alone move it
    assert objective(feats, caffe(rgb01))["loss/content"].item() == pytest.approx(0, abs=1e-5)
    assert objective(feats, caffe(rgb01.flip(-1)))["loss/content"].item() > 1e-3


def test_the_palette_term_weighs_one_over_max_alpha_one():
    """The palette term is added with 1/max(alpha, 1): differences between stages' values are
    multiples of one palette value P, (L(1) - L(16)) / (L(2) - L(16)) = (15/16) / (7/16)."""
    x, s = _feats(0), _feats(1)
    layers = {"a": 0.5, "b": 0.5}
    term = HypercolumnREMD(positions=16, rgb=True, palette_weight="auto")
    term.set_targets(s, ["a", "b"])

    def at(alpha: float) -> float:
        term.set_stage(0, alpha)
        term.reseed(7)
        term.set_step(0)
        return term.forward_all(x, layers).item()

    l1, l2, l16 = at(1.0), at(2.0), at(16.0)
    assert l1 > l2 > l16
    assert (l1 - l16) / (l2 - l16) == pytest.approx(15 / 7, rel=1e-4)
    assert at(0.25) == pytest.approx(l1)  # max(alpha, 1)
    assert HypercolumnREMD(moment_weight=0.5).mass == 1.5
    with pytest.raises(ConfigError, match="style_loss.rgb=true"):
        HypercolumnREMD(palette_weight="auto")
    with pytest.raises(ConfigError, match="palette_weight"):
        HypercolumnREMD(rgb=True, palette_weight=-1)
    with pytest.raises(ConfigError, match="content_loss.rgb"):
        HypercolumnSelfSimilarity(rgb="yes")


def test_the_objective_tells_the_terms_the_stage_and_its_alpha():
    style = HypercolumnREMD(positions=8, rgb=True, palette_weight="auto")
    objective = Objective({"a": 1.0}, {"a": 1.0}, ContentLoss(), style, TVLoss(), 16, 2)
    objective.set_stage(0)
    assert style.alpha == 8 and style.palette_factor() == pytest.approx(1 / 8)
    objective.content_weight = 1.0  # a later stage's, after content_decay
    objective.set_stage(2)
    assert style.palette_factor() == 1.0


# --- NNST: the first stage matches the content, rotations widen the bank -------------------------


def test_nnst_matches_the_content_alone_at_the_first_stage():
    fit = NeighbourFit(alpha=0.25, coarse_content=True)
    fit.set_stage(0, 1.0)
    assert fit.blend_alpha == 0.0
    fit.set_stage(1, 1.0)
    assert fit.blend_alpha == 0.25
    assert NeighbourFit(alpha=0.25).blend_alpha == 0.25  # off: the blend at every stage
    with pytest.raises(ConfigError, match="content_loss.rotations"):
        NeighbourFit(rotations=1)


@pytest.mark.parametrize("rotations", [True, False])
def test_nnst_draws_its_style_bank_evenly_from_the_style_and_its_rotations(rotations):
    """Each view's features are a constant k (view k): the bank of 8 holds 2 of each with
    rotations, 8 of the style itself without."""
    views = [{"a": torch.full((1, 2, 4, 6), float(k + 1))} for k in range(4)]
    fit = NeighbourFit(positions=None, style_positions=8, rotations=rotations)
    fit.reseed(0)
    fit.set_style_features(views[0], views[1:])
    bank = fit.style_bank({"a": 1.0})
    values = sorted(bank[0, :, 0].tolist())
    assert values == ([1.0] * 2 + [2.0] * 2 + [3.0] * 2 + [4.0] * 2 if rotations else [1.0] * 8)


def test_the_objective_passes_the_rotations_features_to_nnst():
    fit = NeighbourFit(positions=None, style_positions=None, rotations=True)
    objective = Objective({"a": 1.0}, {}, fit, GramLoss(), TVLoss(), 1, 0)
    assert objective.style_rotations
    views = [{"a": torch.full((1, 2, 4, 6), float(k + 1))} for k in range(4)]
    objective.set_style_targets(0, views[0], None, views[1:])
    assert fit.views == 4 and fit.style_a_r3.max().item() == 4.0


# --- the presets, on real weights ------------------------------------------------------------------


@pytest.mark.slow
def test_strotss_halves_its_lr_at_the_last_scale_and_adds_the_band_in_between(
    compose, tiny_images, tmp_path, monkeypatch
):
    """Three scales (32, 64, 128 px): the band is added once, at the middle scale, at its size;
    the last scale's RMSprop runs at half the learning rate."""
    import nst_research.engine.module as module_mod
    from nst_research.engine.build import build
    from nst_research.engine.parts import check
    from nst_research.run import fit

    calls = []

    def spy(image, content, mode="bilinear", detail=False):
        calls.append((tuple(content.shape[-2:]), detail))
        return next_start(image, content, mode, detail)

    monkeypatch.setattr(module_mod, "next_start", spy)
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "method=strotss", *TINY, "size=128",
                   "iterations=3", "schedule.start=32", "style_loss.positions=64",
                   "content_loss.positions=64"])  # fmt: skip
    run = build(cfg, tmp_path / "strotss", parts=check(cfg))
    fit(run)
    assert [c[1] for c in calls] == [True, False]
    assert max(calls[0][0]) == 64 and max(calls[1][0]) == 128
    assert run.module.spec.optimizer.param_groups[0]["lr"] == pytest.approx(0.51 * 0.5)
    assert run.module.objective.normalise and run.module.objective.wants_rgb


# --- a figure's --reuse across keys added since --------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    lr=st.sampled_from([1.0, 0.5, True, 2]),
    detail=st.sampled_from([False, True, 0]),
    normalise=st.sampled_from([False, True]),
    other=st.integers(0, 2),
)
def test_a_run_recorded_before_a_key_is_the_config_only_at_its_neutral_value(
    lr, detail, normalise, other
):
    from nst_research.configs.later import same_config

    old = {"size": 64, "loss": {"content_weight": 5.0}, "schedule": {"ema": None}}
    new = {
        "size": 64 + other,
        "loss": {"content_weight": 5.0, "normalise": normalise},
        "schedule": {"ema": None, "last_lr": lr, "detail": detail},
    }
    neutral = (
        lr == 1.0
        and not isinstance(lr, bool)
        and detail is False
        and normalise is False
        and other == 0
    )
    assert same_config(old, new) == neutral
    assert new["schedule"]["last_lr"] is lr  # the caller's config is not changed
    recorded = {**old, "schedule": {"ema": None, "last_lr": 0.5}}  # recorded with the key
    if lr != 0.5:  # recorded with the key: compared as it is
        assert not same_config(recorded, {**new, "size": 64})


# --- NNST's final feature-splitting pass ----------------------------------------------------------


def test_a_final_pass_is_one_more_stage_at_size_on_its_own_share():
    octaves = Scales(start=64, ratio=2.0, first=1.0, final_pass=True)
    assert octaves.stages(256, 400) == [
        Stage(64, 0), Stage(128, 100), Stage(256, 200), Stage(256, 300, final=True)
    ]  # fmt: skip
    assert Single(final_pass=True).stages(64, 10) == [Stage(64, 0), Stage(64, 5, final=True)]
    assert Scales(start=64, ratio=2.0).stages(256, 300)[-1] == Stage(256, 200)  # off: as before
    with pytest.raises(ConfigError, match="schedule.final_pass"):
        Single(final_pass=True).stages(64, 1)
    with pytest.raises(ConfigError, match="schedule.final_pass"):
        Single(final_pass="yes")


def test_the_split_loss_is_zero_at_the_style_and_pulls_each_feature_to_its_nearest():
    """Per layer, mean_i min_j centred-cos(x_i, s_j): 0 when the output's features are the
    style's (each finds itself); moved features cost > 0 and get a gradient."""
    style = {k: v for k, v in _feats(4).items() if k != FEATURE_RGB}
    layers = {"a": 0.5, "b": 0.5}
    fit = NeighbourFit(positions=None, style_positions=None, rotations=True)
    fit.set_style_features(style, [{k: v.rot90(1, (-2, -1)) for k, v in style.items()}])
    fit.set_stage(3, 1.0, final=True)
    assert fit.forward_all(style, layers).item() == pytest.approx(0.0, abs=1e-5)
    moved = {k: (v + 0.3 * torch.rand_like(v)).requires_grad_() for k, v in style.items()}
    loss = fit.forward_all(moved, layers)
    assert loss.item() > 1e-4
    loss.backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in moved.values())
    fit.set_stage(1, 1.0)  # not final: the hypercolumn fit again (needs its content targets)
    assert not fit.final


@pytest.mark.slow
def test_nnst_runs_its_final_pass_as_the_last_stage(compose, tiny_images, tmp_path):
    import json

    from nst_research.engine.build import build
    from nst_research.engine.parts import check
    from nst_research.run import fit

    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "method=nnst", *TINY, "size=64",
                   "iterations=4", "schedule.final_pass=true", "content_loss.positions=64",
                   "content_loss.style_positions=128"])  # fmt: skip
    run = build(cfg, tmp_path / "nnst", parts=check(cfg))
    fit(run)
    assert run.module.objective.content.final and run.module.stage == 1
    stages = json.loads((tmp_path / "nnst" / "metrics.json").read_text())["stages"]
    assert [s.get("final", False) for s in stages] == [False, True]


# --- STROTSS's region guidance: several styles and masks in the hypercolumn term ------------------


def test_two_styles_are_the_weighted_sum_and_weight_zero_is_the_one_style_run():
    x, s = _feats(0), _feats(1)
    layers = {"a": 0.5, "b": 0.5}

    def value(weights, targets, positions=None):
        # one RGB factor for all styles (auto takes the first style's): fixed here
        term = HypercolumnREMD(positions=positions, rgb=True, rgb_scale=2.0, palette_weight=1.0)
        term.set_styles(weights, guided=False)
        for i, t in enumerate(targets):
            term.set_style_targets(i, t, ["a", "b"])
        term.reseed(3)
        term.set_step(2)
        return term.forward_all(x, layers).item()

    one = value([1.0], [s], positions=16)
    assert value([1.0, 0.0], [s, _feats(2)], positions=16) == pytest.approx(one)  # same draws
    # every position (draws only reorder): identical styles -> the sum of the weights times one
    full = value([1.0], [s])
    assert value([0.5, 0.5], [s, s]) == pytest.approx(full, rel=1e-5)
    other = value([1.0], [_feats(2)])
    assert value([0.25, 0.75], [s, _feats(2)]) == pytest.approx(
        0.25 * full + 0.75 * other, rel=1e-5
    )


def test_guided_styles_draw_their_output_positions_inside_their_region():
    term = HypercolumnREMD(positions=10)
    term.set_styles([1.0, 1.0], guided=True)
    masks = torch.zeros(2, 12, 16)
    masks[0, :, :8], masks[1, :, 8:] = 1.0, 1.0  # left half -> style 0, right half -> style 1
    term.set_masks(masks)
    for size in ((12, 16), (6, 8)):  # the image's grid at two stages
        g = torch.Generator().manual_seed(0)
        left, right = term._points(0, size, g), term._points(1, size, g)
        assert len(left) == len(right) == 10
        assert (left[:, 1] < size[1] // 2).all() and (right[:, 1] >= size[1] // 2).all()


@pytest.mark.slow
def test_strotss_with_masks_runs_with_region_guidance(compose, tiny_images, tmp_path):
    from PIL import Image

    from nst_research.engine.build import build
    from nst_research.engine.parts import check
    from nst_research.run import fit

    content, style = tiny_images
    half = Image.new("L", (64, 48), 0)
    half.paste(255, (0, 0, 32, 48))
    other = Image.eval(half, lambda v: 255 - v)
    paths = [tmp_path / "left.png", tmp_path / "right.png"]
    half.save(paths[0])
    other.save(paths[1])
    cfg = compose([f"content={content}", f"style=[{style},{content}]", "method=strotss", *TINY,
                   "size=64", "iterations=2", f"masks.files=[{paths[0]},{paths[1]}]",
                   "style_loss.positions=32", "content_loss.positions=32"])  # fmt: skip
    run = build(cfg, tmp_path / "guided", parts=check(cfg))
    term = run.module.objective.style
    assert term.guided and term.masks.shape == (2, 48, 64)
    fit(run)
    assert (
        run.module.record.losses["loss/style"] > 0 and (tmp_path / "guided" / "final.png").is_file()
    )


def test_each_later_key_is_the_default_the_code_falls_back_to():
    """A run recorded without one of these keys ran as the constructors' defaults say."""
    import inspect

    from nst_research.configs.later import LATER_KEYS
    from nst_research.optimisation.schedules import Averaging

    defaults = {
        f"schedule.{k}": p.default for k, p in inspect.signature(Averaging).parameters.items()
    }
    defaults["loss.normalise"] = inspect.signature(Objective).parameters["normalise"].default
    for key, value in LATER_KEYS.items():
        assert defaults[key] == value and type(defaults[key]) is type(value), key
