"""The benchmark's metrics (nst_research.evaluation): CFSD, RGB-uv histogram distance, the
random-VGG19 ratios, and a learned metric whose weights are absent."""

from __future__ import annotations

import math

import pytest
import torch

from nst_research.evaluation.cfsd import CFSD, EVAL_CFSD, cfsd, patch_similarity_log_softmax
from nst_research.evaluation.histogram import HistogramDistance, hellinger, rgbuv_histogram
from nst_research.evaluation.learned import LPIPS
from nst_research.evaluation.metrics import Scorer
from nst_research.evaluation.random_net import (
    EVAL_RANDOM_CONTENT,
    EVAL_RANDOM_STYLE,
    RandomNetDistance,
    random_vgg19,
)


def _image(seed: int, h: int = 32, w: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.linspace(0, 1, w).expand(h, w)
    noise = torch.rand(3, h, w, generator=g)
    return (0.6 * base + 0.4 * noise).clamp(0, 1).unsqueeze(0)


def test_cfsd_by_hand_on_two_positions():
    # one channel, two positions a, b: S = [[a^2, ab], [ab, b^2]] (C = 1), row softmaxes
    content = torch.tensor([1.0, 2.0]).reshape(1, 1, 1, 2)
    output = torch.tensor([2.0, 0.5]).reshape(1, 1, 1, 2)

    def rows(a, b):
        s = [[a * a, a * b], [a * b, b * b]]
        return [[math.exp(v) / sum(math.exp(u) for u in r) for v in r] for r in s]

    p, q = rows(1.0, 2.0), rows(2.0, 0.5)
    expected = sum(p[i][j] * math.log(p[i][j] / q[i][j]) for i in range(2) for j in range(2))
    assert cfsd(content, output) == pytest.approx(expected, rel=1e-9)
    logp = patch_similarity_log_softmax(content)
    torch.testing.assert_close(logp.exp().sum(1), torch.ones(2))


def test_cfsd_zero_for_itself_positive_for_a_shuffle():
    # activations of the size of real ones (the similarities are divided by C: tiny features give
    # near-uniform maps and a near-zero CFSD whatever the order)
    f = 20 * torch.rand(1, 8, 6, 5, generator=torch.Generator().manual_seed(0))
    assert cfsd(f, f) == pytest.approx(0.0, abs=1e-12)
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(1))
    shuffled = f.reshape(1, 8, 30)[..., perm].reshape(1, 8, 6, 5)
    assert cfsd(f, shuffled) > 1.0


@pytest.mark.slow
def test_cfsd_metric_on_the_reference_network():
    image = _image(0)
    scorer = Scorer(image, _image(1), {"cfsd": CFSD()})
    assert scorer(image.clone())[EVAL_CFSD] == pytest.approx(0.0, abs=1e-6)
    perm = torch.randperm(32 * 32, generator=torch.Generator().manual_seed(2))
    shuffled = image.reshape(1, 3, -1)[..., perm].reshape(1, 3, 32, 32)
    assert scorer(shuffled)[EVAL_CFSD] > 1.0


def test_histogram_sums_to_one_and_distance_is_zero_to_itself_and_symmetric():
    a, b = _image(0), _image(3).flip(1)  # other colours
    ha, hb = rgbuv_histogram(a), rgbuv_histogram(b)
    assert ha.shape == (3, 64, 64)
    assert float(ha.sum()) == pytest.approx(1.0, abs=1e-5)
    assert hellinger(ha, ha) == pytest.approx(0.0, abs=1e-12)
    assert hellinger(ha, hb) == pytest.approx(hellinger(hb, ha), rel=1e-12)
    assert 0.0 < hellinger(ha, hb) <= 1.0
    metric = HistogramDistance()
    scorer = Scorer(a, a, {"histogram": metric})
    assert scorer(a.clone())["eval/hist_rgbuv"] == pytest.approx(0.0, abs=1e-6)


def test_hellinger_of_disjoint_histograms_is_one():
    h = torch.zeros(3, 4, 4)
    k = torch.zeros(3, 4, 4)
    h[0, 0, 0], k[1, 2, 2] = 1.0, 1.0
    assert hellinger(h, k) == pytest.approx(1.0)


@pytest.mark.slow
def test_random_vgg19_is_seeded_and_the_ratios_are_anchored():
    a, b, c = random_vgg19(0, "cpu"), random_vgg19(0, "cpu"), random_vgg19(1, "cpu")
    w = a.features[0].weight
    assert a is b and not torch.equal(w, c.features[0].weight)
    random_vgg19.cache_clear()
    torch.testing.assert_close(random_vgg19(0, "cpu").features[0].weight, w)
    content, style = _image(0), _image(5).flip(1)
    scorer = Scorer(content, style, {"random": RandomNetDistance(seed=0)})
    scores = scorer(content.clone())  # the unstylised content: style ratio 1, content ratio 0
    assert scores[EVAL_RANDOM_STYLE] == pytest.approx(1.0, rel=1e-5)
    assert scores[EVAL_RANDOM_CONTENT] == pytest.approx(0.0, abs=1e-9)


def test_learned_metric_without_weights_is_one_skipped_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NST_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    metric = LPIPS(weights=str(tmp_path / "none"))
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("eval/lpips skipped: no checkpoints/alexnet")
    assert metric.keys == ()
    image = _image(0)
    assert Scorer(image, image, {"lpips": metric})(image) == {}
