"""Checks of a composed config that a schema cannot make: layer names, weights, choices.

:func:`validate` and :func:`check_config` raise a one-line :class:`ConfigError` before any work
starts. Layer names are checked by the configured backbone (``conf/model/<name>.yaml``), which
declares them; every group's choice is instantiated by :func:`instantiate_choice`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from nst_research.configs.schema import GROUPS, LIST_GROUPS, OPTIONAL_GROUPS
from nst_research.errors import ConfigError, NSTError


def layer_weights(names: Any, weights: Any, key: str) -> dict[str, float]:
    """Layer names and their weights -> ``{name: weight}``.

    ``weights`` is ``None`` (equal weights summing to 1, the paper's w_l = 1/N), a list of the same
    length as ``names``, or a ``{name: weight}`` map covering every name.
    """
    if names is None:
        return {}
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | ListConfig | tuple):
        raise ConfigError(f"{key} must be a list of layer names, got {names!r}")
    names = [str(n) for n in names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"{key} names {', '.join(repeated)} more than once; list each layer once "
            f"(give it a larger weight with {key}_weights instead)"
        )
    if weights is None:
        values: list[Any] = [1.0 / len(names)] * len(names) if names else []
    elif isinstance(weights, dict | DictConfig):
        missing = [n for n in names if n not in weights]
        if missing:
            raise ConfigError(f"{key}_weights has no weight for {', '.join(missing)}")
        values = [weights[n] for n in names]
    elif isinstance(weights, list | ListConfig | tuple):
        if len(weights) != len(names):
            raise ConfigError(
                f"{key}_weights has {len(weights)} values for {len(names)} layers {names}; "
                "give one weight per layer or null for equal weights"
            )
        values = list(weights)
    else:
        raise ConfigError(f"{key}_weights must be null, a list or a map, got {weights!r}")
    out: dict[str, float] = {}
    for name, w in zip(names, values, strict=True):
        out[name] = _finite_nonneg(w, f"{key}_weights[{name}]")
    return out


def _finite_nonneg(value: Any, key: str) -> float:
    if isinstance(value, bool):  # float(True) == 1.0: a typo'd value, not a weight
        raise ConfigError(f"{key}={value!r} is not a number")
    if isinstance(value, str):  # a quoted number ('12') stays a string and breaks the maths later
        raise ConfigError(f"{key}={value!r} is a string, not a number; write it without quotes")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError) as e:
        raise ConfigError(f"{key}={value!r} is not a number") from e
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"{key}={value!r} must be a finite number >= 0")
    return v


def _choice(value: Any, choices: tuple[str, ...], key: str) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {key}={value!r}; choose one of: {', '.join(choices)}")


def style_list(style: Any) -> list[str]:
    """``style=a.jpg`` or ``style=[a.jpg,b.jpg]`` -> the list of style images."""
    items = list(style) if isinstance(style, list | ListConfig | tuple) else [style]
    if not items or any(not isinstance(s, str) or not s for s in items):
        raise ConfigError(
            f"style={style!r} must be an image path or a list of them (style=[a.jpg,b.jpg])"
        )
    return [str(s) for s in items]


def _shown(value: Any) -> str:
    return str(list(value)) if isinstance(value, list | ListConfig | tuple) else repr(value)


def masks_on(masks: Any) -> bool:
    """Whether spatial control is on (``masks.content`` or ``masks.files`` set)."""
    return bool(masks) and bool(masks.get("content") or masks.get("files"))


def style_weights(cfg: DictConfig) -> list[float]:
    """The weight of each style: ``style_blend``, or by default equal weights summing to 1 (a
    blend) or 1 each (one style per mask region)."""
    styles, blend = style_list(cfg.style), cfg.get("style_blend")
    guided = masks_on(cfg.get("masks"))
    if blend is None:
        return [1.0] * len(styles) if guided else [1.0 / len(styles)] * len(styles)
    if len(styles) == 1 and not guided:
        raise ConfigError(
            f"style_blend={_shown(blend)} weights the styles of a list, and there is one style; "
            "remove style_blend (scale the style with loss.style_weight), or give a list "
            "(style=[a.jpg,b.jpg] style_blend=[0.7,0.3])"
        )
    if not isinstance(blend, list | ListConfig | tuple) or len(blend) != len(styles):
        n = len(blend) if isinstance(blend, list | ListConfig | tuple) else 1
        raise ConfigError(
            f"style_blend has {n} weights for {len(styles)} style images; "
            "give one weight per style (style_blend=[0.7,0.3]) or null for equal weights"
        )
    weights = [_finite_nonneg(w, f"style_blend[{i}]") for i, w in enumerate(blend)]
    if sum(weights) <= 0:
        raise ConfigError(
            f"style_blend={list(blend)} sums to 0; give at least one style a weight > 0"
        )
    return weights


def check_masks(cfg: DictConfig) -> None:
    """``masks.content`` with one label colour per style, or ``masks.files`` with one per style."""
    masks = cfg.get("masks")
    tolerance = masks.get("tolerance", 0) if masks else 0
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not 0 <= tolerance <= 255:
        raise ConfigError(f"masks.tolerance={tolerance!r} must be an integer in 0..255")
    if not masks_on(masks):
        return
    n = len(style_list(cfg.style))
    if masks.get("content") and masks.get("files"):
        raise ConfigError(
            "set masks.content (a label map, with masks.colours) or masks.files (one mask per "
            "style), not both"
        )
    key = "masks.colours" if masks.get("content") else "masks.files"
    given = masks.get("colours") if masks.get("content") else masks.get("files")
    if not isinstance(given, list | ListConfig) or len(given) != n:
        count = len(given) if isinstance(given, list | ListConfig) else 0
        raise ConfigError(
            f"{key} has {count} entries for {n} style images; give one per style "
            f"(region i gets style[i])"
        )


def instantiate_choice(node: Any, key: str) -> Any:
    """``hydra.utils.instantiate`` with its errors as one line (the class's own one if it has one)."""
    missing = sorted(OmegaConf.missing_keys(node)) if isinstance(node, DictConfig) else []
    if missing:
        raise ConfigError(
            f"{missing[0]} must be set (e.g. {missing[0]}=...)"
            + (": init=image needs init.path=PHOTO.jpg" if missing[0] == "init.path" else "")
        )
    try:
        return instantiate(node)
    except MissingMandatoryValue as e:
        raise ConfigError(f"{e.full_key} must be set (e.g. {e.full_key}=...)") from None
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, NSTError):
            raise cause from None
        raise ConfigError(f"{key}: {' '.join(str(cause or e).split())}") from e


# A model node recorded before backbones were configured modules (no ``_target_``) is a VGG.
LEGACY_BACKBONE = "nst_research.backbones.vgg.VGG"


def make_backbone(model: Any) -> Any:
    """The configured backbone (a :class:`nst_research.backbones.base.Backbone`), no weights yet."""
    if not isinstance(model, DictConfig):
        raise ConfigError("model is not a config group choice; pick one with model=<option>")
    if "_target_" not in model:
        model = OmegaConf.merge({"_target_": LEGACY_BACKBONE}, model)
    return instantiate_choice(model, "model")


@dataclass(frozen=True)
class Checked:
    """What checking a config derives, once: layer-weight maps, style weights, the backbone."""

    content: dict[str, float]
    style: dict[str, float]
    style_weights: list[float]
    backbone: Any


def validate(cfg: DictConfig) -> tuple[dict[str, float], dict[str, float]]:
    """Check a composed config; return the (content, style) layer-weight maps."""
    checked = check_config(cfg)
    return checked.content, checked.style


def check_config(cfg: DictConfig) -> Checked:
    """Check a composed config; every derived value is computed here once."""
    for group in GROUPS:
        value = cfg.get(group)
        if group in OPTIONAL_GROUPS and value is None:
            continue
        if group not in LIST_GROUPS and not isinstance(value, DictConfig):
            raise ConfigError(
                f"{group} is not a config group choice; pick one with {group}=<option>"
            )
    if cfg.size is None or cfg.size <= 0:
        raise ConfigError(f"size={cfg.size} must be a positive number of pixels (e.g. size=256)")
    if cfg.iterations is None or cfg.iterations <= 0:
        raise ConfigError(f"iterations={cfg.iterations} must be a positive integer (e.g. 300)")
    if cfg.snapshot_every < 0:
        raise ConfigError(f"snapshot_every={cfg.snapshot_every} must be >= 0 (0 disables)")
    _finite_nonneg(cfg.style_scale, "style_scale")
    if cfg.style_scale <= 0:
        raise ConfigError(f"style_scale={cfg.style_scale} must be > 0")
    backbone = make_backbone(cfg.model)  # checks its own keys (model.pooling, model.weights)
    loss = cfg.loss
    for key in ("content_weight", "style_weight", "tv_weight"):
        _finite_nonneg(loss[key], f"loss.{key}")
    if not isinstance(loss.get("normalise", False), bool):
        raise ConfigError(f"loss.normalise={loss.normalise!r} must be true or false")
    _choice(cfg.checkpoint, ("never", "interrupt", "always"), "checkpoint")
    weights = style_weights(cfg)
    check_masks(cfg)
    if cfg.seed is not None and not 0 <= cfg.seed < 2**32:
        raise ConfigError(f"seed={cfg.seed} must be in 0..2**32-1 (or null for a random seed)")
    devices = cfg.trainer.get("devices", 1)
    if devices != "auto" and (
        isinstance(devices, bool) or not isinstance(devices, int) or devices < 1
    ):
        raise ConfigError(f"trainer.devices={devices!r} must be an integer >= 1 (or auto)")
    threads = cfg.trainer.get("threads")
    if threads is not None and (type(threads) is not int or threads < 0):  # not true/false
        raise ConfigError(
            f"trainer.threads={threads!r} must be an integer >= 0 (0 or null: torch's default)"
        )
    layers = cfg.layers
    content = layer_weights(layers.content, layers.get("content_weights"), "layers.content")
    style = layer_weights(layers.style, layers.get("style_weights"), "layers.style")
    backbone.check_layers(content)
    backbone.check_layers(style)
    if loss.style_weight > 0 and not style:
        raise ConfigError(
            "layers.style is empty but loss.style_weight > 0; name style layers "
            "(e.g. layers.style=[relu1_1,relu2_1]) or set loss.style_weight=0"
        )
    if loss.content_weight > 0 and not content:
        raise ConfigError(
            "layers.content is empty but loss.content_weight > 0; name a content layer "
            "(e.g. layers.content=[relu4_2]) or set loss.content_weight=0"
        )
    if not (loss.style_weight > 0 and style) and not (loss.content_weight > 0 and content):
        raise ConfigError(
            "both loss.content_weight and loss.style_weight are 0: nothing to optimise"
        )
    return Checked(content, style, weights, backbone)


def optimises(cfg: DictConfig) -> bool:
    """Whether the run optimises (``method.optimise``; runs recorded before methods did)."""
    method = cfg.get("method")
    return method is None or bool(method.get("optimise", True))
