"""Issue 21 item 3: the content loss is a config group (``content_loss=mse|self_similarity``)."""

from __future__ import annotations

import csv
import math
import textwrap
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image
from torch.testing import assert_close

from nst_research.engine.parts import check
from nst_research.engine.resume import resume_config
from nst_research.errors import ConfigError
from nst_research.loss.content import (
    SelfSimilarityLoss,
    column_normalised,
    cosine_distances,
    sample_positions,
    self_similarity_loss,
)
from nst_research.loss.terms import ContentLoss
from nst_research.run import run

TINY = ["trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]",
        "logger=none", "eval=[]"]  # fmt: skip


def csv_column(path: Path, key: str) -> list[float]:
    with open(path, newline="") as f:
        return [float(row[key]) for row in csv.DictReader(f)]


# --- the maths, by hand -------------------------------------------------------------------------


def test_cosine_distances_of_three_points():
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]])  # lengths do not count
    a = 1 - 1 / math.sqrt(2)
    expected = torch.tensor([[[0, 1, a], [1, 0, a], [a, a, 0]]])
    assert_close(cosine_distances(x), expected)


def test_columns_are_divided_by_their_sums():
    d = torch.tensor([[[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]])
    expected = torch.tensor([[[0, 1 / 2, 2 / 3], [1 / 3, 0, 1 / 3], [2 / 3, 1 / 2, 0]]])
    assert_close(column_normalised(d), expected)


def test_self_similarity_loss_of_two_hand_made_point_sets():
    """x: (1,0), (0,1), (1,1); c: (1,0), (0,1), (-1,0). By hand, with a = 1 - 1/sqrt(2):
    D_x = [[0,1,a],[1,0,a],[a,a,0]], columns summing to 1+a, 1+a, 2a;
    D_c = [[0,1,2],[1,0,1],[2,1,0]], columns summing to 3, 2, 3.
    L = 3 * mean |N_x - N_c| = (sum of the 9 differences) / 3."""
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    c = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]], dtype=torch.float64)
    a = 1 - 1 / math.sqrt(2)
    p, q = 1 / (1 + a), a / (1 + a)  # the normalised entries of x's first two columns
    column1 = 0 + abs(p - 1 / 3) + abs(q - 2 / 3)
    column2 = abs(p - 1 / 2) + 0 + abs(q - 1 / 2)
    column3 = abs(1 / 2 - 2 / 3) + abs(1 / 2 - 1 / 3) + 0
    expected = (column1 + column2 + column3) / 3
    assert expected == pytest.approx(0.586834, abs=1e-6)
    assert self_similarity_loss(x, c).item() == pytest.approx(expected, rel=1e-12)


def test_the_loss_sees_only_directions_and_is_zero_for_the_same_pattern():
    g = torch.Generator().manual_seed(0)
    c = torch.randn(2, 7, 5, generator=g)
    stretched = c * torch.rand(2, 7, 1, generator=g).add(0.5)  # each point scaled by its own > 0
    assert self_similarity_loss(stretched, c).item() == pytest.approx(0.0, abs=1e-6)
    assert self_similarity_loss(torch.randn(2, 7, 5, generator=g), c).item() > 0.01


def test_sample_positions():
    g = torch.Generator().manual_seed(0)
    assert sample_positions(10, None, g) is None and sample_positions(10, 10, g) is None
    index = sample_positions(100, 16, g)
    assert index.shape == (16,) and len(set(index.tolist())) == 16 and index.max() < 100


# --- the term: sampled positions, re-drawn every iteration from the seed ------------------------


def term_at(seed: int, step: int, positions: int | None = 8) -> SelfSimilarityLoss:
    term = SelfSimilarityLoss(positions=positions)
    term.reseed(seed)
    term.set_step(step)
    return term


def test_the_term_draws_the_same_positions_in_output_and_content():
    g = torch.Generator().manual_seed(1)
    content = torch.randn(1, 6, 5, 5, generator=g)
    term = term_at(0, 0)
    term.set_targets({"relu4_2": content}, ["relu4_2"])
    assert term(content.clone(), "relu4_2").item() == 0.0  # only if the positions agree
    out = torch.randn(1, 6, 5, 5, generator=g)
    assert term(out, "relu4_2").item() > 0
    assert term.redraws


def test_one_draw_per_iteration_and_seed():
    g = torch.Generator().manual_seed(2)
    content, out = torch.randn(1, 6, 6, 6, generator=g), torch.randn(1, 6, 6, 6, generator=g)

    def value(seed: int, step: int, positions: int | None = 8) -> float:
        term = term_at(seed, step, positions)
        term.set_targets({"a": content}, ["a"])
        return term(out, "a").item()

    assert value(0, 3) == value(0, 3)  # an L-BFGS line search sees one draw
    assert value(0, 3) != value(0, 4) and value(0, 3) != value(1, 3)
    assert value(0, 3, None) == value(5, 9, None)  # all positions: nothing is drawn
    x, c = out.flatten(2).transpose(1, 2), content.flatten(2).transpose(1, 2)
    assert value(0, 0, None) == pytest.approx(self_similarity_loss(x, c).item(), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"positions": 1}, "content_loss.positions=1"),
        ({"positions": 2.5}, "content_loss.positions=2.5"),
        ({"scale": 0}, "content_loss.scale=0"),
    ],
)
def test_bad_keys_are_one_line(kwargs, match):
    with pytest.raises(ConfigError, match=match) as e:
        SelfSimilarityLoss(**kwargs)
    assert "\n" not in str(e.value)


# --- the group -------------------------------------------------------------------------------------


def test_mse_is_the_default_and_reads_loss_content_norm(compose):
    default = check(compose([])).objective.content
    assert type(default) is ContentLoss and default.norm == "mse"
    assert check(compose(["loss.content_norm=paper"])).objective.content.norm == "paper"
    assert check(compose(["loss=paper"])).objective.content.norm == "paper"
    assert check(compose(["content_loss.norm=paper"])).objective.content.norm == "paper"
    assert "content_term" not in compose([]).loss
    chosen = check(compose(["content_loss=self_similarity", "content_loss.positions=64"]))
    assert isinstance(chosen.objective.content, SelfSimilarityLoss)
    assert chosen.objective.content.positions == 64 and chosen.objective.redraws


# --- real runs (Caffe VGG19, tiny images) ---------------------------------------------------------


@pytest.mark.slow
def test_self_similarity_lowers_its_loss_on_real_weights(compose, tiny_images, tmp_path):
    """A reconstruction from noise by the self-similarity term alone: the content term falls."""
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "size=64", "iterations=10",
                   "task=reconstruct_content", "init=noise", "content_loss=self_similarity",
                   "content_loss.positions=256", "snapshot_every=5", *TINY])  # fmt: skip
    metrics = run(cfg, tmp_path / "ss")
    assert metrics["status"] == "completed"
    term = csv_column(tmp_path / "ss" / "losses.csv", "loss/content")
    assert len(term) == 10 and term[-1] < 0.7 * term[0]  # re-drawn positions: a noisy fall
    assert Image.open(tmp_path / "ss" / "final.png").size == (64, 48)
    assert (tmp_path / "ss" / "snapshots" / "step_00005.png").is_file()


@pytest.mark.slow
def test_a_run_recorded_before_the_groups_resumes_as_it_ran(compose, tiny_images, tmp_path):
    """An older run's config has loss.content_term and no param/content_loss, its checkpoint the
    parameter under "image": resumed, it is the straight run, pixel for pixel."""
    content, style = tiny_images
    base = [f"content={content}", f"style={style}", "size=32", "init=noise", "snapshot_every=0",
            "checkpoint=always", *TINY]  # fmt: skip
    run(compose([*base, "iterations=3"]), tmp_path / "old")
    old_cfg = OmegaConf.create(OmegaConf.to_container(compose([*base, "iterations=3"])))
    del old_cfg["param"], old_cfg["content_loss"]
    old_cfg.loss.content_term = {
        "_target_": "nst_research.loss.terms.ContentLoss", "norm": "${loss.content_norm}"
    }  # fmt: skip
    (tmp_path / "old" / ".hydra").mkdir()
    OmegaConf.save(old_cfg, tmp_path / "old" / ".hydra" / "config.yaml")
    ckpt = tmp_path / "old" / "checkpoint.ckpt"
    saved = torch.load(ckpt, weights_only=False)
    saved["state_dict"] = {"image": saved["state_dict"].pop("param")}
    torch.save(saved, ckpt)

    cfg, resume_from = resume_config(
        OmegaConf.create({"resume": str(tmp_path / "old"), "iterations": 6}), ["iterations=6"]
    )
    assert cfg.param._target_.endswith("Pixels") and "content_term" not in cfg.loss
    assert cfg.content_loss.norm == "mse"
    run(cfg, tmp_path / "resumed", resume_from=resume_from)
    run(compose([*base, "iterations=6"]), tmp_path / "straight")
    images = [Image.open(tmp_path / d / "final.png").tobytes() for d in ("resumed", "straight")]
    assert images[0] == images[1]
    lines = [(tmp_path / d / "losses.csv").read_text() for d in ("resumed", "straight")]
    assert lines[0] == lines[1]


MY_LOSS = '''
"""A user's content loss for the test: squared distance of the per-channel means."""
from nst_research.loss.terms import FeatureLoss


class MeanContent(FeatureLoss):
    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def distance(self, features, target):
        return self.scale * (features.mean((2, 3)) - target.mean((2, 3))).pow(2).sum()
'''


@pytest.mark.slow
def test_a_new_content_loss_is_one_class_and_one_yaml(compose, tiny_images, tmp_path, monkeypatch):
    """The extension point end to end, from a user's NST_CONFIG_DIR and module alone."""
    code = tmp_path / "user_code"
    code.mkdir()
    (code / "user_content_mine.py").write_text(textwrap.dedent(MY_LOSS))
    monkeypatch.syspath_prepend(str(code))
    conf = tmp_path / "user_conf" / "content_loss"
    conf.mkdir(parents=True)
    (conf / "mine.yaml").write_text(
        "# Per-channel feature means.\n_target_: user_content_mine.MeanContent\nscale: 2.0\n"
    )
    monkeypatch.setenv("NST_CONFIG_DIR", str(tmp_path / "user_conf"))
    content, style = tiny_images
    cfg = compose([f"content={content}", f"style={style}", "size=32", "iterations=6",
                   "task=reconstruct_content", "init=noise", "content_loss=mine",
                   "snapshot_every=3", *TINY])  # fmt: skip
    assert cfg.content_loss.scale == 2.0
    metrics = run(cfg, tmp_path / "mine")
    assert metrics["status"] == "completed"
    term = csv_column(tmp_path / "mine" / "losses.csv", "loss/content")
    assert term[-1] < 0.5 * term[0]
    assert (tmp_path / "mine" / "final.png").is_file()
    assert (tmp_path / "mine" / "snapshots" / "step_00003.png").is_file()
