"""``task=texture`` is scored as a texture: no content image, style metrics, the style's aspect."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from nst_research.configs.names import EVAL_COLOUR, EVAL_STYLE_DISTANCE, EVAL_STYLE_RATIO
from nst_research.engine.parts import check


def test_texture_has_no_content_metrics_and_the_style_objective(compose) -> None:
    parts = check(compose(["task=texture"]))
    assert sorted(parts.eval) == ["colour", "style"]  # content and ssim are left out
    assert parts.objective_weights == {EVAL_STYLE_RATIO: 1.0}
    stylize = check(compose([]))  # the default task keeps them all
    assert sorted(stylize.eval) == ["colour", "content", "ssim", "style"]
    assert len(stylize.objective_weights) == 2


@pytest.mark.slow
def test_texture_canvas_has_the_styles_aspect_and_no_content(compose, tmp_path) -> None:
    from nst_research.run import run

    style = tmp_path / "wide.png"
    Image.new("RGB", (96, 48), (200, 30, 30)).save(style)  # 2:1, unlike the default content
    cfg = compose([f"style={style}", "task=texture", "size=64", "iterations=2", "logger=none",
                   "trainer.progress_bar=false", "eval=[style]"])  # fmt: skip
    metrics = run(cfg, tmp_path / "run")
    assert metrics["image_size"] == [32, 64]  # size= as the long side, the style's aspect
    assert Image.open(tmp_path / "run" / "final.png").size == (64, 32)
    assert set(metrics["eval"]) == {EVAL_STYLE_DISTANCE, EVAL_STYLE_RATIO}
    assert metrics["objective"] == metrics["eval"][EVAL_STYLE_RATIO]
    assert "content" not in metrics["inputs"] and "content" not in metrics["hashes"]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert EVAL_COLOUR not in saved["eval"]
