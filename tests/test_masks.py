"""Spatial control (Gatys et al. 2017, sec. 4): label maps, masks per layer, guided Grams."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_research.configs.names import LOSS_STYLE
from nst_research.controls.mask_files import load_masks
from nst_research.controls.masks import guided_gram, label_regions, layer_mask, parse_colour
from nst_research.controls.styles import StyleSet
from nst_research.engine.parts import check
from nst_research.errors import ConfigError, InputImageError
from nst_research.loss.functional import GRAM_NORMS, gram_matrix
from nst_research.loss.terms import GramLoss

REPO = Path(__file__).resolve().parents[1]
SKY_MASK = REPO / "nst_research" / "assets" / "tubingen_sky.png"


def test_label_colours_become_one_region_each():
    labels = torch.zeros(4, 6, 3, dtype=torch.uint8)
    labels[:2] = torch.tensor([0, 0, 255], dtype=torch.uint8)  # top: blue
    labels[2:, :3] = torch.tensor([250, 5, 0], dtype=torch.uint8)  # bottom left: nearly red
    # bottom right: black, no listed colour -> no region (keeps the content)
    exact = label_regions(labels, [(0, 0, 255), (255, 0, 0)], tolerance=0)
    assert exact.shape == (2, 4, 6)
    assert exact[0].sum() == 12 and exact[1].sum() == 0
    loose = label_regions(labels, [(0, 0, 255), (255, 0, 0)], tolerance=8)
    assert loose[1].sum() == 6 and loose[1, 2:, :3].all()
    assert (loose.sum(0)[2:, 3:] == 0).all()  # black is in no region
    assert parse_colour("#ff8000", "c") == (255, 128, 0) and parse_colour([1, 2, 3], "c") == (
        1,
        2,
        3,
    )
    with pytest.raises(ConfigError, match="is not a label colour"):
        parse_colour("orange", "masks.colours[0]")


@pytest.mark.parametrize("pools", [0, 1, 2, 3, 4])
def test_a_mask_downsamples_to_each_layer_grid_with_its_area(pools):
    """A 64x48 image's region of 1000 px (not aligned to any grid) keeps its area fraction on the
    grid of every VGG block (64x48 / 2^k), and two complementary regions still cover every cell."""
    mask = torch.zeros(2, 48, 64)
    mask[0, 3:23, 5:55] = 1  # 20 x 50 = 1000 px
    mask[1] = 1 - mask[0]
    hw = (48 // 2**pools, 64 // 2**pools)
    small = layer_mask(mask, hw)
    assert small.shape == (2, *hw)
    cell = 2**pools * 2**pools  # image px per layer position
    assert torch.allclose(small[0].sum() * cell, torch.tensor(1000.0), atol=1e-3)
    assert torch.allclose(small.sum(0), torch.ones(hw), atol=1e-6)
    assert small.min() >= 0 and small.max() <= 1


@pytest.mark.parametrize("norm", list(GRAM_NORMS))
def test_guided_gram_of_all_ones_is_the_gram_and_of_a_box_the_box_gram(norm):
    features = torch.randn(1, 5, 8, 12, generator=torch.Generator().manual_seed(0))
    ones = torch.ones(8, 12)
    assert torch.allclose(guided_gram(features, ones, norm), gram_matrix(features, norm), atol=1e-5)
    box = torch.zeros(8, 12)
    box[2:6, 3:9] = 1
    inside = features[..., 2:6, 3:9]
    assert torch.allclose(guided_gram(features, box, norm), gram_matrix(inside, norm), atol=1e-5)


def test_guided_style_set_scores_each_style_on_its_region_only():
    """Two styles, two halves: the loss is each half's guided Gram distance to its style's Gram."""
    g = torch.Generator().manual_seed(1)
    feats, s0, s1 = (torch.randn(1, 4, 6, 8, generator=g) for _ in range(3))
    masks = torch.zeros(2, 6, 8)
    masks[0, :, :4], masks[1, :, 4:] = 1, 1
    term = StyleSet(GramLoss("chw", "mean"), [1.0, 1.0], guided=True)
    term.set_masks(masks)
    term.set_style_targets(0, {"l": s0}, ["l"])
    term.set_style_targets(1, {"l": s1}, ["l"])
    left, right = feats[..., :4], feats[..., 4:]
    want = (gram_matrix(left) - gram_matrix(s0)).pow(2).mean() + (
        gram_matrix(right) - gram_matrix(s1)
    ).pow(2).mean()
    assert torch.allclose(term(feats, "l"), want, atol=1e-7)


def test_the_shipped_label_map_matches_its_checksum_and_script():
    sums = (SKY_MASK.parent / "SHA256SUMS").read_text().split()
    assert sums == [hashlib.sha256(SKY_MASK.read_bytes()).hexdigest(), SKY_MASK.name]
    arr = np.asarray(Image.open(SKY_MASK).convert("RGB"))
    assert arr.shape == (192, 256, 3)  # tubingen.jpg's 4:3
    sky = (arr == [0, 0, 255]).all(-1)
    assert sky[0].mean() > 0.9 and not sky[-1].any() and 0.2 < sky.mean() < 0.45
    assert ((arr == [255, 0, 0]).all(-1) | sky).all()


def _masks_cfg(**kw):
    from omegaconf import OmegaConf

    base = {"content": None, "colours": None, "files": None, "tolerance": 16}
    return OmegaConf.create({**base, **kw})


def test_mask_files_are_read_and_checked_with_one_line(tmp_path):
    masks = load_masks(_masks_cfg(content=str(SKY_MASK), colours=["#0000ff", "#ff0000"]), (48, 64))
    assert masks.shape == (2, 48, 64) and torch.equal(masks.sum(0), torch.ones(48, 64))
    cases = [
        (_masks_cfg(content=str(tmp_path / "nope.png"), colours=["#0000ff"]), "content mask not found"),
        (_masks_cfg(content=str(SKY_MASK), colours=["#00ff00"]), "the region of style 0"),
    ]  # fmt: skip
    Image.new("L", (64, 64), 255).save(tmp_path / "square.png")
    cases.append((_masks_cfg(files=[str(tmp_path / "square.png")]), "aspect ratio"))
    for cfg, match in cases:
        with pytest.raises(InputImageError, match=match) as e:
            load_masks(cfg, (48, 64))
        assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["style=[a.jpg,b.jpg]", "masks.content=m.png", "masks.colours=[\"#ffffff\"]"],
         "masks.colours has 1 entries for 2 style images"),
        (["masks.files=[a.png,b.png]"], "masks.files has 2 entries for 1 style images"),
        (["masks.content=m.png", "masks.colours=[\"#ffffff\"]", "masks.files=[a.png]"],
         "not both"),
        (["masks.content=m.png", "masks.colours=[\"#ffffff\"]", "style_loss=mean_std"],
         "masks= \\(guided Gram matrices\\) needs style_loss=gram"),
        (["masks.content=m.png", "masks.colours=[\"#ffffff\"]", "masks.tolerance=-1"],
         "masks.tolerance=-1 must be"),
    ],
)  # fmt: skip
def test_mask_config_errors_are_one_line(compose, overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        check(compose(overrides))
    assert "\n" not in str(e.value)


def test_masks_make_a_guided_style_set_with_unit_weights(compose):
    style = check(compose(["style=[a.jpg,b.jpg]", "masks.files=[a.png,b.png]"])).objective.style
    assert isinstance(style, StyleSet) and style.guided and style.weights == [1.0, 1.0]


def test_a_missing_mask_file_exits_2_with_one_line(tmp_path, tiny_images):
    content, style = tiny_images
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", f"content={content}", f"style={style}",
         f"masks.content={tmp_path / 'missing.png'}", "masks.colours=[\"#ffffff\"]", "size=64",
         "logger=none", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: content mask not found: {tmp_path / 'missing.png'} "
        f"(check the path; it resolves to {tmp_path / 'missing.png'})"
    ]


@pytest.mark.slow
def test_a_masked_style_changes_its_region_and_the_rest_keeps_the_content(tmp_path, tiny_images):
    """64x48 px, one style on the top half only (a label map; the bottom's colour has no style):
    the style loss halves and the top moves from the content far more than the bottom."""
    from nst_research.configs.compose import compose
    from nst_research.io.images import image_to_tensor, load_image
    from nst_research.run import run

    content, style = tiny_images
    labels = np.zeros((48, 64, 3), dtype=np.uint8)
    labels[:24] = (255, 255, 255)
    Image.fromarray(labels).save(tmp_path / "labels.png")
    cfg = compose(
        [f"content={content}", f"style=[{style}]", f"masks.content={tmp_path / 'labels.png'}",
         "masks.colours=[\"#ffffff\"]", "size=64", "iterations=10", "logger=none",
         "trainer.progress_bar=false", "eval=[]", "snapshot_every=0"]
    )  # fmt: skip
    metrics = run(cfg, tmp_path / "run")
    assert metrics["status"] == "completed" and "mask" in metrics["hashes"]
    with open(tmp_path / "run" / "losses.csv") as f:
        curve = [float(row[LOSS_STYLE]) for row in csv.DictReader(f)]
    assert curve[-1] < 0.5 * curve[0], curve
    final = image_to_tensor(load_image(tmp_path / "run" / "final.png"))
    change = (final - image_to_tensor(load_image(content), 64)).abs().mean(dim=(0, 1, 3))
    top, bottom = change[:20].mean(), change[28:].mean()
    assert top > 3 * bottom, (float(top), float(bottom))
