"""The backbone protocol: a configured module that declares its layers and builds an extractor.

A new backbone is one class (a subclass of :class:`Backbone`) plus ``conf/model/<name>.yaml``
whose ``_target_`` names it; its keys are the constructor's arguments. Nothing else reads
architecture facts: the config check asks :meth:`Backbone.check_layers`, the memory estimate and
the minimum image size read :attr:`Backbone.table`, the module gets :attr:`Backbone.preprocess`
and the extractor :meth:`Backbone.extractor` builds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from nst_research.backbones import layers as tables
from nst_research.backbones.layers import Layer
from nst_research.backbones.preprocessing import Preprocessing
from nst_research.errors import ConfigError


class Backbone(ABC):
    """A configured backbone: cheap to make (no weights are read until :meth:`extractor`).

    Subclasses set ``name`` (for messages), ``table`` (every :class:`Layer` in forward order),
    ``preprocess`` and ``weights`` (the weight source, described), and implement
    :meth:`extractor`.
    """

    name: str = "backbone"
    hint: str = ""  # appended to the unknown-layer error, e.g. the layers preset to choose
    table: tuple[Layer, ...] = ()
    preprocess: Preprocessing
    weights: str = ""

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.table]

    @property
    def channels(self) -> dict[str, int]:
        return {layer.name: layer.channels for layer in self.table}

    @property
    def strides(self) -> dict[str, int]:
        return {layer.name: layer.stride for layer in self.table}

    def check_layers(self, requested: Iterable[str]) -> None:
        """A one-line ConfigError naming the unknown layers and listing the valid ones."""
        tables.check_layers(requested, self.table, self.name, self.hint)

    def min_size(self, requested: Iterable[str]) -> int:
        """The smallest image side (px) at which every requested layer has one position."""
        return tables.min_size(requested, self.table)

    @abstractmethod
    def extractor(self, layers: Sequence[str]) -> tuple[nn.Module, str]:
        """A frozen module whose ``forward`` maps a (B, 3, H, W) preprocessed image to
        ``{name: (B, C, H', W')}`` for ``layers`` (truncated after the deepest one), and the
        sha256 of its weight source (provenance; a resumed run must match it)."""


class NamedStack(nn.Module):
    """A frozen sequence of named modules that returns the outputs of the requested ones.

    Args:
        names: one name per module, in forward order.
        modules: the modules (kept as ``self.features``, an ``nn.Sequential``).
        layers: the names whose outputs ``forward`` returns.
        post: applied to each returned output (e.g. softmax smoothing); None: as computed.

    ``forward(x)``: (B, 3, H, W) -> ``{name: (B, C, H', W')}``.
    """

    def __init__(
        self,
        names: Sequence[str],
        modules: Sequence[nn.Module],
        layers: Sequence[str],
        post: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__()
        if not layers:
            raise ConfigError("no layers requested from the feature extractor")
        self.names = list(names)
        self.layers = tuple(dict.fromkeys(layers))
        self.features = nn.Sequential(*modules)
        self.post = post
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> NamedStack:  # noqa: ARG002 - always frozen
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
                out[name] = x if self.post is None else self.post(x)
        return out


def kaiming_init(model: nn.Module, seed: int) -> nn.Module:
    """Materialise ``model`` (built on the meta device) on the CPU with torchvision's init of its
    classification nets, drawn from a generator seeded with ``seed``, module by module in order:
    convolutions Kaiming-normal (fan-out, ReLU gain) with zero biases; batch norms weight 1,
    bias 0, running mean 0 and variance 1. Torch's global random stream is not touched."""
    g = torch.Generator().manual_seed(int(seed))
    model = model.to_empty(device="cpu")
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=g)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.reset_running_stats()
    return model
