"""STROTSS's terms on hypercolumns of all their layers at once
(nst_research/methods/hypercolumn_terms.py) and how the Objective calls them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nst_research.configs.names import LOSS_STYLE, style_layer_key
from nst_research.errors import ConfigError
from nst_research.loss.content import SelfSimilarityLoss
from nst_research.loss.terms import ContentLoss, Objective, TVLoss
from nst_research.methods.hypercolumn_terms import HypercolumnREMD, HypercolumnSelfSimilarity
from nst_research.methods.terms import RelaxedEMDLoss


def _feats(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.rand(1, 3, 6, 8, generator=g), "b": torch.rand(1, 5, 3, 4, generator=g)}


def test_one_layer_is_the_per_layer_term():
    x, s = _feats(0)["a"], _feats(1)["a"]
    hyper = HypercolumnREMD(positions=None, feature_scale=1.0)  # the per-layer term's moments
    per_layer = RelaxedEMDLoss(positions=None, scale=1.0)
    for term in (hyper, per_layer):
        term.set_targets({"a": s}, ["a"])
    torch.testing.assert_close(hyper.forward_all({"a": x}, {"a": 1.0}), per_layer(x, "a"))
    content, per_layer = HypercolumnSelfSimilarity(positions=None), SelfSimilarityLoss(None)
    for term in (content, per_layer):
        term.set_targets({"a": s}, ["a"])
    torch.testing.assert_close(content.forward_all({"a": x}, {"a": 1.0}), per_layer(x, "a"))


def test_hypercolumns_of_the_target_itself_are_the_floor():
    feats = _feats()
    remd = HypercolumnREMD(positions=None, moment_weight=0.0)
    remd.set_targets(feats, ["a", "b"])
    layers = {"a": 0.5, "b": 0.5}
    assert remd.forward_all(feats, layers).item() == pytest.approx(0.0, abs=1e-6)
    content = HypercolumnSelfSimilarity(positions=16)
    content.set_targets(feats, ["a", "b"])
    assert content.forward_all(feats, layers).item() == pytest.approx(0.0, abs=1e-6)
    other = {k: v.flip(-1) for k, v in feats.items()}
    assert content.forward_all(other, layers).item() > 0  # the layout changed


def test_the_objective_calls_a_whole_term_once_with_every_layer():
    feats = _feats()
    style = HypercolumnREMD(positions=8)
    objective = Objective({"a": 1.0}, {"a": 0.5, "b": 0.5}, ContentLoss(), style, TVLoss(), 1, 2)
    objective.set_content_targets(feats, torch.zeros(1, 3, 6, 8))
    objective.set_style_targets(0, _feats(1))
    objective.set_step(0)
    losses = objective(feats, torch.zeros(1, 3, 6, 8))
    style.set_step(0)
    torch.testing.assert_close(losses[LOSS_STYLE], style.forward_all(feats, {"a": 0.5, "b": 0.5}))
    assert style_layer_key("a") not in losses  # one term of all layers: no per-layer values
    with pytest.raises(ConfigError, match="hypercolumns"):
        style(feats["a"], "a")  # a StyleSet would call it per layer


def test_several_styles_with_a_hypercolumn_term_are_the_term_itself(compose, monkeypatch):
    """remd_hypercolumn holds several styles and the masks itself (no per-layer StyleSet); a
    whole style term that cannot is refused in one line."""
    from nst_research.engine import parts as parts_mod
    from nst_research.engine.parts import check

    cfg = compose(["style_loss=remd_hypercolumn", "style=[builtin:swirls,builtin:swirls]",
                   "style_blend=[0.25,0.75]"])  # fmt: skip
    term = check(cfg).objective.style
    assert isinstance(term, HypercolumnREMD) and term.weights == [0.25, 0.75]
    assert term.n_styles == 2 and not term.guided

    class OneStyle(HypercolumnSelfSimilarity):  # whole, without set_styles
        pass

    monkeypatch.setattr(parts_mod, "instantiate_choice", lambda node, key: OneStyle())
    with pytest.raises(ConfigError, match="takes one style and no masks"):
        parts_mod.style_term(cfg, [0.5, 0.5])


def test_nnst_fit_is_zero_when_output_content_and_style_agree_and_gets_the_style():
    from nst_research.methods.hypercolumn_terms import NeighbourFit

    feats = _feats()
    fit = NeighbourFit(positions=None, style_positions=None)
    objective = Objective({"a": 0.5, "b": 0.5}, {}, fit, HypercolumnREMD(), TVLoss(), 1, 0)
    assert objective.wants_style(0) and not objective.wants_style(1)  # no style term, yet
    objective.set_content_targets(feats, torch.zeros(1, 3, 6, 8))
    objective.set_style_targets(0, feats)  # the content term takes the style's features
    objective.set_step(0)
    losses = objective(feats, torch.zeros(1, 3, 6, 8))
    assert losses["loss/content"].item() == pytest.approx(0.0, abs=1e-5)
    moved = {k: v.flip(-1) for k, v in feats.items()}  # the stage started at `feats`
    assert objective(moved, torch.zeros(1, 3, 6, 8))["loss/content"].item() > 1e-3
    with pytest.raises(ConfigError, match="content_loss.alpha"):
        NeighbourFit(alpha=1.5)


@settings(max_examples=40, deadline=None)
@given(c=st.floats(1e-3, 1e3), seed=st.integers(0, 50))
def test_auto_feature_scale_makes_the_style_term_scale_free(c, seed):
    """With ``feature_scale=auto`` the term is the same whatever the features' magnitude (the
    Caffe VGG19's ~190 or a network's ~1): cosine costs do not see it, and the moments are taken
    at f = 1 / the style's mean entry; a fixed f = 1 grows with the magnitude (as c²)."""
    x, s = _feats(seed), _feats(seed + 100)
    layers = {"a": 0.5, "b": 0.5}

    def value(term, k):
        term.set_targets({n: k * v for n, v in s.items()}, ["a", "b"])
        term.reseed(0)
        return term.forward_all({n: k * v for n, v in x.items()}, layers).item()

    auto = HypercolumnREMD(positions=None)
    assert value(auto, c) == pytest.approx(value(auto, 1.0), rel=1e-3, abs=1e-6)
    means = torch.cat([(0.5 * 2 * v).abs().mean(dim=(0, 2, 3)) for v in s.values()])
    auto.set_targets(s, ["a", "b"])
    assert auto.moment_scale(auto.targets(layers)) == pytest.approx(1 / means.mean().item())
    fixed = HypercolumnREMD(positions=None, feature_scale=1.0)
    if c > 10:
        assert value(fixed, c) > 10 * value(fixed, 1.0)
