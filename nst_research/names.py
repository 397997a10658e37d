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
TIME_S = "time_s"  # eval.csv: seconds of optimisation up to a row (scoring excluded)
IMAGE_GENERATED = "image/generated"
IMAGE_FINAL = "image/final"


def style_layer_key(layer: str) -> str:
    """The metric name of one style layer's weighted term, e.g. ``loss/style/relu1_1``."""
    return f"{LOSS_STYLE}/{layer}"


# Evaluation metrics (nst_research/metrics.py): fixed definitions on a fixed reference network,
# whatever the run optimised, so runs of different configurations can be compared. Lower is
# better for all but SSIM. metrics.json holds them under "eval"; eval.csv holds their curves.
EVAL_STYLE_DISTANCE = "eval/style_distance"  # Gram distance to the style, relu1_1..relu5_1
EVAL_STYLE_RATIO = "eval/style_ratio"  # ... / the content image's (1: unstylised, 0: the style's)
EVAL_CONTENT_DISTANCE = "eval/content_distance"  # relu4_2 feature distance to the content
EVAL_CONTENT_RATIO = "eval/content_ratio"  # ... / the style image's (0: the content, 1: the style)
EVAL_SSIM = "eval/ssim"  # SSIM of the luminance to the content's (1: identical structure)
EVAL_COLOUR = "eval/colour_distance"  # sliced Wasserstein distance of pixel colours to the style
EVAL_KEYS = (
    EVAL_STYLE_DISTANCE,
    EVAL_STYLE_RATIO,
    EVAL_CONTENT_DISTANCE,
    EVAL_CONTENT_RATIO,
    EVAL_SSIM,
    EVAL_COLOUR,
)
HIGHER_IS_BETTER = frozenset({EVAL_SSIM})
OBJECTIVE = "objective"  # metrics.json: the value the Hydra task returns (what a sweeper minimises)
