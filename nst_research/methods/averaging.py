"""Two schedule options from crowsonkb/style-transfer-pytorch, usable with any method.

- :class:`ImageAverage` (``schedule.ema=DECAY``): an exponential moving average of the image,
  bias-corrected as crowsonkb's ``EMA``: ``v_t = d v_{t-1} + (1 - d) x_t`` from ``v_0 = 0``, shown
  as ``v_t / (1 - d^t)``, where the stage's start image is the first sample ``x_1``. The run shows
  the average (snapshots, eval, ``final.png``) and the next stage starts from it.
- :func:`carry_moments` (``schedule.warm_start=true``): the optimiser's running moments carried
  into the next stage's optimiser, resized to the new image as crowsonkb's ``scale_adam``
  (first moments bicubic, second moments bilinear and clamped at 0; the step count kept, so
  Adam's bias correction goes on rather than starting again).

Both work in parameter space through the parametrisation (``param=pixels``: the image;
``param=laplacian``: each pyramid level resized to the new level's size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_research.errors import ConfigError
from nst_research.params.base import Parametrisation
from nst_research.params.laplacian import Laplacian, level_sizes, pack, unpack

# state keys of first moments (signed) and of second moments (>= 0), torch's names
FIRST = ("exp_avg", "momentum_buffer", "grad_avg")
SECOND = ("exp_avg_sq", "max_exp_avg_sq", "square_avg")
CARRIED = (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop)


class ImageAverage(nn.Module):
    """A bias-corrected exponential moving average of a (1, C, H, W) image (buffers, so it moves
    with the module and is saved in checkpoints)."""

    def __init__(self, decay: float, image: Tensor) -> None:
        super().__init__()
        self.decay = float(decay)
        self.register_buffer("value", torch.zeros_like(image))
        self.register_buffer("accum", torch.ones((), dtype=image.dtype, device=image.device))
        self.update(image)

    @torch.no_grad()
    def reset(self, image: Tensor) -> None:
        """Start again from ``image`` (a new stage: its start is the first sample)."""
        self.value = torch.zeros_like(image)
        self.accum = torch.ones_like(self.accum)
        self.update(image)

    @torch.no_grad()
    def update(self, image: Tensor) -> None:
        self.accum.mul_(self.decay)
        self.value.mul_(self.decay).add_(image.detach(), alpha=1.0 - self.decay)

    def get(self) -> Tensor:
        """The bias-corrected average, ``value / (1 - decay^t)``."""
        return self.value / (1.0 - self.accum)


def check_carried(optimizer: torch.optim.Optimizer, warm_start: bool = True) -> None:
    """With ``warm_start``: one line unless ``optimizer`` keeps moments that
    :func:`carry_moments` can resize."""
    if warm_start and not isinstance(optimizer, CARRIED):
        raise ConfigError(
            f"schedule.warm_start=true carries Adam's or RMSprop's moments; "
            f"{type(optimizer).__name__} has none to carry (use optimizer=adam or rmsprop)"
        )


def resize_param(
    t: Tensor, param: Parametrisation, old: torch.Size, new: torch.Size, mode: str
) -> Tensor:
    """A tensor shaped as the parameter of an image of shape ``old``, resized to ``new``'s."""
    if isinstance(param, Laplacian):
        levels = unpack(t, old, param.levels)
        sizes = level_sizes((int(new[-2]), int(new[-1])), param.levels)
        return pack([_resize(lv, hw, mode) for lv, hw in zip(levels, sizes, strict=True)])
    return _resize(t.view(old), (int(new[-2]), int(new[-1])), mode).reshape(new)


def _resize(t: Tensor, hw: tuple[int, int], mode: str) -> Tensor:
    return F.interpolate(t, size=hw, mode=mode, align_corners=False)


@torch.no_grad()
def carry_moments(
    old: torch.optim.Optimizer,
    new: torch.optim.Optimizer,
    param: Parametrisation,
    old_shape: torch.Size,
    new_shape: torch.Size,
) -> None:
    """Load ``old``'s per-parameter state into ``new``, each moment resized from an image of
    ``old_shape`` to ``new_shape`` (``new``'s hyperparameters are kept)."""
    state = old.state_dict()["state"]
    carried = {}
    for index, entry in state.items():
        out = {}
        for key, value in entry.items():
            if key in FIRST:
                value = resize_param(value, param, old_shape, new_shape, "bicubic")
            elif key in SECOND:
                value = resize_param(value, param, old_shape, new_shape, "bilinear").clamp_(min=0)
            out[key] = value.clone() if isinstance(value, Tensor) else value
        carried[index] = out
    sd = new.state_dict()
    new.load_state_dict({"state": carried, "param_groups": sd["param_groups"]})
