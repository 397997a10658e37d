"""The add-on terms as options of any method (``loss.histogram_weight``, ``loss.laplacian_weight``),
``style_loss=neighbour`` and the STROTSS / NNST starts (methods/addons.py, methods/terms.py,
inits.py)."""

from __future__ import annotations

import csv

import pytest
import torch

from nst_research.configs.names import LOSS_TOTAL
from nst_research.errors import ConfigError
from nst_research.methods.addons import LOSS_HISTOGRAM, LOSS_LAPLACIAN, AddOns, laplacian_loss
from nst_research.methods.terms import NeighbourLoss
from nst_research.optimisation.inits import blurred_content, low_pass, style_colour_band


def test_addons_are_zero_at_their_targets_and_weighted_into_the_total():
    g = torch.Generator().manual_seed(0)
    feats = {
        "relu1_1": torch.randn(1, 4, 6, 6, generator=g),
        "relu4_1": torch.rand(1, 8, 3, 3, generator=g),
    }
    image = torch.rand(1, 3, 16, 16, generator=g)
    addons = AddOns(histogram_weight=2.0, laplacian_weight=3.0)
    addons.set_style(feats)
    addons.set_content(image)
    losses = addons(feats, image)
    assert losses[LOSS_HISTOGRAM].item() == 0.0 and losses[LOSS_LAPLACIAN].item() == 0.0
    other = image.flip(-1)
    losses = addons({k: v.flip(-2) ** 2 for k, v in feats.items()}, other)
    by_hand = laplacian_loss(other, image, 4)
    torch.testing.assert_close(losses[LOSS_LAPLACIAN], by_hand)
    total = addons.weighted(losses)
    torch.testing.assert_close(total, 2.0 * losses[LOSS_HISTOGRAM] + 3.0 * by_hand)
    assert not AddOns().active and AddOns().histogram_layers == []
    with pytest.raises(ConfigError, match="loss.laplacian_weight"):
        AddOns(laplacian_weight=-1)


def _losses(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "losses.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gatys2016", "nnst"])
def test_any_method_takes_the_addons(method, compose, tiny_images, tmp_path):
    from nst_research.run import run

    content, style = tiny_images
    base = [f"method={method}", f"content={content}", f"style={style}", "size=64", "iterations=3",
            "logger=none", "trainer.progress_bar=false", "eval=[]", "snapshot_every=0"]  # fmt: skip
    run(
        compose([*base, "loss.histogram_weight=0.5", "loss.laplacian_weight=0.01"]), tmp_path / "on"
    )
    run(compose(base), tmp_path / "off")
    on, off = _losses(tmp_path / "on"), _losses(tmp_path / "off")
    assert LOSS_HISTOGRAM in on[0] and LOSS_LAPLACIAN in on[0]
    assert LOSS_HISTOGRAM not in off[0]  # off by default: nothing computed, no new columns
    first = {k: float(v) for k, v in on[0].items() if k.startswith("loss/")}
    extra = 0.5 * first[LOSS_HISTOGRAM] + 0.01 * first[LOSS_LAPLACIAN]
    assert first[LOSS_TOTAL] == pytest.approx(float(off[0][LOSS_TOTAL]) + extra, rel=1e-5)


def test_neighbour_loss_fits_each_point_to_its_hand_computed_neighbour():
    # style points (as a 1x3 image of 2 channels): a=(1,0), b=(0,1), c=(-1,-1); centre (0,0)
    style = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]]).view(1, 2, 1, 3)
    term = NeighbourLoss(positions=None, style_positions=None)
    term.set_targets({"l": style}, ["l"])
    assert term(style, "l").item() == pytest.approx(0.0, abs=1e-6)  # each is its own neighbour
    # x = (2, 1) is nearest to a (cos 2/sqrt5): loss 1 - 2/sqrt(5)
    x = torch.tensor([2.0, 1.0]).view(1, 2, 1, 1)
    assert term(x, "l").item() == pytest.approx(1 - 2 / 5**0.5, abs=1e-6)
    with pytest.raises(ConfigError, match="style_loss.style_positions"):
        NeighbourLoss(style_positions=0)


def test_the_starts_of_strotss_and_nnst():
    g = torch.Generator().manual_seed(0)
    content, style = torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 6, 6, generator=g)
    torch.testing.assert_close(blurred_content(content, style, 0, blur=1), content)
    flat = torch.full((1, 3, 8, 8), 0.3)
    torch.testing.assert_close(low_pass(flat, 4), flat)  # a constant has no detail to lose
    start = style_colour_band(flat, style, 0, blur=2)  # a constant content has no fine band
    torch.testing.assert_close(start, style.mean(dim=(-2, -1), keepdim=True).expand_as(flat))
    with pytest.raises(ConfigError, match="init.blur"):
        low_pass(content, 0)
