"""The style_loss options beyond gram: analytic values on hand-built features, finite gradients,
one-line option errors, the seed reaching the random terms, and real-weights runs."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from omegaconf import OmegaConf
from torch.testing import assert_close

from nst_research.configs.names import LOSS_STYLE
from nst_research.engine.parts import check
from nst_research.errors import ConfigError
from nst_research.loss.functional import gaussian_fit, mmd2_gaussian, points, quantiles
from nst_research.loss.seeded import SeededLoss
from nst_research.loss.style import (
    MeanStdLoss,
    MMDLoss,
    MRFLoss,
    SlicedWassersteinLoss,
    WassersteinLoss,
)
from nst_research.loss.terms import GramLoss
from tests.conftest import REPO

OPTIONS = ["mean_std", "mmd", "wasserstein", "sliced_wasserstein", "mrf"]
SEEDED = ("mmd", "sliced_wasserstein")  # the options that draw at random


def features(seed: int, c: int = 4, h: int = 5, w: int = 6) -> torch.Tensor:
    return torch.randn(1, c, h, w, generator=torch.Generator().manual_seed(seed)).double()


def value(term, target: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    term.set_targets({"a": target}, ["a"])
    return term(x, "a")


TERMS = {
    "mean_std": lambda: MeanStdLoss(),
    "mmd_linear": lambda: MMDLoss("linear"),
    "mmd_poly": lambda: MMDLoss("poly", c=0.5),
    "mmd_gaussian": lambda: MMDLoss("gaussian", positions=None),
    "wasserstein": lambda: WassersteinLoss(),
    "sliced_wasserstein": lambda: SlicedWassersteinLoss(projections=7),
    "mrf": lambda: MRFLoss(stride=1),
}


@pytest.mark.parametrize("name", TERMS)
def test_identical_features_give_zero(name):
    f = features(0)
    assert abs(value(TERMS[name](), f, f).item()) < 1e-10


@pytest.mark.parametrize("name", TERMS)
def test_gradients_are_finite(name):
    x = features(1).requires_grad_()
    value(TERMS[name](), features(2, h=4, w=7), x).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_mean_std_of_a_shift_and_a_scaling():
    """x = s + d_c: only the means move, E = sum_c d_c^2 / C; x = a s (zero-mean s): the stds."""
    s = features(3)
    d = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=s.dtype).view(1, 4, 1, 1)
    assert_close(value(MeanStdLoss(scale=2.0), s, s + d), 2.0 * d.pow(2).sum() / 4)
    s0 = s - s.mean(dim=(2, 3), keepdim=True)
    sigma = (s0.var(dim=(2, 3), correction=0) + 1e-5).sqrt()
    sigma3 = (9 * s0.var(dim=(2, 3), correction=0) + 1e-5).sqrt()
    assert_close(value(MeanStdLoss(), s0, 3 * s0), (sigma3 - sigma).pow(2).sum() / 4)


def test_wasserstein_of_a_shift_and_a_scaling():
    """W2^2(N(mu + d, S), N(mu, S)) = |d|^2; W2^2(N(mu, a^2 S), N(mu, S)) = (1 - a)^2 tr(S)."""
    s = features(4, c=3, h=6, w=6)
    d = torch.tensor([1.0, -2.0, 0.5], dtype=s.dtype).view(1, 3, 1, 1)
    assert_close(value(WassersteinLoss(), s, s + d), d.pow(2).sum())
    mu = s.mean(dim=(2, 3), keepdim=True)
    _, cov = gaussian_fit(s)
    expected = (1 - 2.5) ** 2 * cov.diagonal(dim1=-2, dim2=-1).sum()
    assert_close(value(WassersteinLoss(scale=3.0), s, mu + 2.5 * (s - mu)), 3.0 * expected)
    # reduction=mean (crowsonkb's, method=ck): per channel, the sum / C
    assert_close(value(WassersteinLoss(reduction="mean"), s, s + d), d.pow(2).sum() / 3)
    with pytest.raises(ConfigError, match="style_loss.reduction"):
        WassersteinLoss(reduction="max")


def test_wasserstein_gradient_at_identical_and_singular_covariances():
    """S_x == S_s (the positions shuffled), and C > M (rank-deficient covariances): finite."""
    s = features(5, c=6, h=2, w=2)  # 4 positions, 6 channels
    x = s.flatten(2)[..., torch.tensor([2, 0, 3, 1])].reshape(s.shape).requires_grad_()
    loss = value(WassersteinLoss(), s, x)
    loss.backward()
    # 0 up to float64 rounding: the zero eigenvalues' rounding (~1e-16) has a root of ~1e-8
    assert abs(loss.item()) < 1e-6 * gaussian_fit(s)[1].diagonal(dim1=-2, dim2=-1).sum()
    assert torch.isfinite(x.grad).all()


def test_mmd_poly_is_the_gram_loss():
    """k(x, y) = (x^T y)^2 (Li et al. 2017): MMD^2 = ||G_x/M - G_s/N||^2 exactly, whatever M, N."""
    s, x = features(6, h=5, w=6), features(7, h=4, w=3)
    mmd = value(MMDLoss("poly", c=0.0), s, x)
    assert_close(mmd, value(GramLoss("hw", "sum"), s, x))
    assert_close(mmd, 4**4 * value(GramLoss("chw", "mean"), s, x))  # the default gram: x C^4
    assert_close(mmd, 4 * 4**2 * value(GramLoss("paper", "sum"), s, x))  # Gatys' E_l: x 4 C^2
    linear = value(MMDLoss("linear"), s, x)
    assert_close(linear, (points(x).mean(1) - points(s).mean(1)).pow(2).sum())
    assert_close(value(MMDLoss("poly", c=1.5, scale=2.0), s, x), 2.0 * (mmd + 3.0 * linear))


def test_mmd_gaussian_of_two_points():
    """s = {0, a}, x = {0, 0}: the pooled {0, 0, 0, a} have D = mean_pairs |p - p'|^2 = 3 |a|^2 / 8,
    k(0, a) = e = exp(-|a|^2 / (bandwidth D)); MMD^2 = 1 + (2 + 2e) / 4 - 2 (1 + e) / 2 = (1 - e) / 2.
    """
    s = torch.tensor([[0.0, 1.0], [0.0, 2.0], [0.0, -1.0]]).view(1, 3, 1, 2)
    x = torch.zeros(1, 3, 1, 2)
    for bandwidth in (0.5, 1.0, 4.0):
        e = math.exp(-8 / (3 * bandwidth))
        got = value(MMDLoss("gaussian", bandwidth=bandwidth), s, x)
        assert_close(got, torch.tensor((1 - e) / 2))
    one = torch.zeros(1, 1, 3)
    assert_close(mmd2_gaussian(one, one + 2.0, 3.0), torch.tensor(2 - 2 * math.exp(-12 / 3)))


def test_mmd_gaussian_subsamples_reproducibly():
    s, x = features(8, h=8, w=8), features(9, h=8, w=8)
    term = MMDLoss("gaussian", positions=16)
    term.set_targets({"a": s}, ["a"])
    term.reseed(1)
    first = term(x, "a")
    assert_close(term(x, "a"), first)
    term.set_step(1)
    assert term(x, "a").item() != first.item()


def test_sliced_wasserstein_of_a_shift_is_the_mean_squared_projection():
    """x = s + d: every projection moves by v^T d, so E = mean_v (v^T d)^2 (Heitz et al. 2021)."""
    s = features(10)
    d = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=s.dtype)
    term = SlicedWassersteinLoss(projections=5, scale=2.0)
    term.reseed(3)
    term.set_step(4)
    got = value(term, s, s + d.view(1, 4, 1, 1))
    dirs = term.directions(4, term.generator("a")).double()
    assert dirs.shape == (4, 5)
    assert_close(got, 2.0 * (d @ dirs).pow(2).mean())


def test_sliced_wasserstein_is_reproducible_for_a_seed_and_redrawn_each_step():
    s, x = features(11), features(12)

    def at(seed: int, step: int) -> float:
        term = SlicedWassersteinLoss(projections=3)
        term.reseed(seed)
        term.set_step(step)
        return value(term, s, x).item()

    assert at(0, 0) == at(0, 0) and at(5, 7) == at(5, 7)
    assert at(0, 1) != at(0, 0) and at(1, 0) != at(0, 0)


def test_sliced_wasserstein_compares_quantiles_of_unequal_sizes():
    """The style's points each twice: the same distribution, so 0 at any direction."""
    x = features(13, h=3, w=4)
    s = torch.cat([x, x], dim=-1)
    assert abs(value(SlicedWassersteinLoss(), s, x).item()) < 1e-12
    assert_close(quantiles(torch.arange(4.0), 2), torch.tensor([0.5, 2.5]))


def test_mrf_matches_by_normalised_cross_correlation():
    """Style 1x1 patches (1, 0) and (10, 10); x = (2, 1.5) is nearer (1, 0) in L2 but at a smaller
    angle to (10, 10), which Li & Wand's NCC picks: E = 8^2 + 8.5^2 (sum), / 2 entries (mean)."""
    s = torch.tensor([[1.0, 10.0], [0.0, 10.0]]).view(1, 2, 1, 2)
    x = torch.tensor([2.0, 1.5]).view(1, 2, 1, 1)
    assert_close(
        value(MRFLoss(patch_size=1, stride=1, reduction="sum"), s, x), torch.tensor(136.25)
    )
    assert_close(value(MRFLoss(patch_size=1, stride=1), s, x), torch.tensor(136.25 / 2))


def test_mrf_refuses_layers_smaller_than_a_patch():
    with pytest.raises(ConfigError, match="smaller than style_loss.patch_size=3"):
        value(MRFLoss(), features(0, h=2, w=8), features(0))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MMDLoss(kernel="cubic"), "unknown style_loss.kernel='cubic'; choose one of"),
        (lambda: MMDLoss(c=-1.0), "style_loss.c=-1.0 must be"),
        (lambda: MMDLoss(bandwidth=0), "style_loss.bandwidth=0 must be a finite number > 0"),
        (lambda: MMDLoss(positions=1), "style_loss.positions=1 must be an integer >= 2"),
        (lambda: SlicedWassersteinLoss(projections=0), "style_loss.projections=0 must be"),
        (lambda: MRFLoss(patch_size=0), "style_loss.patch_size=0 must be"),
        (lambda: MRFLoss(stride=1.5), "style_loss.stride=1.5 must be"),
        (lambda: MRFLoss(reduction="max"), "unknown style_loss.reduction='max'; choose one of"),
        (lambda: WassersteinLoss(eps=0), "style_loss.eps=0 must be"),
        (lambda: MeanStdLoss(scale=-2), "style_loss.scale=-2 must be a finite number > 0"),
        (lambda: MeanStdLoss(scale="x"), "style_loss.scale='x' is not a number"),
    ],
)
def test_options_are_checked_with_one_line(make, match):
    with pytest.raises(ConfigError, match=match) as e:
        make()
    assert "\n" not in str(e.value)


def test_every_option_of_the_ablation_preset_builds_and_gets_the_seed(compose):
    preset = OmegaConf.load(REPO / "experiments" / "ablation" / "style_loss.yaml")
    # every option, discovered, but the two on their methods' scales (test_glob_sweeps lists them)
    assert str(preset.hydra.sweeper.params.style_loss) == (
        "glob(*,exclude=[remd_hypercolumn,neighbour])"
    )
    options = {p.stem for p in (REPO / "conf" / "style_loss").glob("*.yaml")}
    assert {"gram", *OPTIONS} <= options
    compose(["+ablation=style_loss"])
    for option in OPTIONS:
        objective = check(compose([f"style_loss={option}", "seed=7"])).objective
        assert type(objective.style).__module__ == "nst_research.loss.style"
        if option in SEEDED:
            assert isinstance(objective.style, SeededLoss) and objective.style.seed == 7
    with pytest.raises(ConfigError, match="unknown style_loss.kernel='cubic'"):
        check(compose(["style_loss=mmd", "style_loss.kernel=cubic"]))
    objective = check(compose(["style_loss=sliced_wasserstein"])).objective
    objective.set_step(3)
    assert objective.style.step == 3


def test_texture_task_is_style_alone_from_noise(compose):
    cfg = compose(["task=texture", "style_loss=sliced_wasserstein"])
    assert cfg.task.kind == "texture" and cfg.init._target_.endswith("noise")
    parts = check(cfg)
    assert parts.content_layers == {} and parts.objective.content_weight == 0.0
    assert list(parts.style_layers) == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@pytest.mark.slow
@pytest.mark.parametrize("option", OPTIONS)
def test_the_style_term_falls_on_real_weights(option, tmp_path, tiny_images, monkeypatch):
    """Each option with its YAML defaults, default weights and layers, at 64 px: loss/style falls
    to less than half in a few L-BFGS iterations. The random terms are told every iteration."""
    from nst_research.configs.compose import compose
    from nst_research.run import run

    steps: list[int] = []

    def set_step(self, step: int) -> None:
        steps.append(step)
        self.step = step

    monkeypatch.setattr(SeededLoss, "set_step", set_step)
    content, style = tiny_images
    cfg = compose(
        [f"content={content}", f"style={style}", "size=64", "iterations=12", "logger=none",
         f"style_loss={option}", "trainer.progress_bar=false", "eval=[]", "snapshot_every=0"]
    )  # fmt: skip
    metrics = run(cfg, tmp_path / "run")
    assert metrics["status"] == "completed"
    with open(tmp_path / "run" / "losses.csv") as f:
        style_curve = [float(row[LOSS_STYLE]) for row in csv.DictReader(f)]
    assert all(math.isfinite(v) for v in style_curve)
    assert style_curve[-1] < 0.5 * style_curve[0], style_curve
    assert steps == (list(range(len(style_curve))) if option in SEEDED else [])


# --- memory: what each option adds to the estimate (issue 12, item 4) ----------------------------

MEMORY_TERMS = {
    "gram": lambda: GramLoss("chw", "mean"),
    **TERMS,
    "mmd_sampled": lambda: MMDLoss("gaussian", positions=256),
    "sliced_wasserstein": lambda: SlicedWassersteinLoss(),
    "mrf": lambda: MRFLoss(),
}


def saved_values(term, c: int, hw: tuple[int, int], style_hw: tuple[int, int]) -> float:
    """Float32 values the term keeps: its target plus the tensors autograd saves for backward
    (the input features excluded: the estimate counts them already)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, c, *hw, generator=g, requires_grad=True)
    term.set_targets({"a": torch.randn(1, c, *style_hw, generator=g)}, ["a"])
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.untyped_storage().data_ptr() != x.untyped_storage().data_ptr():
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        term(x, "a")
    target = term.target("a")
    return (sum(storages.values()) + target.numel() * target.element_size()) / 4


@pytest.mark.parametrize("name", MEMORY_TERMS)
@pytest.mark.parametrize("shape", [(64, (32, 32), (32, 32)), (128, (24, 16), (40, 30))])
def test_memory_estimate_covers_what_each_option_keeps(name, shape):
    """The estimate errs high but not wildly: at least what autograd saves plus the target, at
    most 5x that plus the transient copies of the features (and MRF's similarity chunk)."""
    c, hw, style_hw = shape
    term = MEMORY_TERMS[name]()
    measured = saved_values(term, c, hw, style_hw)
    estimate = term.work_values(c, hw[0] * hw[1], style_hw[0] * style_hw[1])
    transient = 2 * hw[0] * hw[1] * c + (2**24 if name == "mrf" else 0)
    assert measured <= estimate <= 5 * measured + transient


def test_mrf_memory_by_hand_and_the_check_refuses_what_only_gram_fits():
    """MRF on relu1_1 adds its patch bank (stride 2), the dense patches and a 2^24 chunk; at a
    memory limit where gram fits, mrf is refused with a size that then fits."""
    from nst_research.engine.memory import check_fits, estimate_bytes, term_work
    from nst_research.errors import InputImageError

    d = 64 * 9  # relu1_1: 64 channels, 3x3 patches
    work = term_work(MRFLoss(), ["relu1_1"], "vgg19")
    assert work((64, 64), (64, 64)) == 2 * (64 * 64 // 4) * d + 4 * 64 * 64 * d + 2**24
    gram = term_work(GramLoss("chw", "mean"), ["relu1_1"], "vgg19")
    need_gram = estimate_bytes(512, 512, "relu1_1", history=100, style_hw=(512, 512), work=gram)
    need_mrf = estimate_bytes(512, 512, "relu1_1", history=100, style_hw=(512, 512), work=work)
    assert need_mrf > 2 * need_gram
    free, cpu = (need_gram + need_mrf) // 2, torch.device("cpu")
    args = (512, 512, "relu1_1", "vgg19", 100, cpu)
    assert check_fits(*args, available=free, style_hw=(512, 512), work=gram) == need_gram
    with pytest.raises(InputImageError) as e:
        check_fits(*args, available=free, style_hw=(512, 512), work=work)
    advised = int(str(e.value).split("use size=")[1].split()[0])
    assert 256 <= advised < 512 and "\n" not in str(e.value)
    assert check_fits(
        advised, advised, *args[2:], available=free, style_hw=(advised, advised), work=work
    )
