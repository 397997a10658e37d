"""Optimiser factories, one per ``conf/optimizer/*.yaml`` (the YAML mirrors these signatures).

Each returns an :class:`OptimizerSpec`; Hydra instantiates them with ``_partial_: true`` and the
module calls the partial with its one parameter, the image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from nst_research.errors import ConfigError


@dataclass
class OptimizerSpec:
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None


def lbfgs(
    params: Iterable[nn.Parameter],
    lr: float = 1.0,
    history_size: int = 100,
    line_search: str | None = None,
) -> OptimizerSpec:
    """L-BFGS doing exactly one iteration per call, keeping its history across calls.

    ``line_search="strong_wolfe"`` enables torch's strong-Wolfe line search (several loss
    evaluations within one iteration); ``None`` takes fixed steps of ``lr`` as jcjohnson/neural-style.
    Tolerances are disabled so the run lasts the requested number of iterations.
    """
    if line_search not in (None, "strong_wolfe"):
        raise ConfigError(
            f"unknown optimizer.line_search={line_search!r}; use null or strong_wolfe"
        )
    opt = torch.optim.LBFGS(
        params,
        lr=lr,
        max_iter=1,
        history_size=history_size,
        line_search_fn=line_search,
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
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=decay_every, gamma=decay_rate)
    return OptimizerSpec(opt, sched)
