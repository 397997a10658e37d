"""Files a run reads, checked before it starts: a weights file (read as the run reads it, mapped
rather than loaded where torch can) and the init image."""

from __future__ import annotations

from omegaconf import DictConfig


def check_weights_file(cfg: DictConfig) -> None:
    """``model.weights=PATH``: a torch state dict holding every tensor the layers need."""
    from nst_research.features import WEIGHT_SOURCES, VGGFeatures, _file_state_dict, check_state
    from nst_research.names import layer_names

    weights = str(cfg.model.weights)
    if weights in WEIGHT_SOURCES:
        return
    state = _file_state_dict(weights, mmap=True)
    names = layer_names(cfg.model.arch)
    used = [*(cfg.layers.content or []), *(cfg.layers.style or [])]
    deepest = max((str(n) for n in used), key=names.index, default=names[0])
    model = VGGFeatures([deepest], arch=cfg.model.arch, pooling=cfg.model.pooling, init=False)
    check_state(model, state)
