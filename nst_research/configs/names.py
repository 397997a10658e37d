"""The names a config may use: loss options and metric names (VGG layer names: compat).

Torch-free, so that composing and checking a config (and ``nst --help``) starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable

from nst_research.backbones.layers import check_layers as _check_layers
from nst_research.backbones.layers import vgg_layer_names, vgg_table

GRAM_NORMS = ("none", "hw", "chw", "paper")
CONTENT_NORMS = ("mse", "paper")
REDUCTIONS = ("mean", "sum")
TV_KINDS = ("l1", "l2", "keras")


def layer_names(arch: str = "vgg19") -> list[str]:
    """Layer names of a VGG's convolutional part (compat: the backbone's ``layer_names``)."""
    return vgg_layer_names(arch)


def check_layers(requested: Iterable[str], arch: str = "vgg19") -> None:
    """Raise a ConfigError listing the valid VGG names if any requested layer is unknown (compat:
    a configured backbone's ``check_layers`` checks its own names)."""
    _check_layers(requested, vgg_table(arch), arch)


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


# Evaluation metrics (nst_research/evaluation/metrics.py): fixed definitions on a fixed reference network,
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
