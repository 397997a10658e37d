"""Analytic answers for every loss option."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from nst_research.loss.functional import content_loss, gram_matrix, style_loss, tv_loss


def hand_features() -> torch.Tensor:
    """(1, 2, 2, 2): channel 0 = [[1, 2], [3, 4]], channel 1 = [[0, 1], [0, 1]]."""
    return torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])


# F = [[1,2,3,4],[0,1,0,1]] -> F F^T = [[30, 6], [6, 2]]; C = 2, H W = 4.
RAW_GRAM = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]])


@pytest.mark.parametrize(
    ("norm", "divisor"), [("none", 1.0), ("hw", 4.0), ("chw", 8.0), ("paper", 16.0)]
)
def test_gram_matrix_normalisations(norm, divisor):
    assert_close(gram_matrix(hand_features(), norm), RAW_GRAM / divisor)


def test_gram_unknown_norm_raises():
    with pytest.raises(ValueError, match="unknown Gram normalisation"):
        gram_matrix(hand_features(), "bogus")


def test_content_loss_mse_and_paper():
    f = torch.zeros(1, 2, 2, 2)
    t = torch.full((1, 2, 2, 2), 2.0)  # every difference is 2 -> squared 4, 8 entries
    assert_close(content_loss(f, t, "mse"), torch.tensor(4.0))
    assert_close(content_loss(f, t, "paper"), torch.tensor(0.5 * 32.0))


def test_style_loss_paper_equals_eq4():
    """sum of squared Gram differences with the paper norm == 1/(4 N^2 M^2) sum (G - A)^2."""
    f = hand_features()
    target_raw = torch.zeros(1, 2, 2)
    n, m = 2, 4
    expected = (RAW_GRAM - target_raw).pow(2).sum() / (4 * n**2 * m**2)
    got = style_loss(f, target_raw / (2 * n * m), gram_norm="paper", reduction="sum")
    assert_close(got, expected)


def test_style_loss_mean_chw():
    f = hand_features()
    target = torch.eye(2).unsqueeze(0)
    expected = (RAW_GRAM / 8 - target).pow(2).mean()
    assert_close(style_loss(f, target, gram_norm="chw", reduction="mean"), expected)
    assert_close(style_loss(f, gram_matrix(f, "chw")), torch.tensor(0.0))


def checkerboard(n: int = 4) -> torch.Tensor:
    """(1, 1, n, n) 0/1 checkerboard: every horizontal and vertical neighbour differs by 1."""
    i = torch.arange(n)
    return ((i.view(n, 1) + i.view(1, n)) % 2).float().view(1, 1, n, n)


def test_tv_checkerboard():
    x = checkerboard(4)
    assert_close(tv_loss(x, "l1"), torch.tensor(2.0))  # mean |dx| = mean |dy| = 1
    assert_close(tv_loss(x, "l2"), torch.tensor(2.0))
    # keras: (dx^2 + dy^2)^1.25 = 2^1.25 on each of the 3x3 grid points
    assert_close(tv_loss(x, "keras"), torch.tensor(9 * 2**1.25))


def test_tv_ramp_and_constant():
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 3, 5) * 2  # dx = 2, dy = 0
    assert_close(tv_loss(ramp, "l1"), torch.tensor(2.0))
    assert_close(tv_loss(ramp, "l2"), torch.tensor(4.0))
    assert_close(tv_loss(ramp, "keras"), torch.tensor(2 * 4 * 4.0**1.25))
    const = torch.ones(1, 3, 6, 6)
    for kind in ("l1", "l2", "keras"):
        assert tv_loss(const, kind).item() == 0.0


def test_losses_do_not_modify_inputs_and_have_gradients():
    f = hand_features().requires_grad_(True)
    before = f.detach().clone()
    total = (
        style_loss(f, torch.zeros(1, 2, 2))
        + content_loss(f, torch.zeros_like(f))
        + tv_loss(f, "keras")
    )
    total.backward()
    assert_close(f.detach(), before)
    assert f.grad is not None and torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


def test_unknown_options_raise():
    f = hand_features()
    with pytest.raises(ValueError, match="content normalisation"):
        content_loss(f, f, "l3")
    with pytest.raises(ValueError, match="style reduction"):
        style_loss(f, gram_matrix(f), reduction="max")
    with pytest.raises(ValueError, match="TV kind"):
        tv_loss(f, "l3")
