"""The interface of an image parametrisation (``param=<name>``, ``conf/param/<name>.yaml``).

The module (:class:`nst_research.engine.module.StyleTransfer`) holds exactly one ``nn.Parameter``,
``encode(image)``; every loss, snapshot, metric and checkpoint sees ``decode(param, shape)``.

Both ends are in the extractor's **input space** (for Caffe weights: BGR, 0..255, minus the
mean), the space the image was optimised in before parametrisations existed, so learning rates
and the pixels of ``param=pixels`` are unchanged. A parametrisation that works in RGB can call
``preprocess.inverse`` itself; the spaces differ by an affine map per channel.
"""

from __future__ import annotations

import torch
from torch import Tensor


class Parametrisation:
    """Image <-> parameter. Subclass it, implement both methods, and name the class in a YAML.

    ``decode`` must be differentiable (the gradient reaches the parameter through it) and
    ``decode(encode(image), image.shape)`` must give ``image`` back (up to float rounding).
    """

    def encode(self, image: Tensor) -> Tensor:
        """(1, 3, H, W) image in input space -> the parameter's values (any shape)."""
        raise NotImplementedError  # pragma: no cover

    def decode(self, param: Tensor, shape: torch.Size) -> Tensor:
        """The parameter -> the (1, 3, H, W) image in input space; ``shape`` is the image's
        (the current stage's), for parametrisations whose parameter does not show it."""
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
