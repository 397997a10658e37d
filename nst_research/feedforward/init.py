"""``init=feedforward`` (and ``method=ghiasi2017``): the arbitrary-style network's output.

A callable like the other inits (:mod:`nst_research.optimisation.inits`), which also takes every style image
and its blend weight (``blends = True``): the run passes them. It keeps what it did in
``record`` (backend, seconds, tiles), which the run writes into ``metrics.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from nst_research.errors import ConfigError
from nst_research.feedforward.models import BACKENDS, backend, model_hashes
from nst_research.feedforward.network import blend, style_vector, stylise, with_strength


class FeedForward:
    """The network's stylisation of the content.

    Args:
        strength: a in [0, 1]; the vector used is (1 - a) S(content) + a S(styles).
        backend: ``onnxruntime`` (the shipped int8 graphs, CPU, 384 px tiles) or ``torch``
            (the graphs converted to float torch modules, whole image, on the run's device).
        overlap: px of blending between tiles (``onnxruntime``).
        accelerator: the run's ``trainer.accelerator``; ``gpu``/``cuda`` puts ``torch`` on CUDA.
    """

    blends = True

    def __init__(
        self,
        strength: float = 1.0,
        backend: str = "onnxruntime",
        overlap: int = 64,
        accelerator: str = "cpu",
    ) -> None:
        if not 0 <= float(strength) <= 1:
            raise ConfigError(f"init.strength={strength} must be in [0, 1]")
        if backend not in BACKENDS:
            raise ConfigError(
                f"unknown init.backend={backend!r}; choose one of: {', '.join(BACKENDS)}"
            )
        if not 0 <= int(overlap) < 384:
            raise ConfigError(f"init.overlap={overlap} must be in 0..383 px")
        self.strength, self.backend, self.overlap = float(strength), backend, int(overlap)
        gpu = accelerator in ("gpu", "cuda") and torch.cuda.is_available()
        self.device = "cuda" if gpu and backend == "torch" else "cpu"
        self.record: dict[str, Any] = {}

    def __call__(
        self,
        content: Tensor,
        style: Tensor,
        seed: int,
        styles: Sequence[Tensor] | None = None,
        weights: Sequence[float] | None = None,
    ) -> Tensor:
        """(1, 3, H, W) content, style(s) in [0, 1] -> (1, 3, H, W) stylised content."""
        t0 = time.perf_counter()
        net = backend(self.backend, self.device)
        t_load = time.perf_counter() - t0
        styles = list(styles) if styles is not None else [style]
        weights = list(weights) if weights is not None else [1.0] * len(styles)
        t1 = time.perf_counter()
        vector = blend([style_vector(net, s) for s in styles], weights)
        if self.strength < 1:
            vector = with_strength(vector, style_vector(net, content), self.strength)
        out = stylise(net, content, vector, self.overlap)
        if self.device == "cuda":
            torch.cuda.synchronize()
        self.record = {
            "backend": self.backend,
            "device": self.device,
            "strength": self.strength,
            "style_weights": weights,
            "load_s": t_load,
            "forward_s": time.perf_counter() - t1,
            "tiles": _tiles(net.tile, content, self.overlap),
            "model_sha256": model_hashes(),
        }
        return out.to(content)


def _tiles(tile: int | None, content: Tensor, overlap: int) -> int:
    from nst_research.feedforward.tiling import tile_starts

    if tile is None:
        return 1
    h, w = (max(tile, int(n)) for n in content.shape[-2:])
    return len(tile_starts(h, tile, overlap)) * len(tile_starts(w, tile, overlap))
