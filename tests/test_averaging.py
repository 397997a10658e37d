"""Schedule options any method can use (nst_research/methods/averaging.py, schedules.py): the
image's moving average (``schedule.ema``), Adam's moments carried across a scale change
(``schedule.warm_start``), ``schedule=scales`` and ``schedule.content_decay``."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nst_research.errors import ConfigError
from nst_research.methods.averaging import ImageAverage, carry_moments, check_carried
from nst_research.optimisation.schedules import Scales, Single, Stage
from nst_research.params.laplacian import Laplacian, level_sizes
from nst_research.params.pixels import Pixels

TINY = ["trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]",
        "logger=none", "snapshot_every=0", "eval=[]", "size=64"]  # fmt: skip
TWO_STAGES = ["schedule=pyramid", "schedule.sizes=[32]", "schedule.iterations=[4]", "iterations=8"]


def test_the_average_is_bias_corrected_by_hand():
    avg = ImageAverage(0.9, torch.full((1, 1, 1, 1), 1.0))  # the start is the first sample
    assert avg.get().item() == pytest.approx(1.0)  # 0.1 * 1 / (1 - 0.9)
    avg.update(torch.full((1, 1, 1, 1), 3.0))
    by_hand = (0.9 * 0.1 * 1.0 + 0.1 * 3.0) / (1 - 0.9**2)
    assert avg.get().item() == pytest.approx(by_hand)
    avg.reset(torch.full((1, 1, 2, 2), 5.0))  # a new stage: a new start, a new size
    torch.testing.assert_close(avg.get(), torch.full((1, 1, 2, 2), 5.0))
    assert ImageAverage(0.0, torch.ones(1)).get().item() == 1.0  # decay 0: the image itself


def _adam_after_a_step(shape: tuple[int, ...]) -> tuple[torch.nn.Parameter, torch.optim.Adam]:
    p = torch.nn.Parameter(torch.randn(shape, generator=torch.Generator().manual_seed(0)))
    opt = torch.optim.Adam([p], lr=0.1)
    (p**3).sum().backward()
    opt.step()
    return p, opt


def test_adam_moments_are_resized_and_the_step_count_kept():
    old_shape, new_shape = torch.Size((1, 3, 4, 6)), torch.Size((1, 3, 8, 12))
    _, old = _adam_after_a_step(tuple(old_shape))
    new = torch.optim.Adam([torch.nn.Parameter(torch.zeros(new_shape))], lr=0.1)
    carry_moments(old, new, Pixels(), old_shape, new_shape)
    was, now = next(iter(old.state.values())), next(iter(new.state.values()))
    assert float(now["step"]) == float(was["step"]) == 1.0
    want = F.interpolate(was["exp_avg"], size=(8, 12), mode="bicubic", align_corners=False)
    torch.testing.assert_close(now["exp_avg"], want)
    want_sq = F.interpolate(was["exp_avg_sq"], size=(8, 12), mode="bilinear").clamp(min=0)
    torch.testing.assert_close(now["exp_avg_sq"], want_sq)


def test_moments_of_a_laplacian_parameter_are_resized_level_by_level():
    param, old_shape, new_shape = Laplacian(2), torch.Size((1, 3, 8, 8)), torch.Size((1, 3, 16, 16))
    n_old = sum(3 * h * w for h, w in level_sizes((8, 8), 2))
    _, old = _adam_after_a_step((n_old,))
    new = torch.optim.Adam([torch.nn.Parameter(torch.zeros(sum(3 * h * w for h, w in
                                                                level_sizes((16, 16), 2))))])  # fmt: skip
    carry_moments(old, new, param, old_shape, new_shape)
    state = next(iter(new.state.values()))
    assert state["exp_avg"].shape == (3 * (256 + 64 + 16),) and (state["exp_avg_sq"] >= 0).all()


def test_warm_start_needs_moments_and_bad_keys_are_one_line():
    with pytest.raises(ConfigError, match="warm_start"):
        check_carried(torch.optim.LBFGS([torch.nn.Parameter(torch.zeros(1))]))
    with pytest.raises(ConfigError, match="schedule.ema"):
        Single(ema=1.5)
    with pytest.raises(ConfigError, match="schedule.ratio"):
        Scales(ratio=1.0)


def test_scales_are_crowsonkbs_from_128_by_sqrt2_and_octaves_from_64():
    assert [s.size for s in Scales().stages(512, 3000)] == [128, 181, 256, 362, 512]
    # the first stage twice as long as each later one: 1000, 500, 500, 500, 500
    assert [s.start for s in Scales(first=2).stages(512, 3000)] == [0, 1000, 1500, 2000, 2500]
    assert Scales(start=64, ratio=2).stages(512, 800) == [
        Stage(64, 0), Stage(128, 200), Stage(256, 400), Stage(512, 600)
    ]  # fmt: skip
    assert Scales().stages(100, 10) == [Stage(100, 0)]  # below start: one stage


def _fit(compose, tiny_images, tmp_path, name, *overrides):
    from nst_research.engine.build import build
    from nst_research.engine.parts import check
    from nst_research.run import fit

    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", *TINY, *overrides])
    run = build(cfg, tmp_path / name, parts=check(cfg))
    fit(run)
    return run.module


@pytest.mark.slow
def test_adam_goes_on_across_the_scale_change_with_warm_start(compose, tiny_images, tmp_path):
    on = _fit(compose, tiny_images, tmp_path, "on", *TWO_STAGES, "optimizer=adam",
              "schedule.warm_start=true")  # fmt: skip
    off = _fit(compose, tiny_images, tmp_path, "off", *TWO_STAGES, "optimizer=adam")
    steps = [float(next(iter(m.spec.optimizer.state.values()))["step"]) for m in (on, off)]
    assert steps == [8.0, 4.0]  # carried: the count goes on; fresh: the last stage's 4 steps


@pytest.mark.slow
def test_ema_zero_is_the_plain_run_and_ema_shows_the_average(compose, tiny_images, tmp_path):
    plain = _fit(compose, tiny_images, tmp_path, "plain", "iterations=4", "optimizer=adam")
    zero = _fit(compose, tiny_images, tmp_path, "zero", "iterations=4", "optimizer=adam",
                "schedule.ema=0.0")  # fmt: skip
    avg = _fit(compose, tiny_images, tmp_path, "avg", "iterations=4", "optimizer=adam",
               "schedule.ema=0.9")  # fmt: skip
    png = [Image.open(tmp_path / d / "final.png").tobytes() for d in ("plain", "zero", "avg")]
    assert png[0] == png[1] and png[2] != png[0]
    torch.testing.assert_close(zero.shown_image(), plain.image.detach())
    assert avg.average is not None and not torch.equal(avg.shown_image(), avg.image.detach())


@pytest.mark.slow
def test_content_decay_halves_the_content_weight_at_each_stage(compose, tiny_images, tmp_path):
    m = _fit(compose, tiny_images, tmp_path, "decay", *TWO_STAGES, "schedule.content_decay=0.5")
    assert m.objective.content_weight == pytest.approx(0.5 * m.content_weight)
