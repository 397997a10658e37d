"""Loss terms as modules: the same numbers as the pure functions, chosen by config, extensible."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from nst_research.configs.names import (
    LOSS_CONTENT,
    LOSS_STYLE,
    LOSS_TOTAL,
    LOSS_TV,
    style_layer_key,
)
from nst_research.engine.parts import check
from nst_research.errors import ConfigError
from nst_research.loss.functional import content_loss, gram_matrix, style_loss, tv_loss
from nst_research.loss.terms import ContentLoss, FeatureLoss, GramLoss, Objective, TVLoss


def features(seed: int, c: int = 4, hw: int = 5) -> torch.Tensor:
    return torch.randn(1, c, hw, hw, generator=torch.Generator().manual_seed(seed))


def test_gram_term_is_the_pure_style_loss():
    target, x = features(0), features(1)
    term = GramLoss("paper", "sum")
    term.set_targets({"a": target}, ["a"])
    assert_close(term.target("a"), gram_matrix(target, "paper"))
    assert_close(term(x, "a"), style_loss(x, gram_matrix(target, "paper"), "paper", "sum"))
    assert term(target, "a").item() == 0.0
    assert "norm='paper', reduction='sum'" in repr(term)


def test_objective_sums_weighted_terms():
    feats = {"a": features(1), "b": features(2, c=3)}
    targets = {"a": features(3), "b": features(4, c=3)}
    image = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    objective = Objective(
        {"a": 1.0},
        {"a": 0.25, "b": 0.75},
        ContentLoss("paper"),
        GramLoss("chw", "mean"),
        TVLoss("l1"),
        content_weight=2.0,
        style_weight=10.0,
        tv_weight=0.5,
    )
    objective.content.set_targets(targets, ["a"])
    objective.style.set_targets(targets, ["a", "b"])
    losses = objective(feats, image)
    s_a = 0.25 * style_loss(feats["a"], gram_matrix(targets["a"]), "chw", "mean")
    s_b = 0.75 * style_loss(feats["b"], gram_matrix(targets["b"]), "chw", "mean")
    c = content_loss(feats["a"], targets["a"], "paper")
    assert_close(losses[style_layer_key("b")], s_b)
    assert_close(losses[LOSS_STYLE], s_a + s_b)
    assert_close(losses[LOSS_CONTENT], c)
    assert_close(losses[LOSS_TV], tv_loss(image, "l1"))
    assert_close(losses[LOSS_TOTAL], 2.0 * c + 10.0 * (s_a + s_b) + 0.5 * tv_loss(image, "l1"))
    assert objective.layers() == ["a", "b"]


def test_zero_weight_drops_the_term_and_its_layers():
    objective = Objective({"a": 1.0}, {"b": 1.0}, ContentLoss(), GramLoss(), TVLoss(), 1.0, 0.0)
    assert objective.style_layers == {} and objective.layers() == ["a"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: GramLoss(norm="bogus"), "unknown loss.gram_norm='bogus'"),
        (lambda: GramLoss(reduction="max"), "unknown loss.style_reduction='max'"),
        (lambda: ContentLoss(norm="l3"), "unknown loss.content_norm='l3'"),
        (lambda: TVLoss(kind="l3"), "unknown loss.tv='l3'"),
    ],
)
def test_term_options_are_checked_when_built(make, match):
    with pytest.raises(ConfigError, match=match) as e:
        make()
    assert "\n" not in str(e.value) and "choose one of" in str(e.value)


def test_style_loss_group_and_old_loss_keys_agree(compose):
    """style_loss=gram reads loss.gram_norm / loss.style_reduction; its own keys override them."""
    via_loss = check(compose(["loss.gram_norm=hw", "loss.style_reduction=sum"])).objective
    via_group = check(compose(["style_loss.norm=hw", "style_loss.reduction=sum"])).objective
    paper = check(compose(["loss=paper"])).objective
    for objective in (via_loss, via_group):
        assert isinstance(objective.style, GramLoss)
        assert (objective.style.norm, objective.style.reduction) == ("hw", "sum")
    assert (paper.style.norm, paper.style.reduction, paper.content.norm) == (
        "paper",
        "sum",
        "paper",
    )
    assert paper.tv_weight == 0.0 and paper.content_weight == 1.0 and paper.style_weight == 1e3


class MeanLoss(FeatureLoss):
    """A new style statistic for the test: squared distance of per-channel means."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def statistic(self, features: torch.Tensor) -> torch.Tensor:
        return features.mean(dim=(2, 3))

    def distance(self, features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.scale * (self.statistic(features) - target).pow(2).sum()


@pytest.mark.slow
def test_a_new_style_loss_is_one_class_and_one_yaml(tmp_path, tiny_images, monkeypatch):
    """The extension point end to end: a class + conf/style_loss/<name>.yaml in a user config dir,
    chosen with style_loss=<name>, runs on real weights and its term falls."""
    import csv

    from nst_research.configs.compose import compose
    from nst_research.run import run

    user_conf = tmp_path / "user_conf" / "style_loss"
    user_conf.mkdir(parents=True)
    (user_conf / "mean.yaml").write_text("_target_: tests.test_terms.MeanLoss\nscale: 2.0\n")
    monkeypatch.setenv("NST_CONFIG_DIR", str(tmp_path / "user_conf"))
    content, style = tiny_images
    cfg = compose(
        [f"content={content}", f"style={style}", "size=32", "iterations=8", "logger=none",
         "style_loss=mean", "trainer.progress_bar=false", "loss.style_weight=1e4"]
    )  # fmt: skip
    assert cfg.style_loss.scale == 2.0
    metrics = run(cfg, tmp_path / "run")
    assert metrics["status"] == "completed"
    with open(tmp_path / "run" / "losses.csv") as f:
        style_curve = [float(row[LOSS_STYLE]) for row in csv.DictReader(f)]
    assert style_curve[-1] < 0.5 * style_curve[0]
