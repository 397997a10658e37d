"""``model=random_resnet50``: torchvision's ResNet-50 architecture with seeded random weights.

Named layers, in forward order (strides in brackets): ``conv1 bn1 relu`` (2), ``maxpool`` (4), the
bottleneck blocks ``layer1_1..layer1_3`` (4), ``layer2_1..layer2_4`` (8), ``layer3_1..layer3_6``
(16), ``layer4_1..layer4_3`` (32), and ``layer1..layer4``, each the output of its stage's last
block. The classifier head is not built. Batch norm runs in eval mode with its initial statistics
(mean 0, variance 1: nearly the identity), as every frozen extractor here.

Softmax smoothing (``smoothing=softmax``) is SWAG, "Stylization With Activation smoothinG", of
P. Wang, Y. Li and N. Vasconcelos, "Rethinking and improving the robustness of image style
transfer", CVPR 2021: the activations of every layer the losses read are passed through a softmax
before the Gram matrices and the content comparison, which raises the entropy of the peaky
feature maps that residual connections produce. What is implemented here, where the paper leaves
room: the softmax runs over all C*H*W values of a layer for each image, of ``x / temperature``,
and is multiplied by C*H*W so its mean is 1 (a constant factor, so losses keep a usable scale;
the paper's own normalisation axis and scale were not checked against its code).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from nst_research.backbones.base import Backbone, NamedStack, kaiming_init
from nst_research.backbones.layers import Layer
from nst_research.backbones.preprocessing import named_preprocessing
from nst_research.backbones.weights import state_dict_hash
from nst_research.errors import ConfigError, choose
from nst_research.loss.options import positive

STAGES = (("layer1", 3, 4), ("layer2", 4, 8), ("layer3", 6, 16), ("layer4", 3, 32))
# Activation values a bottleneck block keeps for the backward pass per value of its output: its
# 1x1 and 3x3 convs, batch norms and ReLUs at width w (6w) and the 1x1 conv, norm, sum and ReLU at
# 4w (16w), over its output of 4w channels; the first block of a stage keeps a little more.
BLOCK_KEPT = 6.0


def softmax_smoothing(x: Tensor, temperature: float = 1.0) -> Tensor:
    """SWAG's softmax of a (B, C, H, W) activation over its C*H*W values per image, times
    C*H*W (mean 1); same shape."""
    b = x.shape[0]
    n = x[0].numel()
    return torch.softmax(x.reshape(b, -1) / temperature, dim=1).reshape(x.shape) * n


def _modules(model: nn.Module) -> tuple[list[str], list[nn.Module]]:
    """The named modules of a torchvision ResNet's forward, in order (no head)."""
    names = ["conv1", "bn1", "relu", "maxpool"]
    modules: list[nn.Module] = [model.conv1, model.bn1, nn.ReLU(inplace=False), model.maxpool]
    for stage, blocks, _ in STAGES:
        seq = getattr(model, stage)
        for i in range(blocks):
            names.append(f"{stage}_{i + 1}")
            modules.append(seq[i])
        names.append(stage)
        modules.append(nn.Identity())
    return names, modules


@functools.cache
def resnet50_table() -> tuple[Layer, ...]:
    """The declared layers of ResNet-50: channels, strides and weight values (from a meta model)."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.resnet50(weights=None)
    names, modules = _modules(model)
    strides = {"conv1": 2, "bn1": 2, "relu": 2, "maxpool": 4}
    channels = {"conv1": 64, "bn1": 64, "relu": 64, "maxpool": 64}
    for stage, _, stride in STAGES:
        width = getattr(model, stage)[-1].conv3.out_channels
        for name in names:
            if name == stage or name.startswith(f"{stage}_"):
                strides[name], channels[name] = stride, width
    table = []
    for name, module in zip(names, modules, strict=True):
        params = sum(p.numel() for p in module.parameters())
        kept = 0.0 if isinstance(module, nn.Identity) else (BLOCK_KEPT if "_" in name else 1.0)
        table.append(Layer(name, channels[name], strides[name], params, kept))
    return tuple(table)


class RandomResNet50(Backbone):
    """torchvision's ``resnet50`` with torchvision's initialisation drawn from a generator seeded
    with ``seed`` (:func:`~nst_research.backbones.base.kaiming_init`), frozen.

    Args:
        seed: the weights' seed (the run's own random stream is untouched).
        smoothing: ``none`` or ``softmax`` (SWAG, see the module docstring).
        temperature: the softmax's temperature (``smoothing=softmax``).
        preprocessing: ``torchvision`` (ImageNet mean/std, what ResNets are made for) or
            ``caffe``.
    """

    def __init__(
        self,
        seed: int = 0,
        smoothing: str = "none",
        temperature: float = 1.0,
        preprocessing: str = "torchvision",
    ) -> None:
        if seed is None or not 0 <= int(seed) < 2**63:
            raise ConfigError(f"model.seed={seed!r} must be an integer >= 0")
        choose({"none": None, "softmax": None}, smoothing, "model.smoothing")
        positive(temperature, "model.temperature")
        self.seed, self.smoothing, self.temperature = int(seed), smoothing, float(temperature)
        self.name = "random_resnet50"
        self.hint = "choose them with layers=resnet (conf/layers/resnet.yaml) or layers.* lists"
        self.table = resnet50_table()
        self.weights = f"random (torchvision init, seed {self.seed})"
        self.preprocess = named_preprocessing(preprocessing)

    def extractor(self, layers: Sequence[str]) -> tuple[NamedStack, str]:
        self.check_layers(layers)
        model, digest = _random_model(self.seed)
        names, modules = _modules(model)
        depth = max(names.index(name) for name in layers) + 1
        post = None
        if self.smoothing == "softmax":
            post = functools.partial(softmax_smoothing, temperature=self.temperature)
        return NamedStack(names[:depth], modules[:depth], layers, post), digest


def _random_model(seed: int) -> tuple[nn.Module, str]:
    """A fresh seeded ResNet-50 without its head (runs never share modules) and its hash."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.resnet50(weights=None)
    model.fc = nn.Identity()  # the head is never run
    model = kaiming_init(model, seed)
    return model, state_dict_hash(model.state_dict())
