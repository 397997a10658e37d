"""The metric names a run writes: losses, times, images and evaluation scores.

W&B, ``metrics.json``, ``losses.csv``, reports and figures read them from here. Torch-free.
"""

from __future__ import annotations

LOSS_TOTAL = "loss/total"
LOSS_CONTENT = "loss/content"
LOSS_STYLE = "loss/style"
LOSS_TV = "loss/tv"
LOSS_KEYS = (LOSS_TOTAL, LOSS_CONTENT, LOSS_STYLE, LOSS_TV)
# The image itself as RGB in [0, 1], beside the layers in a features dict, for terms that put it
# in their hypercolumns (STROTSS: ``rgb: true``); no backbone layer has this name.
FEATURE_RGB = "rgb"
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
