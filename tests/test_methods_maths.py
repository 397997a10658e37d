"""The maths of STROTSS, NNST and the add-on terms, by hand on tiny inputs
(nst_research/methods/), and the style terms and colour control built from it on real weights."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from nst_research.methods.addons import histogram_loss, laplacian, laplacian_loss, match_histograms
from nst_research.methods.neighbours import (
    centred_cosine_cost,
    cosine_fit_loss,
    nearest_indices,
    replace_by_nearest,
    rotations,
)
from nst_research.methods.oklab import match_colours_oklab, oklab_to_rgb, rgb_to_oklab
from nst_research.methods.remd import (
    cosine_cost,
    euclidean_cost,
    moment_loss,
    palette_loss,
    relaxed_emd,
    strotss_total,
)


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_relaxed_emd_by_hand() -> None:
    x, y = t([[1, 0], [0, 1]]), t([[1, 0]])
    cost = cosine_cost(x, y)
    assert_close(cost, t([[0.0], [1.0]]))
    # rows' nearest: 0 and 1 (mean 0.5); the column's nearest: 0 (mean 0); the max is 0.5
    assert relaxed_emd(cost).item() == pytest.approx(0.5)
    assert relaxed_emd(cosine_cost(y, x)).item() == pytest.approx(0.5)  # symmetric here


def test_euclidean_cost_by_hand() -> None:
    x, y = t([[0, 0], [3, 4]]), t([[0, 0]])
    # sqrt(max(d², 1e-5) / C): 0 -> sqrt(1e-5/2), 25 -> sqrt(25/2)
    assert_close(euclidean_cost(x, y), t([[math.sqrt(1e-5 / 2)], [math.sqrt(12.5)]]))


def test_moment_loss_by_hand() -> None:
    x, y = t([[0.0], [2.0]]), t([[1.0], [1.0]])
    assert moment_loss(x, y).item() == pytest.approx(1.0)  # equal means; variances 1 and 0
    z = t([[1.0, 2.0], [3.0, 0.0]])
    assert moment_loss(z, z).item() == 0.0


def test_palette_of_a_set_with_itself_is_the_clamp_floor() -> None:
    rgb = t([[0.2, 0.4, 0.6], [0.9, 0.1, 0.3]])
    # cosine 0 on the diagonal, Euclidean clamped at sqrt(1e-5 / 3)
    assert palette_loss(rgb, rgb).item() == pytest.approx(math.sqrt(1e-5 / 3), rel=1e-6)


def test_strotss_weighting_by_hand() -> None:
    one = torch.tensor(1.0)
    assert strotss_total(2 * one, one, one, one, alpha=16.0).item() == pytest.approx(
        (16 * 2 + 1 + 1 + 1 / 16) / 18
    )
    assert strotss_total(2 * one, one, one, one, alpha=0.5).item() == pytest.approx(4 / 2.5)


def test_nearest_neighbour_is_the_hand_computed_one() -> None:
    style = t([[1, 0], [-1, 0], [0, 1], [0, -1]])  # mean 0: centring changes nothing
    assert nearest_indices(t([[0.9, 0.2], [0.1, -2.0], [-3, 0.5]]), style).tolist() == [0, 3, 1]
    # centring by the style mean (1.5, 1.5): (1.6, 1.4) -> (0.1, -0.1), nearest (2, 1) -> (0.5, -0.5)
    style = t([[2, 1], [1, 2]])
    assert nearest_indices(t([[1.6, 1.4], [1.4, 1.6]]), style).tolist() == [0, 1]
    assert_close(centred_cosine_cost(t([[1.6, 1.4]]), style), t([[0.0, 2.0]]))
    replaced = replace_by_nearest(t([[1.6, 1.4]]), style)
    assert_close(replaced, t([[2, 1]]))
    assert cosine_fit_loss(replaced, replaced).item() == pytest.approx(0.0, abs=1e-12)


def test_rotations_are_the_four_quarter_turns() -> None:
    image = torch.arange(6.0).view(1, 1, 2, 3)
    rots = rotations(image)
    assert [r.shape[-2:] for r in rots] == [(2, 3), (3, 2), (2, 3), (3, 2)]
    assert_close(rots[2], image.flip(-1).flip(-2))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_oklab_round_trip(seed: int) -> None:
    rgb = torch.rand(1, 3, 5, 7, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert_close(oklab_to_rgb(rgb_to_oklab(rgb)), rgb, atol=1e-9, rtol=1e-9)


def test_oklab_of_white_and_black() -> None:
    white = torch.ones(1, 3, 1, 1, dtype=torch.float64)
    assert_close(rgb_to_oklab(white).flatten(), t([1.0, 0.0, 0.0]), atol=1e-4, rtol=0)
    assert_close(rgb_to_oklab(0 * white).flatten(), t([0.0, 0.0, 0.0]))


def test_oklab_colour_match_moves_the_statistics_to_the_style() -> None:
    g = torch.Generator().manual_seed(0)
    image = 0.3 + 0.3 * torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64)
    style = 0.4 + 0.2 * torch.rand(1, 3, 16, 16, generator=g, dtype=torch.float64)
    style[:, 0] += 0.2  # redder
    out = match_colours_oklab(image, style)
    lab_out, lab_style = rgb_to_oklab(out).flatten(2)[0], rgb_to_oklab(style).flatten(2)[0]
    assert_close(lab_out.mean(1), lab_style.mean(1), atol=1e-6, rtol=0)
    assert_close(torch.cov(lab_out), torch.cov(lab_style), atol=1e-6, rtol=1e-4)


def test_histogram_match_of_a_channel_onto_itself_is_the_identity() -> None:
    x = torch.randn(2, 3, 5, 4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(match_histograms(x, x), x)
    assert histogram_loss(x, x).item() == 0.0
    target = torch.randn(2, 3, 5, 4, generator=torch.Generator().manual_seed(2))
    matched = match_histograms(x, target)
    # the target's values, in x's rank order
    assert torch.equal(matched.flatten(2).sort(-1).values, target.flatten(2).sort(-1).values)
    assert torch.equal(matched.flatten(2).argsort(-1), x.flatten(2).argsort(-1))


def test_histogram_loss_has_no_gradient_through_the_match() -> None:
    x = torch.tensor([[[[0.0, 1.0]]]], requires_grad=True)
    target = torch.tensor([[[[2.0, 5.0]]]])
    histogram_loss(x, target).backward()
    # d/dx mean((x - m)^2) with m = (2, 5) fixed: (x - m) = (-2, -4), over 2 values
    assert_close(x.grad, torch.tensor([[[[-2.0, -4.0]]]]))


def test_laplacian_by_hand() -> None:
    ramp = torch.arange(64.0).view(1, 1, 8, 8)  # linear: zero Laplacian
    assert_close(laplacian(ramp, pool=1), torch.zeros(1, 1, 6, 6))
    spike = torch.zeros(1, 1, 3, 3)
    spike[0, 0, 1, 1] = 1.0
    assert laplacian(spike, pool=1).item() == 4.0
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    assert laplacian(x).shape == (1, 3, 2, 2)  # pooled 4x4 -> 4x4, then 3x3 valid
    assert laplacian_loss(x, x).item() == 0.0
