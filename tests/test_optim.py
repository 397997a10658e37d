"""The L-BFGS wrapper: how it starts (loss scale, Polyak step, line search) and that it stays torch's."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import build_extractor
from nst_research.engine.module import StyleTransfer
from nst_research.io.images import image_to_tensor, load_image, resolve_image
from nst_research.optimisation.optimizers import LBFGS, lbfgs
from tests.test_module import objective


def quadratic(scale: float = 1.0, n: int = 64):
    """f(x) = scale * sum(w * (x - a)^2) with unequal curvatures w in [1, 10]; minimum 0 at a."""
    g = torch.Generator().manual_seed(0)
    w = 1.0 + 9.0 * torch.rand(n, generator=g)
    a = 100.0 * torch.rand(n, generator=g)
    x = torch.nn.Parameter(torch.zeros(n))

    def make_closure(opt):
        def closure():
            opt.zero_grad()
            loss = scale * (w * (x - a) ** 2).sum()
            loss.backward()
            return loss

        return closure

    return x, a, make_closure


@pytest.mark.parametrize("line_search", ["strong_wolfe", None])
def test_first_iteration_searches_its_step(line_search):
    # f = |x - 3|^2 + 1000: the Polyak first trial f/|g|^2 assumes a minimum of 0 and overshoots
    # to x = 11.9, where f is larger than at the start. The search must come back to the minimum
    # along -g, x = 3 (cubic interpolation is exact on a quadratic). Without a real search
    # (torch's max_eval = 1 when max_iter = 1) the overshooting trial step would be kept.
    x = torch.nn.Parameter(torch.zeros(16))
    opt = lbfgs([x], line_search=line_search).optimizer

    def closure():
        opt.zero_grad()
        loss = ((x - 3.0) ** 2).sum() + 1000.0
        loss.backward()
        return loss

    opt.step(closure)
    torch.testing.assert_close(x.detach(), torch.full((16,), 3.0), atol=1e-3, rtol=0)
    assert opt.state[x]["func_evals"] >= 3  # start, the rejected trial, the interpolated step


def test_first_step_is_polyak_and_later_steps_cost_one_evaluation():
    x, a, make_closure = quadratic()
    opt = lbfgs([x]).optimizer
    closure = make_closure(opt)
    f0 = closure().item()
    evals = []
    for i in range(12):
        f_before = closure().item()
        returned = opt.step(closure).item()
        assert returned == pytest.approx(f_before)  # torch's contract, in the caller's scale
        if i == 0:
            assert returned == pytest.approx(f0)
        evals.append(opt.state[x]["func_evals"])
    state = opt.state[x]
    assert state["loss_scale"] == pytest.approx(1.0 / f0)
    assert state["n_iter"] == 12  # one iteration per call, as the module expects
    # Iterations 1 and 2 start without curvature pairs and search; from the third on, fixed steps.
    assert [b - a_ for a_, b in zip(evals[2:], evals[3:], strict=False)] == [1] * 9
    assert opt.param_groups[0]["lr"] == 1.0  # the Polyak lr was only for the first call
    assert closure().item() < 1e-6 * f0  # a 64-d quadratic is solved well within 12 iterations


def test_path_does_not_depend_on_the_loss_scale():
    """The paper's summed losses are ~1e13: the iterates must be those of the same loss at ~1."""
    paths = []
    for scale in (1.0, 1e13):
        x, a, make_closure = quadratic(scale)
        opt = lbfgs([x]).optimizer
        closure = make_closure(opt)
        for _ in range(6):
            opt.step(closure)
        assert torch.isfinite(x).all()
        paths.append(x.detach().clone())
    torch.testing.assert_close(paths[0], paths[1], rtol=1e-4, atol=1e-3)


def test_state_dict_round_trip_continues_identically():
    x1, _, make1 = quadratic()
    opt1 = lbfgs([x1]).optimizer
    for _ in range(6):
        opt1.step(make1(opt1))

    x2, _, make2 = quadratic()
    opt2 = lbfgs([x2]).optimizer
    for _ in range(3):
        opt2.step(make2(opt2))
    saved = opt2.state_dict()
    opt3 = lbfgs([x2]).optimizer
    opt3.load_state_dict(saved)
    assert opt3.state[x2]["loss_scale"] == opt2.state[x2]["loss_scale"]
    for _ in range(3):
        opt3.step(make2(opt3))
    assert torch.equal(x1, x2)


def test_unknown_line_search_is_a_config_error():
    from nst_research.errors import ConfigError

    with pytest.raises(ConfigError, match="optimizer.line_search='armijo'"):
        lbfgs([torch.nn.Parameter(torch.zeros(2))], line_search="armijo")


def paper_module(optimizer, size: int = 32) -> StyleTransfer:
    """Paper settings (conv taps, avg pooling, summed losses, noise init, alpha/beta = 1e-5)."""
    content = image_to_tensor(load_image(resolve_image("builtin:grace_hopper", "content")), size)
    style = image_to_tensor(load_image(resolve_image("builtin:swirls", "style")), size)
    init = torch.rand(content.shape, generator=torch.Generator().manual_seed(0))
    extractor, _ = build_extractor(
        ["conv1_1", "conv2_1", "conv4_2"], arch="vgg19", weights="caffe", pooling="avg"
    )
    module = StyleTransfer(
        extractor=extractor,
        preprocess=PREPROCESSING["caffe"],
        content=content,
        style=style,
        init=init,
        objective=objective(
            {"conv4_2": 1.0},
            {"conv1_1": 0.5, "conv2_1": 0.5},
            content_weight=1.0,
            style_weight=1e5,
            tv_weight=0.0,
            gram_norm="paper",
            content_norm="paper",
            style_reduction="sum",
        ),
        optimizer=optimizer,
    )
    module.compute_targets()
    return module


def run_steps(module: StyleTransfer, opt: torch.optim.Optimizer, n: int) -> list[float]:
    def closure():
        opt.zero_grad()
        loss = module.compute_losses(module.image)["loss/total"]
        loss.backward()
        return loss

    losses = []
    for _ in range(n):
        opt.step(closure)
        losses.append(module.compute_losses(module.image)["loss/total"].item())
    return losses


def test_paper_settings_fall_where_torch_lbfgs_diverges():
    """Real Caffe weights, summed losses ~5e13: torch's fixed-step L-BFGS goes to inf on step 2."""
    plain = paper_module(functools.partial(lbfgs))
    start = plain.compute_losses(plain.image)["loss/total"].item()
    assert start > 1e12
    torch_opt = torch.optim.LBFGS(
        [plain.image], lr=1, max_iter=1, tolerance_grad=0.0, tolerance_change=0.0
    )
    torch_losses = run_steps(plain, torch_opt, 3)
    assert not all(math.isfinite(v) for v in torch_losses)  # the failure this wrapper fixes

    ours = paper_module(functools.partial(lbfgs))
    opt = ours.configure_optimizers()
    assert isinstance(opt, LBFGS)
    losses = run_steps(ours, opt, 5)
    assert all(math.isfinite(v) for v in losses)
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < 0.2 * start
