"""Files a run reads, checked before it starts: a weights file (read as the run reads it, mapped
rather than loaded where torch can) and the init image."""

from __future__ import annotations

from omegaconf import DictConfig


def check_torchvision_cache(arch: str, allow_download: bool) -> None:
    """torchvision's weights: cached, or a download allowed (the run downloads them)."""
    import os
    from pathlib import Path

    import torch

    from nst_research.backbones.weights import TORCHVISION_URLS
    from nst_research.errors import WeightsError

    cache = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_URLS[arch].rsplit("/", 1)[-1]
    if not cache.exists() and (not allow_download or os.environ.get("NST_OFFLINE") == "1"):
        raise WeightsError(
            f"torchvision {arch} weights are not cached at {cache}; fix: run once with network "
            f"access (model.allow_download=true), or copy {cache.name} into {cache.parent}, or "
            "use the offline default model.weights=caffe"
        )


def check_weights_file(cfg: DictConfig) -> None:
    """``model.weights=PATH``: a torch state dict holding every tensor the layers need."""
    from nst_research.backbones.layers import vgg_layer_names as layer_names
    from nst_research.backbones.vgg import VGGFeatures, check_state
    from nst_research.backbones.weights import WEIGHT_SOURCES, _file_state_dict

    if "weights" not in cfg.model or "arch" not in cfg.model:
        return  # not a VGG with a weight source (random backbones, a user's own)

    weights = str(cfg.model.weights)
    if weights == "caffe" and cfg.model.arch != "vgg19":
        from nst_research.backbones.weights import _caffe_state_dict

        _caffe_state_dict(str(cfg.model.arch))  # raises its one line before loading anything
    if weights == "torchvision":
        check_torchvision_cache(str(cfg.model.arch), bool(cfg.model.get("allow_download", True)))
    if weights in WEIGHT_SOURCES:
        return
    state = _file_state_dict(weights, mmap=True)
    names = layer_names(cfg.model.arch)
    used = [*(cfg.layers.content or []), *(cfg.layers.style or [])]
    deepest = max((str(n) for n in used), key=names.index, default=names[0])
    model = VGGFeatures([deepest], arch=cfg.model.arch, pooling=cfg.model.pooling, init=False)
    check_state(model, state)
