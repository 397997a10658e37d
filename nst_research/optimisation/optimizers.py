"""Optimiser factories, one per ``conf/optimizer/*.yaml`` (the YAML mirrors these signatures).

Each returns an :class:`OptimizerSpec`; Hydra instantiates them with ``_partial_: true`` and the
module calls the partial with its one parameter, the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from nst_research.errors import ConfigError
from nst_research.loss.options import nonnegative


@dataclass
class OptimizerSpec:
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None


MAX_LINE_SEARCH_EVALS = 25  # loss evaluations one strong-Wolfe line search may spend


class LBFGS(torch.optim.LBFGS):
    """torch's L-BFGS, made robust to the scale of the loss and of the image.

    Three changes to how it starts; losses and gradients the caller computes are unchanged, and
    after the start every iteration is torch's (fixed step ``lr`` unless a line search is set):

    * It works on the loss divided by its value at the first evaluation (kept in the state, so a
      resumed run goes on with the same objective). The L-BFGS directions do not depend on that
      constant, but torch's strong-Wolfe line search interpolates in the parameters' dtype and
      overflows float32 with losses around 1e13 (the paper's summed losses).
    * The first trial step along ``-g`` is the Polyak step ``f / |g|^2`` (the step at which the
      linear model of the loss reaches 0), not torch's ``lr / |g|_1``. For an image of thousands
      of pixels in 0..255 torch's step moves it by far less than float32 can resolve in the loss:
      the first curvature pair is noise and gets rejected, and the next iteration steps by ``lr``
      along the raw gradient, sending the image to ~1e8 and the loss to inf (seen in the paper's
      settings at 48 px).
    * An iteration that starts without stored curvature pairs (the first two: the first pair is
      stored during the second; more if pairs are rejected) searches its step with strong Wolfe,
      which also guarantees a usable curvature pair.
    """

    def __init__(self, params, *, line_search: str | None, **kwargs) -> None:
        super().__init__(params, line_search_fn=line_search, **kwargs)
        self.line_search = line_search

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat(
            [
                (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                for p in self._params
            ]
        )

    @torch.no_grad()
    def step(self, closure):  # type: ignore[override]
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        search = self.line_search or ("strong_wolfe" if not state.get("old_dirs") else None)
        group["line_search_fn"] = search
        # torch caps a line search at max_eval - 1 evaluations, and max_eval defaults to
        # 1.25 * max_iter = 1: without this the "line search" would only ever try its first step.
        group["max_eval"] = group["max_iter"] * (1 + MAX_LINE_SEARCH_EVALS if search else 1)

        first: list[torch.Tensor] = []

        def scaled() -> torch.Tensor:
            loss = closure()
            if not first:
                first.append(loss)
            if "loss_scale" not in state:
                value = abs(float(loss.detach()))
                state["loss_scale"] = 1.0 / value if math.isfinite(value) and value > 0 else 1.0
            scale = state["loss_scale"]
            if scale != 1.0:
                for p in self._params:
                    if p.grad is not None:
                        p.grad.mul_(scale)
            return loss * scale

        lr = group["lr"]
        if state.get("n_iter", 0) == 0:
            # torch's first trial step is min(1, 1/|g|_1) * lr: choose lr so that it is the
            # Polyak step instead (one extra evaluation, in the first iteration only).
            with torch.enable_grad():
                f = float(scaled().detach())
            g = self._flat_grad()
            gg, g1 = float(g.dot(g)), float(g.abs().sum())
            if math.isfinite(f) and math.isfinite(gg) and gg > 0 and g1 > 0:
                group["lr"] = (abs(f) / gg) / min(1.0, 1.0 / g1)
        try:
            super().step(scaled)
        finally:
            group["lr"] = lr
        return first[0]  # as torch: the loss where the step started, in the caller's scale


def _check(value: float, key: str, low: float = 0.0, *, integer: bool = False) -> None:
    """One line for an optimiser setting out of range (checked before a run starts)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and value > low
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{key}={value!r} must be {kind} > {low:g}")


def _unit(value: float, key: str) -> None:
    """One line unless ``0 <= value < 1`` (Adam's betas)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and 0 <= value < 1):
        raise ConfigError(f"{key}={value!r} must be a number in [0, 1) (e.g. {key}=0.9)")


def lbfgs(
    params: Iterable[nn.Parameter],
    lr: float = 1.0,
    history_size: int = 100,
    line_search: str | None = None,
) -> OptimizerSpec:
    """L-BFGS doing exactly one iteration per call, keeping its history across calls.

    ``line_search="strong_wolfe"`` enables torch's strong-Wolfe line search in every iteration
    (one loss evaluation per trial step; the module recalls, rather than recomputes, the point a
    search accepted when the next iteration starts there: :mod:`nst_research.engine.recall`);
    ``None`` takes fixed steps of ``lr`` as jcjohnson/neural-style, except that iterations
    without curvature history (the first one) search their step (see :class:`LBFGS`).
    Tolerances are disabled so the run lasts the requested number of iterations.
    """
    _check(lr, "optimizer.lr")
    _check(history_size, "optimizer.history_size", integer=True)
    if line_search not in (None, "strong_wolfe"):
        raise ConfigError(
            f"unknown optimizer.line_search={line_search!r}; use null or strong_wolfe"
        )
    opt = LBFGS(
        params,
        lr=lr,
        max_iter=1,
        history_size=history_size,
        line_search=line_search,
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    return OptimizerSpec(opt)


def adam(
    params: Iterable[nn.Parameter],
    lr: float = 10.0,
    beta1: float = 0.9,
    beta2: float = 0.999,
) -> OptimizerSpec:
    """Adam; the image lives in the network's input space, hence the large default lr for caffe."""
    _check(lr, "optimizer.lr")
    _unit(beta1, "optimizer.beta1")
    _unit(beta2, "optimizer.beta2")
    return OptimizerSpec(torch.optim.Adam(params, lr=lr, betas=(beta1, beta2)))


def sgd(
    params: Iterable[nn.Parameter],
    lr: float = 100.0,
    momentum: float = 0.0,
    decay_every: int = 100,
    decay_rate: float = 0.96,
) -> OptimizerSpec:
    """Plain gradient descent with exponential decay: lr * decay_rate ** (step // decay_every).

    The defaults are those of the Keras neural style transfer example (lr 100, x0.96 every 100).
    """
    _check(lr, "optimizer.lr")
    _check(decay_every, "optimizer.decay_every", integer=True)
    _check(decay_rate, "optimizer.decay_rate")
    nonnegative(momentum, "optimizer.momentum", " (0: none)")
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=decay_every, gamma=decay_rate)
    return OptimizerSpec(opt, sched)


def rmsprop(
    params: Iterable[nn.Parameter],
    lr: float = 0.5,
    alpha: float = 0.99,
) -> OptimizerSpec:
    """RMSprop (STROTSS, Kolkin et al. 2019, optimises with it); ``alpha`` is torch's smoothing
    constant of the squared-gradient average."""
    _check(lr, "optimizer.lr")
    _unit(alpha, "optimizer.alpha")
    return OptimizerSpec(torch.optim.RMSprop(params, lr=lr, alpha=alpha))
