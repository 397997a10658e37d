"""``method=`` presets (conf/method/): what each selects, that the command line wins over it,
that ``nst --help`` lists them, and that each lowers its own loss on real weights at 64 px."""

from __future__ import annotations

import csv
import math

import pytest

from nst_research.configs import help as nst_help
from nst_research.configs.names import LOSS_TOTAL

PRESETS = ("gatys2016", "gatys2017", "strotss", "nnst", "ck", "ghiasi2017")


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("gatys2017", {"layers.style": ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"],
                       "model.pooling": "avg", "loss.gram_norm": "paper",
                       "init._target_": "nst_research.optimisation.inits.white_noise"}),
        ("strotss", {"style_loss._target_": "nst_research.methods.hypercolumn_terms.HypercolumnREMD",
                     "content_loss._target_":
                         "nst_research.methods.hypercolumn_terms.HypercolumnSelfSimilarity",
                     "optimizer._target_": "nst_research.optimisation.optimizers.rmsprop",
                     "param._target_": "nst_research.params.laplacian.Laplacian",
                     "schedule.start": 64, "schedule.ratio": 2.0, "schedule.content_decay": 0.5,
                     "init._target_": "nst_research.optimisation.inits.style_colour_band"}),
        ("nnst", {"content_loss._target_": "nst_research.methods.hypercolumn_terms.NeighbourFit",
                  "loss.style_weight": 0.0,
                  "optimizer.lr": 0.51, "colour._target_": "nst_research.methods.colour.MatchStyleOklab",
                  "init._target_": "nst_research.optimisation.inits.blurred_content"}),
        ("ck", {"style_loss._target_": "nst_research.loss.style.WassersteinLoss",
                "layers.style_weights": [256, 64, 16, 4, 1], "loss.content_weight": 0.015,
                "optimizer.lr": 5.1, "optimizer.beta2": 0.99, "schedule.start": 128,
                "schedule.ratio": 2**0.5, "schedule.first": 2.0, "schedule.ema": 0.99,
                "schedule.warm_start": True}),
    ],
)  # fmt: skip
def test_a_preset_selects_its_groups_and_values(compose, method, expected):
    from omegaconf import OmegaConf

    cfg = compose([f"method={method}"])
    got = {k: OmegaConf.select(cfg, k) for k in expected}
    got = {k: OmegaConf.to_container(v) if hasattr(v, "_content") else v for k, v in got.items()}
    assert got == expected
    assert cfg.method.name == method and cfg.method.label


def test_the_command_line_wins_over_the_preset(compose):
    cfg = compose(["method=strotss", "style_loss=gram", "optimizer=lbfgs", "schedule=none",
                   "loss.content_weight=3", "param=pixels"])  # fmt: skip
    assert cfg.style_loss._target_ == "nst_research.loss.terms.GramLoss"
    assert (
        cfg.optimizer._target_ == "nst_research.optimisation.optimizers.lbfgs"
        and cfg.optimizer.lr == 1.0
    )
    assert cfg.schedule._target_ == "nst_research.optimisation.schedules.Single"
    assert cfg.schedule.content_decay == 0.5  # the preset's value of a key every schedule takes
    assert cfg.loss.content_weight == 3 and cfg.param._target_.endswith("Pixels")
    assert compose(["method=ck", "optimizer.lr=1"]).optimizer.lr == 1


@pytest.mark.parametrize("method", ["strotss", "nnst", "ck", "gatys2017"])
def test_an_ablation_of_a_preset_passes_the_checks(compose, method):
    """``method=X style_loss=gram schedule=none`` is a legitimate run: every check passes."""
    from nst_research.engine.parts import check

    parts = check(compose([f"method={method}", "style_loss=gram", "schedule=none", "logger=none"]))
    assert type(parts.objective.style).__name__ == "GramLoss"


def test_help_lists_every_method_with_one_line():
    text = nst_help.render([])
    section = text.split("  method", 1)[1].split("\n  ", 1)[0]
    lines = text.split("  method", 1)[1].splitlines()[1 : 1 + len(PRESETS)]
    names = [ln.split()[0] for ln in lines]
    assert sorted(names) == sorted(PRESETS), section
    assert all(len(ln.split(None, 1 if "*" not in ln else 2)) > 1 for ln in lines)


def _losses(path) -> list[float]:
    with open(path) as f:
        return [float(r[LOSS_TOTAL]) for r in csv.DictReader(f)]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gatys2017", "strotss", "nnst", "nnst+final", "ck"])
def test_each_method_lowers_its_own_loss_on_real_weights(compose, method, tiny_images, tmp_path):
    from nst_research.run import run

    content, style = tiny_images
    # strotss's hypercolumns hold ~2200 channels: fewer positions keep its moments cheap here
    fewer = (
        ["style_loss.positions=128", "content_loss.positions=128"] if method == "strotss" else []
    )
    final = method.endswith("+final")  # NNST's final feature-splitting pass, off in the preset
    method = method.removesuffix("+final")
    fewer += ["schedule.final_pass=true"] if final else []
    n = 16 if final else 10  # with the final pass: two stages of 8
    cfg = compose([*fewer, f"method={method}", f"content={content}", f"style={style}", "size=64",
                   f"iterations={n}", "logger=none", "trainer.progress_bar=false", "eval=[]",
                   "snapshot_every=0"])  # fmt: skip
    metrics = run(cfg, tmp_path / method)
    assert metrics["status"] == "completed"
    curve = _losses(tmp_path / method / "losses.csv")
    assert len(curve) == n and all(math.isfinite(v) for v in curve)
    # each stage of its own: nnst's final pass (steps 8-15 here) has its own objective
    stages = [s["start"] for s in metrics.get("stages", [{"start": 0}])]
    assert stages == ([0, 8] if final else [0])
    for a, b in zip(stages, [*stages[1:], n], strict=True):
        # strotss and nnst re-draw positions every step: compare the last three with the first
        part = curve[a:b]
        assert sum(part[-3:]) / 3 < 0.9 * part[0], (a, curve)


def test_the_methods_figure_runs_each_preset_with_its_own_settings(tmp_path, monkeypatch):
    from nst_research.figures import FIGURES, Options
    from nst_research.figures.running import PRESETS_NOTE, _caption, tile_overrides

    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path))
    fig = FIGURES["methods"]
    for name in {n for t in fig.tiles for n in (t.content, t.style, t.image) if n}:
        (tmp_path / name).write_bytes(b"")  # found by name; never read here
    assert fig.shape == (3, 8) and fig.show_seconds
    assert sorted({t.method for t in fig.runs}) == sorted(PRESETS)
    opts = Options("reference", 256, 300, logger="none")
    for tile in fig.runs:
        ov = tile_overrides(fig, tile, opts)
        assert ov[0] == f"method={tile.method}"
        keys = {o.split("=", 1)[0] for o in ov}
        # none of the figure's settings, init or weights: the preset's own
        assert not keys & {"layers", "model.pooling", "loss", "init", "loss.content_weight"}
        assert {"size", "iterations", "seed", "content", "style"} <= keys
    assert PRESETS_NOTE in _caption(opts, presets=True)
    assert "L-BFGS" not in _caption(opts, presets=True)


def test_the_cli_checks_a_key_against_the_option_the_preset_chose():
    from nst_research.validation.argv import check_group_keys

    assert check_group_keys(["method=nnst", "init.blur=2"]) is None  # init=blurred_content
    assert "init=content" in check_group_keys(["init.blur=2"])
    assert check_group_keys(["method=strotss", "style_loss.positions=64"]) is None
    # the command line's choice wins; a sweep of methods checks each one's option
    assert "style_loss=gram" in check_group_keys(
        ["method=strotss", "style_loss=gram", "style_loss.positions=64"]
    )
    assert "style_loss=gram" in check_group_keys(
        ["method=strotss,gatys2016", "style_loss.positions=64"]
    )


@pytest.mark.slow
def test_strotss_on_the_published_vgg16_when_its_weights_are_cached(
    compose, tiny_images, tmp_path, monkeypatch
):
    """``method=strotss model=vgg16``: the layer map is VGG16's own; the run takes the cached
    torchvision file (a stand-in here: no real weights are downloaded in a test) and records
    its hash."""
    import torch
    import torchvision

    from nst_research.backbones.weights import TORCHVISION_URLS, state_dict_hash
    from nst_research.run import run

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    cache = tmp_path / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.manual_seed(0)
    state = torchvision.models.vgg16(weights=None).state_dict()
    torch.save(state, cache / TORCHVISION_URLS["vgg16"].rsplit("/", 1)[-1])
    features = {k: v for k, v in state.items() if k.startswith("features.")}

    content, style = tiny_images
    cfg = compose(["method=strotss", "model=vgg16", "style_loss.positions=64",
                   "content_loss.positions=64", f"content={content}", f"style={style}",
                   "size=32", "iterations=4", "logger=none", "trainer.progress_bar=false",
                   "eval=[]", "snapshot_every=0"])  # fmt: skip
    metrics = run(cfg, tmp_path / "run")
    assert metrics["status"] == "completed" and metrics["iterations"] == 4
    assert metrics["hashes"]["weights"] == state_dict_hash(features)
    curve = _losses(tmp_path / "run" / "losses.csv")
    assert len(curve) == 4 and all(math.isfinite(v) for v in curve)
