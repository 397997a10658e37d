"""VGG backbones (Simonyan & Zisserman 2014): the convolutional part with named layers.

Layers are addressed by the names of the VGG papers (``conv1_1``, ``relu4_2``, ``pool5``), never by
index. The network is truncated after the deepest requested layer and frozen where it is built.
The module list mirrors torchvision's ``vgg*.features`` index for index, so a torchvision-layout
state dict (``features.N.weight``) loads into it directly.

:class:`VGG` is ``model=vgg19`` / ``model=vgg16`` (Caffe, torchvision or file weights);
:class:`RandomVGG` is ``model=random_vgg19`` (seeded random weights: an offline ablation of the
learned weights).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from nst_research.backbones.base import Backbone, NamedStack, kaiming_init
from nst_research.backbones.layers import check_layers, vgg_table
from nst_research.backbones.preprocessing import PREPROCESSING, named_preprocessing
from nst_research.backbones.weights import (
    WEIGHT_SOURCES,
    cached_state,
    default_preprocessing,
    state_dict_hash,
)
from nst_research.errors import ConfigError, WeightsError, choose

POOLING = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
ARCHS = {"vgg19": "vgg19", "vgg16": "vgg16"}  # the order of the error message


class VGGFeatures(NamedStack):
    """A frozen VGG convolutional stack that returns the activations of named layers.

    Args:
        layers: the names whose activations ``forward`` returns; the stack ends at the deepest one.
        arch: ``vgg19`` or ``vgg16``.
        pooling: ``max`` or ``avg`` (Gatys et al. 2016 prefer average pooling).

    ``forward(x)`` takes a (B, 3, H, W) preprocessed image and returns ``{name: (B, C, H', W')}``.
    Weights are loaded with :func:`load_weights`; the module starts with random weights, or with
    ``init=False`` with none at all (meta tensors, skipping the random init) until they are loaded.
    """

    def __init__(
        self, layers: Sequence[str], arch: str = "vgg19", pooling: str = "max", init: bool = True
    ) -> None:
        if pooling not in POOLING:
            raise ConfigError(f"unknown pooling {pooling!r}; choose model.pooling=max or avg")
        if not layers:
            raise ConfigError("no layers requested from the feature extractor")
        table = vgg_table(arch)
        check_layers(layers, table, arch)
        names = [layer.name for layer in table]
        depth = max(names.index(name) for name in layers) + 1
        modules: list[nn.Module] = []
        in_ch = 3
        for layer in table[:depth]:
            if layer.name.startswith("conv"):
                device = None if init else torch.device("meta")
                modules.append(nn.Conv2d(in_ch, layer.channels, 3, padding=1, device=device))
                in_ch = layer.channels
            elif layer.name.startswith("relu"):
                modules.append(nn.ReLU(inplace=False))
            else:
                modules.append(POOLING[pooling](kernel_size=2, stride=2))
        super().__init__(names[:depth], modules, layers)
        self.arch, self.pooling = arch, pooling


def check_state(model: VGGFeatures, state: dict[str, Tensor]) -> None:
    """One line unless ``state`` holds every tensor ``model`` needs, in its shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise WeightsError(
            f"weights lack {len(missing)} tensors needed up to {model.names[-1]} "
            f"(first: {missing[0]}); expected torchvision's features.N.weight layout"
        )
    for key, value in own.items():
        if state[key].shape != value.shape:
            raise WeightsError(
                f"weight {key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)} "
                f"for {model.arch}; is model= set to the right architecture?"
            )


def load_weights(model: VGGFeatures, state: dict[str, Tensor]) -> None:
    """Copy the weights of the truncated stack from a torchvision-layout state dict."""
    check_state(model, state)
    own = model.state_dict()
    wanted = {k[len("features.") :]: state[k] for k in own}
    if any(p.is_meta for p in model.parameters()):  # built with init=False: take fresh copies
        wanted = {k: v.detach().clone() for k, v in wanted.items()}
        model.features.load_state_dict(wanted, assign=True)
        model.requires_grad_(False)
    else:
        model.features.load_state_dict(wanted)


def build_extractor(
    layers: Sequence[str],
    arch: str = "vgg19",
    weights: str = "caffe",
    pooling: str = "max",
    allow_download: bool = True,
) -> tuple[VGGFeatures, str]:
    """A frozen extractor with loaded weights, and the hash of the full weight source."""
    model = VGGFeatures(layers, arch=arch, pooling=pooling, init=False)
    state, digest = cached_state(weights, arch, allow_download)
    load_weights(model, state)
    return model, digest


class VGG(Backbone):
    """``model=vgg19`` (default) and ``model=vgg16``: the keys of ``conf/model/vgg19.yaml``.

    Args:
        arch: ``vgg19`` or ``vgg16``.
        weights: ``caffe`` (offline, the original Caffe VGG19), ``torchvision``, or the path of a
            torchvision-layout ``.pth`` state dict.
        pooling: ``max`` or ``avg``.
        preprocessing: ``auto`` (the weights' own), ``caffe`` or ``torchvision``.
        allow_download: torchvision weights may be downloaded once into the torch hub cache.
    """

    def __init__(
        self,
        arch: str = "vgg19",
        weights: str = "caffe",
        pooling: str = "max",
        preprocessing: str = "auto",
        allow_download: bool = True,
    ) -> None:
        choose(ARCHS, arch, "model.arch")
        self.table = vgg_table(arch)
        choose(POOLING, pooling, "model.pooling")
        weights = str(weights)
        if weights not in WEIGHT_SOURCES and not Path(weights).expanduser().is_file():
            raise ConfigError(
                f"unknown model.weights={weights!r}: use caffe (offline default), torchvision, "
                "or the path of a torchvision-layout .pth file"
            )
        prep = default_preprocessing(weights) if preprocessing == "auto" else preprocessing
        names = {"auto": None, **PREPROCESSING}
        choose(names, preprocessing, "model.preprocessing")
        self.name, self.arch, self.pooling = arch, arch, pooling
        self.weights, self.allow_download = weights, bool(allow_download)
        self.preprocess = PREPROCESSING[prep]

    def extractor(self, layers: Sequence[str]) -> tuple[VGGFeatures, str]:
        return build_extractor(layers, self.arch, self.weights, self.pooling, self.allow_download)


class RandomVGG(Backbone):
    """``model=random_vgg19``: the VGG architecture with seeded random weights, no download.

    The weights follow torchvision's initialisation of ``vgg19(weights=None)`` (Kaiming-normal
    convolutions, fan-out mode, zero biases; :func:`~nst_research.backbones.base.kaiming_init`),
    drawn from a generator seeded with ``seed`` for the whole stack, so a layer's weights do not
    depend on how deep the run truncates it. The run's own
    random stream is untouched. Preprocessing defaults to Caffe's, so the image is optimised in
    the same input space as the default run and only the weights differ.
    """

    def __init__(
        self, arch: str = "vgg19", seed: int = 0, pooling: str = "max", preprocessing: str = "caffe"
    ) -> None:
        choose(ARCHS, arch, "model.arch")
        self.table = vgg_table(arch)
        choose(POOLING, pooling, "model.pooling")
        if seed is None or not 0 <= int(seed) < 2**63:
            raise ConfigError(f"model.seed={seed!r} must be an integer >= 0")
        self.arch, self.seed, self.pooling = arch, int(seed), pooling
        self.name = f"random_{arch}"
        self.weights = f"random (torchvision init, seed {self.seed})"
        self.preprocess = named_preprocessing(preprocessing)

    def extractor(self, layers: Sequence[str]) -> tuple[VGGFeatures, str]:
        model = VGGFeatures(layers, arch=self.arch, pooling=self.pooling, init=False)
        state, digest = _random_state(self.arch, self.seed)
        load_weights(model, state)
        return model, digest


@functools.lru_cache(maxsize=2)
def _random_state(arch: str, seed: int) -> tuple[dict[str, Tensor], str]:
    """The whole seeded VGG stack's state dict (torchvision layout) and its hash."""
    names = [layer.name for layer in vgg_table(arch)]
    model = VGGFeatures([names[-1]], arch=arch, init=False)
    state = {f"features.{k}": v for k, v in kaiming_init(model.features, seed).state_dict().items()}
    return state, state_dict_hash(state)
