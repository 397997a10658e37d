"""The names a config may use: VGG layer names and loss options.

Torch-free, so that composing and checking a config (and ``nst --help``) starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable

from nst_research.errors import ConfigError

# Convolutions per block, and channels per block, of the VGG convolutional parts.
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
CHANNELS = (64, 128, 256, 512, 512)

GRAM_NORMS = ("none", "hw", "chw", "paper")
CONTENT_NORMS = ("mse", "paper")
REDUCTIONS = ("mean", "sum")
TV_KINDS = ("l1", "l2", "keras")


def layer_names(arch: str = "vgg19") -> list[str]:
    """Layer names of a VGG's convolutional part, in torchvision's ``features`` order."""
    if arch not in BLOCKS:
        raise ConfigError(f"unknown model arch {arch!r}; choose one of: {', '.join(BLOCKS)}")
    names: list[str] = []
    for block, n_convs in enumerate(BLOCKS[arch], start=1):
        for i in range(1, n_convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def check_layers(requested: Iterable[str], arch: str = "vgg19") -> None:
    """Raise a ConfigError listing the valid names if any requested layer is unknown."""
    valid = layer_names(arch)
    unknown = [name for name in requested if name not in valid]
    if unknown:
        raise ConfigError(
            f"unknown layer name(s) {', '.join(map(repr, unknown))} for {arch}; "
            f"valid names: {' '.join(valid)}"
        )


# Metric names (W&B, metrics.json, losses.csv, reports and figures read them from here).
LOSS_TOTAL = "loss/total"
LOSS_CONTENT = "loss/content"
LOSS_STYLE = "loss/style"
LOSS_TV = "loss/tv"
LOSS_KEYS = (LOSS_TOTAL, LOSS_CONTENT, LOSS_STYLE, LOSS_TV)
TIME_STEP = "time/step_s"
IMAGE_GENERATED = "image/generated"
IMAGE_FINAL = "image/final"


def style_layer_key(layer: str) -> str:
    """The metric name of one style layer's weighted term, e.g. ``loss/style/relu1_1``."""
    return f"{LOSS_STYLE}/{layer}"
