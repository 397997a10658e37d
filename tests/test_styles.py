"""Several styles (Gatys et al. 2017): style=[a,b] with style_blend weights."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from nst_research.controls.styles import StyleSet
from nst_research.engine.parts import check
from nst_research.errors import ConfigError
from nst_research.loss.functional import gram_matrix
from nst_research.loss.style import MeanStdLoss
from nst_research.loss.terms import GramLoss


def _feats(seed: int, shape=(1, 4, 6, 8)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("make", [lambda: GramLoss("chw", "mean"), lambda: MeanStdLoss()])
def test_the_blend_is_the_weighted_sum_of_each_style_loss(make):
    x, s0, s1 = _feats(0), _feats(1), _feats(2, (1, 4, 5, 5))
    one, two = make(), make()
    one.set_targets({"l": s0}, ["l"])
    two.set_targets({"l": s1}, ["l"])
    blend = StyleSet(make(), [0.7, 0.3])
    blend.set_style_targets(0, {"l": s0}, ["l"])
    blend.set_style_targets(1, {"l": s1}, ["l"])
    assert torch.allclose(blend(x, "l"), 0.7 * one(x, "l") + 0.3 * two(x, "l"), atol=1e-7)
    only_first = StyleSet(make(), [1.0, 0.0])
    only_first.set_style_targets(0, {"l": s0}, ["l"])  # style 1 is unused: no targets needed
    assert not only_first.used(1)
    assert torch.equal(only_first(x, "l"), one(x, "l"))


def test_for_grams_the_blend_has_the_gradient_of_the_blended_target():
    """sum_i w_i ||G - A_i||^2 = ||G - sum_i w_i A_i||^2 + const when sum_i w_i = 1."""
    s0, s1 = _feats(3), _feats(4)
    blend = StyleSet(GramLoss("chw", "sum"), [0.25, 0.75])
    blend.set_style_targets(0, {"l": s0}, ["l"])
    blend.set_style_targets(1, {"l": s1}, ["l"])
    mixed = GramLoss("chw", "sum")
    mixed.register_buffer("target_l", 0.25 * gram_matrix(s0) + 0.75 * gram_matrix(s1))
    x = _feats(5).requires_grad_()
    (g_blend,) = torch.autograd.grad(blend(x, "l"), x)
    (g_mixed,) = torch.autograd.grad(mixed(x, "l"), x)
    assert torch.allclose(g_blend, g_mixed, atol=1e-6)


def test_style_lists_and_weights_are_read_from_the_config(compose):
    parts = check(compose(["style=[a.jpg,b.jpg,c.jpg]"]))
    assert isinstance(parts.objective.style, StyleSet)
    assert parts.objective.style.weights == pytest.approx([1 / 3] * 3)
    parts = check(compose(["style=[a.jpg,b.jpg]", "style_blend=[0.7,0.3]"]))
    assert parts.objective.style.weights == [0.7, 0.3] and not parts.objective.style.guided
    assert type(check(compose(["style=a.jpg"])).objective.style) is GramLoss  # one style: as before
    assert type(check(compose(["style=[a.jpg]"])).objective.style) is GramLoss


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["style=[a.jpg,b.jpg]", "style_blend=[1.0]"], "style_blend has 1 weights for 2 style images"),
        # one style: a blend weights nothing (issue 22 refuses it whatever its length)
        (["style_blend=[0.5,0.5]"], "weights the styles of a list, and there is one style"),
        (["style=[a.jpg,b.jpg]", "style_blend=[1.0,-0.5]"], "style_blend\\[1\\]=-0.5 must be a finite"),
        (["style=[a.jpg,b.jpg]", "style_blend=[0,0]"], "style_blend=\\[0, 0\\] sums to 0"),
        (["style=[]"], "must be an image path or a list of them"),
    ],
)  # fmt: skip
def test_style_blend_errors_are_one_line(compose, overrides, match):
    with pytest.raises(ConfigError, match=match) as e:
        check(compose(overrides))
    assert "\n" not in str(e.value)


def test_a_bad_blend_exits_2_on_the_command_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", "style=[a.jpg,b.jpg]", "style_blend=[1,2,3]",
         f"hydra.run.dir={tmp_path}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: style_blend has 3 weights for 2 style images; give one weight per style "
        "(style_blend=[0.7,0.3]) or null for equal weights"
    ]


@pytest.mark.slow
def test_weights_one_and_zero_give_the_first_style_alone(tmp_path, tiny_images, monkeypatch):
    """32 px, 3 L-BFGS iterations on real weights: style=[a,b] style_blend=[1,0] writes the same
    pixels and losses as style=a; each style's targets are computed once per run."""
    from nst_research.configs.compose import compose
    from nst_research.run import run

    content, style = tiny_images
    calls: list[int] = []
    original = StyleSet.set_style_targets

    def counted(self, index, features, layers):
        calls.append(index)
        original(self, index, features, layers)

    monkeypatch.setattr(StyleSet, "set_style_targets", counted)
    common = [f"content={content}", "size=32", "iterations=3", "logger=none", "eval=[]",
              "trainer.progress_bar=false", "snapshot_every=0"]  # fmt: skip
    alone = run(compose([*common, f"style={style}"]), tmp_path / "alone")
    both = run(
        compose([*common, f"style=[{style},{content}]", "style_blend=[1,0]"]), tmp_path / "b"
    )
    assert calls == [0]  # the weight-0 style needs no targets
    assert alone["final_losses"] == both["final_losses"]
    assert (tmp_path / "alone" / "final.png").read_bytes() == (
        tmp_path / "b" / "final.png"
    ).read_bytes()
    calls.clear()
    mixed = run(compose([*common, f"style=[{style},{content}]"]), tmp_path / "mixed")
    assert calls == [0, 1] and mixed["hashes"]["style_1"] != mixed["hashes"]["style"]
    assert mixed["final_losses"] != alone["final_losses"]
