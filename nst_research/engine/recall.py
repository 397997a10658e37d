"""The last loss evaluation, kept so that an optimiser asking again at the same point gets it free.

L-BFGS evaluates some points twice: :class:`nst_research.optimisation.optimizers.LBFGS` probes the starting point
for its Polyak step and torch's ``step`` then evaluates that point again; a line search ends with
an evaluation at the point it accepts, and the next iteration starts by evaluating that point
again. The objective is a deterministic function of the image (and, for terms that re-draw at
random, of the iteration), so the second evaluation is the first one's losses and gradient: a
default 30-iteration run does 30 forward and backward passes, not 33, and
``optimizer.line_search=strong_wolfe`` saves one per iteration.
"""

from __future__ import annotations

from collections.abc import Hashable

import torch
from torch import Tensor


class LastEvaluation:
    """The losses and gradient of the last evaluation, keyed by the image's exact values.

    ``key`` is what else the objective depends on (the iteration for terms that re-draw; None
    otherwise). A recall is exact or nothing: the stored image must equal the current one bit
    for bit (NaNs never do), so using it cannot change a run's pixels.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget the last evaluation (the targets changed: a new stage)."""
        self._key: Hashable = None
        self._image: Tensor | None = None
        self._grad: Tensor | None = None
        self._losses: dict[str, Tensor] = {}

    def keep(self, image: Tensor, key: Hashable, losses: dict[str, Tensor]) -> None:
        """Remember ``losses`` of ``image`` and its gradient (``image.grad``, after backward)."""
        if image.grad is None:
            self.clear()
            return
        self._key, self._image = key, image.detach().clone()
        self._grad = image.grad.detach().clone()  # the optimiser may scale image.grad in place
        self._losses = {k: v.detach() for k, v in losses.items()}

    def recall(self, image: Tensor, key: Hashable) -> dict[str, Tensor] | None:
        """The kept losses if ``image`` is exactly the kept one (and ``key`` the same), with the
        kept gradient put back in ``image.grad``; None otherwise."""
        kept = self._image
        if kept is None or key != self._key or kept.shape != image.shape:
            return None
        if not torch.equal(kept, image.detach()):
            return None
        image.grad = self._grad.clone()
        return dict(self._losses)
