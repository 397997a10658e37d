"""A repeated evaluation at the same image is recalled, never recomputed, and changes nothing."""

from __future__ import annotations

import functools

import pytest
import torch

from nst_research.engine.recall import LastEvaluation
from nst_research.loss.style import SlicedWassersteinLoss
from nst_research.loss.terms import ContentLoss, GramLoss, Objective, TVLoss
from nst_research.optimisation.optimizers import adam, lbfgs
from tests.test_module import fit, toy_module


def evaluated(image: torch.Tensor) -> dict[str, torch.Tensor]:
    """Losses of ``image`` (sum of squares) with the gradient in ``image.grad`` (2 x image)."""
    image.grad = None
    total = (image**2).sum()
    total.backward()
    return {"loss/total": total, "loss/style": 3 * total.detach()}


def test_recall_gives_the_kept_losses_and_gradient_at_exactly_the_same_image():
    image = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    kept = LastEvaluation()
    assert kept.recall(image, None) is None  # nothing kept yet
    kept.keep(image, None, evaluated(image))
    image.grad.mul_(10)  # what the optimiser's loss scaling does in place
    image.grad = None
    losses = kept.recall(image, None)
    assert losses["loss/total"].item() == pytest.approx(1 + 4 + 0.25 + 9)
    assert losses["loss/style"].item() == pytest.approx(3 * 14.25)
    torch.testing.assert_close(image.grad, 2 * image.detach())  # unscaled: the kept gradient
    image.grad.mul_(7)  # the recalled gradient is a copy: the kept one stays
    kept.recall(image, None)
    torch.testing.assert_close(image.grad, 2 * image.detach())


def test_recall_is_exact_or_nothing():
    image = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    kept = LastEvaluation()
    kept.keep(image, 4, evaluated(image))
    assert kept.recall(image, 5) is None  # another iteration of a term that re-draws
    assert kept.recall(image, None) is None
    with torch.no_grad():
        image[1] = torch.nextafter(torch.tensor(2.0), torch.tensor(3.0))  # one ulp away
    assert kept.recall(image, 4) is None
    with torch.no_grad():
        image[1] = 2.0
    assert kept.recall(image, 4) is not None  # back at the same point
    assert kept.recall(torch.zeros(4, requires_grad=True), 4) is None  # another shape
    kept.clear()
    assert kept.recall(image, 4) is None


def test_nan_images_and_missing_gradients_are_never_recalled():
    image = torch.tensor([float("nan"), 1.0], requires_grad=True)
    kept = LastEvaluation()
    kept.keep(image, None, evaluated(image))
    assert kept.recall(image, None) is None  # NaN != NaN: recomputed
    fresh = torch.tensor([1.0, 1.0], requires_grad=True)
    kept.keep(fresh, None, {"loss/total": fresh.sum()})  # no backward: no gradient to give back
    assert kept.recall(fresh, None) is None


def counted(module):
    """Count the module's forward passes through its extractor."""
    calls = {"n": 0}
    forward = module.extractor.forward

    def wrapped(x):
        calls["n"] += 1
        return forward(x)

    module.extractor.forward = wrapped
    return calls


def run(module, steps: int, recall: bool, monkeypatch) -> tuple[torch.Tensor, list[float], int]:
    """Fit ``steps`` iterations; the final image, each step's total loss, forward passes."""
    if not recall:
        monkeypatch.setattr(LastEvaluation, "recall", lambda self, image, key: None)
    calls = counted(module)
    totals: list[float] = []
    step = module.training_step

    def recorded(batch, batch_idx):
        out = step(batch, batch_idx)
        totals.append(module.record.losses["loss/total"])
        return out

    module.training_step = recorded
    fit(module, steps)
    monkeypatch.undo()
    return module.image.detach().clone(), totals, calls["n"]


@pytest.mark.parametrize(
    ("optimizer", "saved"),
    [
        # the Polyak probe and torch's first evaluation; the two line-searched iterations' ends
        (lbfgs, 3),
        # every iteration starts where the previous line search ended (the first: at the probe)
        (functools.partial(lbfgs, line_search="strong_wolfe"), 12),
        (functools.partial(adam, lr=1.0), 0),  # one evaluation per iteration, each at a new point
    ],
    ids=["lbfgs", "lbfgs_strong_wolfe", "adam"],
)
def test_recall_saves_passes_and_keeps_the_pixels(optimizer, saved, monkeypatch):
    image, totals, passes = run(toy_module(optimizer), 12, True, monkeypatch)
    image_b, totals_b, passes_b = run(toy_module(optimizer), 12, False, monkeypatch)
    assert torch.equal(image, image_b)  # bit for bit
    assert totals == totals_b
    assert passes_b - passes == saved


def test_terms_that_redraw_are_recalled_only_within_an_iteration(monkeypatch):
    def module():
        m = toy_module()
        m.objective = Objective(
            {"relu2_1": 1.0},
            {"relu1_1": 0.5, "relu2_1": 0.5},
            content_term=ContentLoss(),
            style_term=SlicedWassersteinLoss(projections=4),
            tv_term=TVLoss(),
            style_weight=100.0,
        )
        m.objective.reseed(0)
        return m

    assert module().objective.redraws
    assert not Objective({}, {}, ContentLoss(), GramLoss(), TVLoss()).redraws
    image, totals, passes = run(module(), 6, True, monkeypatch)
    image_b, totals_b, passes_b = run(module(), 6, False, monkeypatch)
    assert torch.equal(image, image_b)
    assert totals == totals_b
    assert passes_b - passes == 1  # only the probe: a line search's end is in the last iteration
