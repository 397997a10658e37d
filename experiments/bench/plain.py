"""(b) the plain loop: the harness's own extractor, preprocessing, targets, loss and optimiser
factory (``build``'s parts, on a module never handed to a Trainer), stepped by a Python ``for``
loop timed per iteration; and the conv FLOPs of the shapes it runs."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from common import OtherLoad, peak_mb, reset_peak, sync
from omegaconf import DictConfig

from nst_research.configs.names import LOSS_TOTAL
from nst_research.engine import memory
from nst_research.engine.build import apply_fast_gpu, build_module, read_inputs
from nst_research.engine.module import StyleTransfer
from nst_research.engine.parts import check


class PlainSetup:
    """Everything the plain loop shares across repeats at one size, from ``build``'s own parts."""

    def __init__(self, cfg: DictConfig, device: str) -> None:
        self.cfg, self.device = cfg, device
        if cfg.init._target_ != "nst_research.optimisation.inits.from_content":
            raise SystemExit("bench.py compares the default content init only")
        parts = check(cfg)
        self.content_layers, self.style_layers = parts.content_layers, parts.style_layers
        self.inputs = read_inputs(cfg, parts)
        self.content = self.inputs.content
        objective = parts.objective
        work = memory.term_work(objective.style, objective.style_layers, parts.backbone.table)
        hw, style_hw = self.content.shape[-2:], self.inputs.style.shape[-2:]
        self.style_work_mb = work(tuple(hw), tuple(style_hw)) * 4 / 2**20  # the estimate's term

    def module(self) -> StyleTransfer:
        """A fresh module (its own objective and targets) as ``build`` makes it, never fitted."""
        parts = check(self.cfg)
        m, _ = build_module(parts, self.inputs)
        m = m.to(self.device)
        if self.device == "cuda":
            apply_fast_gpu(m, parts.gpu_flags)  # the same fast path run() takes
        m.compute_targets()
        return m


def time_plain(setup: PlainSetup, iterations: int, drop: int) -> dict[str, Any]:
    device = setup.device
    reset_peak(device)
    module = setup.module()
    image = module.image
    opt = module.optimizer_factory([image]).optimizer
    evals = 0
    evals_per_step: list[int] = []

    def closure() -> torch.Tensor:
        nonlocal evals
        evals += 1
        opt.zero_grad(set_to_none=True)
        loss = module.compute_losses(image)[LOSS_TOTAL]
        loss.backward()
        return loss

    times: list[float] = []
    sync(device)
    other = OtherLoad()
    for _ in range(iterations):
        t0 = time.perf_counter()
        before = evals
        loss = opt.step(closure)
        sync(device)
        times.append(time.perf_counter() - t0)
        evals_per_step.append(evals - before)
    kept = times[drop:] or times
    result = {
        "s_per_iter": statistics.median(kept),
        "iterations": iterations,
        # L-BFGS line-searches its first two iterations (several evaluations), then takes one
        # evaluation per iteration: the median iteration, which s_per_iter times, costs this many.
        "closure_evals_per_iter": statistics.median(evals_per_step[drop:] or evals_per_step),
        "closure_evals_total": evals,
        "peak_mb": peak_mb(device),
        "other_processes_cores": other.cores(),
        "first_iter_s": times[0],
        "final_loss": float(loss.detach()),  # loss at the last iteration's start, as the harness
    }
    return result


def conv_shapes(module: StyleTransfer) -> list[dict[str, Any]]:
    """The convs one forward pass of the image runs: channels, output size and FLOPs of each
    (2 * Cin * Cout * kh * kw * Hout * Wout)."""
    convs: list[dict[str, Any]] = []

    def hook(mod, inputs, output):
        cin, cout = mod.in_channels, mod.out_channels
        kh, kw = mod.kernel_size
        h, w = output.shape[-2:]
        convs.append(
            {
                "cin": cin,
                "cout": cout,
                "hw": [int(h), int(w)],
                "flops": 2 * cin * cout * kh * kw * int(h) * int(w),
            }
        )

    handles = [
        m.register_forward_hook(hook)
        for m in module.extractor.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    with torch.no_grad():
        module.extractor(module.image)
    for h in handles:
        h.remove()
    return convs


def count_flops(setup: PlainSetup) -> dict[str, Any]:
    """Conv FLOPs of one forward pass of the generated image, from the shapes actually run.

    forward: sum over the convs up to the deepest layer used of 2 * Cin * Cout * kh * kw * Hout * Wout.
    ``per_iter_3x``: forward + backward taken as 3x forward (the usual training convention).
    ``per_iter_counted``: torch's FlopCounterMode on one real closure (forward + backward); with
    the extractor frozen there are no weight gradients, so this is about 2x forward.
    """
    from torch.utils.flop_counter import FlopCounterMode

    module = setup.module()
    convs = conv_shapes(module)
    forward = sum(c["flops"] for c in convs)
    counter = FlopCounterMode(display=False)
    with counter:
        module.compute_losses(module.image)[LOSS_TOTAL].backward()
    return {
        "convs": len(convs),
        "forward": forward,
        "per_iter_3x": 3 * forward,
        "per_iter_counted": int(counter.get_total_flops()),
        "image_hw": list(module.image.shape[-2:]),
    }
