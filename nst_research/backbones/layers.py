"""What a backbone declares about its layers, torch-free: names, channels, strides, weights.

A backbone's layer table is a tuple of :class:`Layer` in forward order. The memory estimate
(:mod:`nst_research.engine.memory`) and the minimum image size (:func:`min_size`) read it, so neither
parses layer names. The VGG tables (Simonyan & Zisserman 2014) are here too, so that names can
be checked without importing torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nst_research.errors import ConfigError


@dataclass(frozen=True)
class Layer:
    """One named layer of a backbone.

    ``channels``: C of its output; ``stride``: input pixels per output position (its output is
    (C, H // stride, W // stride) for an (H, W) input, at least); ``params``: weight values of
    the module producing it (0 for ReLU and pooling); ``kept``: activation values the layer keeps
    for the backward pass per value of its output (1 for a single op; a residual stage keeps
    the tensors of all its blocks).
    """

    name: str
    channels: int
    stride: int
    params: int = 0
    kept: float = 1.0


Table = Sequence[Layer]

# --- VGG ------------------------------------------------------------------------------------------

# Convolutions per block, and channels per block, of the VGG convolutional parts.
VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
VGG_CHANNELS = (64, 128, 256, 512, 512)


def vgg_table(arch: str = "vgg19") -> tuple[Layer, ...]:
    """A VGG's convolutional part in torchvision's ``features`` order: conv (3x3, padding 1),
    relu after each, a 2x2 pool closing each block."""
    if arch not in VGG_BLOCKS:
        raise ConfigError(f"unknown model arch {arch!r}; choose one of: {', '.join(VGG_BLOCKS)}")
    table: list[Layer] = []
    c_in, stride = 3, 1
    for block, n_convs in enumerate(VGG_BLOCKS[arch], start=1):
        c = VGG_CHANNELS[block - 1]
        for i in range(1, n_convs + 1):
            table.append(Layer(f"conv{block}_{i}", c, stride, (c_in * 9 + 1) * c))
            table.append(Layer(f"relu{block}_{i}", c, stride))
            c_in = c
        stride *= 2
        table.append(Layer(f"pool{block}", c, stride))
    return tuple(table)


def vgg_layer_names(arch: str = "vgg19") -> list[str]:
    """Layer names of a VGG's convolutional part, in torchvision's ``features`` order."""
    return [layer.name for layer in vgg_table(arch)]


# --- questions about a table -----------------------------------------------------------------------


def check_layers(requested: Iterable[str], table: Table, model: str, hint: str = "") -> None:
    """Raise a one-line ConfigError listing the valid names if any requested layer is unknown."""
    valid = [layer.name for layer in table]
    unknown = [name for name in requested if name not in valid]
    if unknown:
        raise ConfigError(
            f"unknown layer name(s) {', '.join(map(repr, unknown))} for {model}; "
            f"valid names: {' '.join(valid)}{'; ' + hint if hint else ''}"
        )


def deepest(layers: Iterable[str], table: Table) -> str:
    """The requested layer furthest along the forward pass."""
    names = [layer.name for layer in table]
    return max(layers, key=names.index)


def upto(table: Table, last: str) -> tuple[Layer, ...]:
    """The table up to and including layer ``last`` (what a truncated extractor computes)."""
    names = [layer.name for layer in table]
    return tuple(table[: names.index(last) + 1])


def min_size(layers: Iterable[str], table: Table) -> int:
    """The smallest side (px) for which every requested layer still has one position: the
    largest declared stride among them."""
    strides = {layer.name: layer.stride for layer in table}
    return max(strides[name] for name in layers)
