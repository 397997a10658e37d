"""Backbones as configured modules: declared layers, random backbones, a user's own backbone,
strides read by the size checks, hypercolumns."""

from __future__ import annotations

import csv
import json
import textwrap

import pytest
import torch
from torch.testing import assert_close

from nst_research.backbones.base import Backbone
from nst_research.backbones.hypercolumns import hypercolumns, hypercolumns_at, sample_points
from nst_research.backbones.layers import Layer, min_size, vgg_table
from nst_research.backbones.resnet import RandomResNet50, resnet50_table, softmax_smoothing
from nst_research.backbones.vgg import VGG, RandomVGG
from nst_research.configs.names import LOSS_TOTAL
from nst_research.engine.memory import estimate_bytes
from nst_research.errors import ConfigError, InputImageError

CAFFE_HASH = "947464ed5ff879750afde347443349b203f11a6d4d3d352c24b54939c5c9d645"
RUN = ["size=32", "iterations=6", "logger=none", "trainer.progress_bar=false", "eval=[]"]


def _losses(run_dir) -> list[float]:
    with open(run_dir / "losses.csv") as f:
        return [float(row[LOSS_TOTAL]) for row in csv.DictReader(f)]


# --- declared layers ---------------------------------------------------------------------------


def test_vgg_declares_names_channels_strides_and_weights():
    vgg = VGG()
    assert vgg.layer_names[:3] == ["conv1_1", "relu1_1", "conv1_2"] and len(vgg.table) == 37
    assert vgg.channels["relu4_2"] == 512 and vgg.strides["relu4_2"] == 8
    assert vgg.strides["pool5"] == 32 and vgg.strides["conv1_1"] == 1
    assert vgg.table[0].params == (3 * 9 + 1) * 64  # conv1_1's weights and biases
    assert vgg.min_size(["relu1_1", "relu5_1"]) == 16  # four pools before relu5_1, as before
    assert vgg.preprocess.name == "caffe" and VGG(weights="torchvision").preprocess.bgr is False
    assert len(VGG(arch="vgg16").table) == 31


def test_resnet_declares_its_stages():
    table = {layer.name: layer for layer in resnet50_table()}
    assert [table[n].stride for n in ("conv1", "maxpool", "layer1", "layer2", "layer4")] == [
        2, 4, 4, 8, 32,
    ]  # fmt: skip
    assert [table[n].channels for n in ("relu", "layer1", "layer3", "layer4_3")] == [
        64, 256, 1024, 2048,
    ]  # fmt: skip
    total = sum(layer.params for layer in resnet50_table())
    assert 23_400_000 < total < 23_600_000  # ResNet-50 without its 2 M-weight head


@pytest.mark.parametrize(
    ("make", "bad"),
    [(VGG, "relu9_9"), (RandomVGG, "layer1"), (RandomResNet50, "relu4_2")],
)
def test_unknown_layers_name_the_valid_ones(make, bad):
    backbone = make()
    with pytest.raises(ConfigError) as e:
        backbone.check_layers([bad])
    msg = str(e.value)
    assert bad in msg and backbone.layer_names[-1] in msg and "\n" not in msg


def test_a_run_with_layers_the_backbone_lacks_is_one_line(compose):
    from nst_research.engine.parts import check

    with pytest.raises(ConfigError, match="unknown layer name.*relu4_2.*for random_resnet50.*"
                       "layers=resnet"):  # fmt: skip
        check(compose(["model=random_resnet50"]))
    assert check(compose(["model=random_resnet50", "layers=resnet"])).backbone.seed == 0


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["model.arch=vgg11"], "unknown model.arch='vgg11'; choose one of: vgg19, vgg16"),
        (["model.preprocessing=bgr"], "unknown model.preprocessing"),
        (["model=random_vgg19", "model.seed=-1"], "model.seed=-1 must be an integer >= 0"),
        (["model=random_resnet50", "model.smoothing=soft"], "unknown model.smoothing"),
    ],
)
def test_backbone_keys_are_checked_in_one_line(compose, overrides, match):
    from nst_research.engine.parts import check

    with pytest.raises(ConfigError, match=match) as e:
        check(compose(overrides))
    assert "\n" not in str(e.value)


# --- random backbones ----------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "layer"), [(RandomVGG, "relu2_1"), (RandomResNet50, "layer1")])
def test_random_backbones_are_deterministic_per_seed(make, layer):
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    state = torch.random.get_rng_state()
    (a, ha), (b, hb), (c, hc) = (make(seed=s).extractor([layer]) for s in (0, 0, 1))
    assert torch.equal(torch.random.get_rng_state(), state)  # the run's stream is untouched
    assert ha == hb != hc and len(ha) == 64
    fa, fb, fc = (net(x)[layer] for net in (a, b, c))
    assert torch.equal(fa, fb) and not torch.allclose(fa, fc)
    assert not any(p.requires_grad for p in a.parameters()) and not a.training


def test_random_vgg_layers_do_not_depend_on_the_truncation():
    x = torch.rand(1, 3, 32, 32)
    shallow, _ = RandomVGG(seed=3).extractor(["relu1_1"])
    deep, _ = RandomVGG(seed=3).extractor(["relu1_1", "relu5_1"])
    assert torch.equal(shallow(x)["relu1_1"], deep(x)["relu1_1"])


def test_softmax_smoothing_is_a_softmax_over_each_image_with_mean_one():
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]], [[[5.0, 5.0], [5.0, 5.0]]]])  # (2, 1, 2, 2)
    out = softmax_smoothing(x)
    e = torch.exp(torch.tensor([0.0, 1.0, 2.0, 3.0]))
    assert_close(out[0].flatten(), 4 * e / e.sum())
    assert_close(out[1], torch.ones(1, 2, 2))  # equal activations: uniform, mean 1
    assert_close(softmax_smoothing(x, temperature=2.0)[0].flatten(), 4 * e.sqrt() / e.sqrt().sum())
    net, _ = RandomResNet50(smoothing="softmax").extractor(["layer1"])
    feats = net(torch.rand(2, 3, 32, 32))["layer1"]
    assert_close(feats.mean(dim=(1, 2, 3)), torch.ones(2))


@pytest.mark.parametrize(
    ("overrides", "factor"),
    [
        (["model=random_vgg19", "model.seed=1", "layers.content=[relu2_2]",
          "layers.style=[relu1_1,relu2_1,relu3_1]"], 0.9),
        (["model=random_resnet50", "layers=resnet", "size=64"], 0.9),
        # SWAG's softmax of the peaky deep layers falls slowly in 6 iterations (about 5%)
        (["model=random_resnet50", "layers=resnet", "size=64", "model.smoothing=softmax"], 0.99),
    ],
)  # fmt: skip
def test_a_random_backbone_run_lowers_its_loss(compose, tiny_images, tmp_path, overrides, factor):
    from nst_research.run import run

    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", *RUN, *overrides])
    metrics = run(cfg, tmp_path / "run")
    losses = _losses(tmp_path / "run")
    assert metrics["status"] == "completed" and (tmp_path / "run" / "final.png").is_file()
    assert losses[-1] < factor * losses[0], losses
    assert metrics["hashes"]["weights"] != CAFFE_HASH


# --- a user's own backbone, from NST_CONFIG_DIR alone ---------------------------------------------

USER_MODULE = '''
"""A user's backbone: the Caffe VGG19's first three blocks under the user's own layer names."""
from torch import nn

from nst_research.backbones.base import Backbone
from nst_research.backbones.layers import Layer, vgg_table
from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import build_extractor

NAMES = {"edges": "relu1_1", "blobs": "relu2_1", "parts": "relu2_2", "shapes": "relu3_1"}


class Renamed(nn.Module):
    def __init__(self, net, layers):
        super().__init__()
        self.net, self.layers = net, layers

    def forward(self, x):
        out = self.net(x)
        return {mine: out[NAMES[mine]] for mine in self.layers}


class EarlyCaffe(Backbone):
    def __init__(self, pooling="max"):
        vgg = {layer.name: layer for layer in vgg_table("vgg19")}
        self.name, self.pooling, self.weights = "early_caffe", pooling, "caffe"
        self.table = tuple(Layer(mine, vgg[v].channels, vgg[v].stride) for mine, v in NAMES.items())
        self.preprocess = PREPROCESSING["caffe"]

    def extractor(self, layers):
        self.check_layers(layers)
        net, digest = build_extractor([NAMES[n] for n in layers], "vgg19", "caffe", self.pooling)
        return Renamed(net, list(layers)), digest
'''


def test_a_user_adds_a_backbone_from_their_config_dir_alone(
    compose, tiny_images, tmp_path, monkeypatch
):
    from nst_research.run import run

    code = tmp_path / "code"
    code.mkdir()
    (code / "my_backbones.py").write_text(textwrap.dedent(USER_MODULE))
    user = tmp_path / "user_conf"
    (user / "model").mkdir(parents=True)
    (user / "layers").mkdir()
    (user / "model" / "mine.yaml").write_text("_target_: my_backbones.EarlyCaffe\npooling: avg\n")
    (user / "layers" / "mine.yaml").write_text(
        "content: [parts]\nstyle: [edges, blobs, shapes]\ncontent_weights: null\n"
        "style_weights: null\n"
    )
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.setenv("NST_CONFIG_DIR", str(user))
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", *RUN, "model=mine", "layers=mine"])
    metrics = run(cfg, tmp_path / "run")
    losses = _losses(tmp_path / "run")
    assert metrics["status"] == "completed" and (tmp_path / "run" / "final.png").is_file()
    assert losses[-1] < 0.7 * losses[0]
    assert metrics["hashes"]["weights"] == CAFFE_HASH  # the real Caffe VGG19
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"loss/style/edges", "loss/style/shapes"} <= set(recorded["final_losses"])


# --- the size checks read the declared strides ---------------------------------------------------


class Strided(Backbone):
    """A declared table only: one stride-``s`` layer (the size checks never build it)."""

    def __init__(self, stride: int) -> None:
        self.name, self.weights = f"strided{stride}", "none"
        self.table = (Layer("x", 8, stride, params=100),)
        self.preprocess = VGG().preprocess

    def extractor(self, layers):  # pragma: no cover - never built here
        raise AssertionError


def test_min_size_and_memory_estimate_read_declared_strides(compose, tiny_images):
    from nst_research.engine.build import read_inputs
    from nst_research.engine.parts import check

    assert min_size(["x"], Strided(4).table) == 4 and min_size(["relu1_1"], vgg_table()) == 1
    # a stride-4 first layer keeps 1/16 of the activations of a stride-1 one
    one, four = (estimate_bytes(64, 64, "x", Strided(s).table, history=0) for s in (1, 4))
    image_terms = 8 * 3 * 64 * 64 * 4
    assert one - image_terms == 16 * (four - image_terms) - 15 * 100 * 4
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", *RUN, "layers.style=[relu1_1]",
                   "layers.content=[relu1_1]"])  # fmt: skip
    parts = check(cfg)
    parts.objective.content_layers = {"x": 1.0}
    parts.objective.style_layers = {"x": 1.0}
    parts.backbone = Strided(16)
    read_inputs(cfg, parts)  # 32 px images: one position at stride 16
    parts.backbone = Strided(64)
    with pytest.raises(InputImageError, match="too small for layer x.*at least 64 px"):
        read_inputs(cfg, parts)


# --- hypercolumns ------------------------------------------------------------------------------


def test_dense_hypercolumns_resize_and_concatenate():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 8, 8, generator=g)
    b = torch.full((2, 5, 2, 2), 7.0)
    out = hypercolumns({"a": a, "b": b}, (8, 8))
    assert out.shape == (2, 8, 8, 8)
    assert torch.equal(out[:, :3], a)  # a layer already at the grid's size is unchanged
    assert torch.equal(out[:, 3:], torch.full((2, 5, 8, 8), 7.0))  # constant stays constant
    # bilinear, align_corners=False: a 2-wide ramp [0, 1] read on a 4-wide grid
    ramp = torch.tensor([[[[0.0, 1.0]]]])
    assert_close(hypercolumns([ramp], (1, 4))[0, 0, 0], torch.tensor([0.0, 0.25, 0.75, 1.0]))


def test_sampled_hypercolumns_equal_the_dense_ones_at_their_points():
    g = torch.Generator().manual_seed(1)
    feats = [torch.rand(2, 4, 16, 12, generator=g), torch.rand(2, 6, 4, 3, generator=g),
             torch.rand(2, 2, 1, 1, generator=g)]  # fmt: skip
    points = sample_points((16, 12), 50, generator=torch.Generator().manual_seed(2))
    sampled = hypercolumns_at(feats, (16, 12), points)
    dense = hypercolumns(feats, (16, 12))
    assert sampled.shape == (2, 50, 12)
    assert_close(sampled, dense[:, :, points[:, 0], points[:, 1]].transpose(1, 2))
    corners = torch.tensor([[0, 0], [15, 11]])
    assert_close(hypercolumns_at(feats, (16, 12), corners), dense[:, :, [0, 15], [0, 11]].mT)


def test_sample_points_are_distinct_in_the_grid_and_follow_the_generator():
    a = sample_points((5, 7), 20, torch.Generator().manual_seed(0))
    b = sample_points((5, 7), 20, torch.Generator().manual_seed(0))
    c = sample_points((5, 7), 20, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c) and a.dtype == torch.int64
    assert len({tuple(p) for p in a.tolist()}) == 20
    assert (a[:, 0] < 5).all() and (a[:, 1] < 7).all() and (a >= 0).all()
    assert sample_points((3, 3), 100).shape == (9, 2)  # every position once
    with pytest.raises(ValueError, match="grid"):
        hypercolumns_at([torch.rand(1, 1, 4, 4)], (4, 4), torch.tensor([[4, 0]]))
