"""Paper figures: quick figures on tiny synthetic images (grid, labels, files, same pixels twice)."""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pytest
from PIL import Image

from nst_research import figures
from nst_research.figures import FIGURES, SETTINGS, Options, assemble, main, make_figure
from tests.conftest import REPO

NOISE = "nst_research.optimisation.inits.white_noise"

# The classic names the recipes ask for, as tiny synthetic images: (width, height, kind).
SYNTHETIC = {
    "tubingen.jpg": (48, 36, "gradient"),
    "starry_night.jpg": (48, 30, "stripes"),
    "shipwreck.jpg": (48, 33, "stripes"),
    "the_scream.jpg": (36, 46, "stripes"),
    "seated-nude.jpg": (37, 48, "checks"),
    "woman-with-hat-matisse.jpg": (35, 48, "checks"),
    "golden_gate.jpg": (48, 32, "gradient"),
}
QUICK = ["--quick", "--size", "32", "--iterations", "2", "--logger", "none"]


def _synthetic(w: int, h: int, kind: str) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    if kind == "gradient":
        rgb = np.stack([x, y, (x + y) / 2], axis=-1)
    elif kind == "stripes":
        s = (np.arange(w)[None, :] // 4 % 2).repeat(h, 0).astype(float)
        rgb = np.stack([s, 1 - s, 0.5 + 0 * s], axis=-1)
    else:
        c = ((np.arange(h)[:, None] // 6 + np.arange(w)[None, :] // 6) % 2).astype(float)
        rgb = np.stack([c, 0.3 + 0 * c, 1 - c], axis=-1)
    return Image.fromarray((rgb * 255).round().astype(np.uint8))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """NST_DATA_DIR -> a folder of tiny synthetic images under the classic names."""
    folder = tmp_path / "images"
    folder.mkdir()
    for name, (w, h, kind) in SYNTHETIC.items():
        _synthetic(w, h, kind).save(folder / name)
    monkeypatch.setenv("NST_DATA_DIR", str(folder))
    return folder


def pixels(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_quick_figure_grid_labels_files_and_same_pixels_twice(data_dir, tmp_path, capsys):
    opts = Options(settings="paper", size=32, iterations=2, quick=True, logger="none")
    grid, results = make_figure("gatys2016_fig5", opts, tmp_path / "a", log=lambda _: None)
    assert grid.shape == (1, 4)
    assert grid.tile_labels == [
        ["Neckarfront\n(content)", "The Starry Night\n(style)", "content at conv2_2",
         "content at conv4_2"]
    ]  # fmt: skip
    assert [r.status for r in results] == ["completed", "completed"]
    png, pdf = tmp_path / "a" / "gatys2016_fig5.png", tmp_path / "a" / "gatys2016_fig5.pdf"
    assert grid.files == [png, pdf] and pdf.read_bytes().startswith(b"%PDF")
    (runs,) = (tmp_path / "a" / "runs" / "gatys2016_fig5").iterdir()
    assert sorted(p.name for p in runs.iterdir()) == [
        "figure.json", "r0c2-content-conv2_2", "r0c3-content-conv4_2"
    ]  # fmt: skip
    assert Image.open(runs / "r0c2-content-conv2_2" / "final.png").size == (32, 24)
    assert (runs / "r0c2-content-conv2_2" / ".hydra" / "config.yaml").is_file()

    # The same figure through the command line: identical pixels (and byte-identical files).
    assert main(["gatys2016_fig5", *QUICK, "--out", str(tmp_path / "b")]) == 0
    assert "gatys2016_fig5: 1x4 grid in" in capsys.readouterr().out
    again = tmp_path / "b" / "gatys2016_fig5.png"
    np.testing.assert_array_equal(pixels(png), pixels(again))
    assert png.read_bytes() == again.read_bytes()
    assert pdf.read_bytes() == (tmp_path / "b" / "gatys2016_fig5.pdf").read_bytes()


def test_reuse_copies_the_tiles_that_completed_with_the_same_config(data_dir, tmp_path, capsys):
    opts = Options(settings="paper", size=32, iterations=2, quick=True, logger="none")
    make_figure("gatys2016_fig5", opts, tmp_path / "a", log=lambda _: None)
    (earlier,) = (tmp_path / "a" / "runs" / "gatys2016_fig5").iterdir()
    record = earlier / "r0c3-content-conv4_2" / "metrics.json"
    record.write_text(record.read_text().replace('"completed"', '"interrupted"', 1))

    assert (
        main(["gatys2016_fig5", *QUICK, "--out", str(tmp_path / "b"), "--reuse", str(earlier)]) == 0
    )
    out = capsys.readouterr().out
    assert out.count("reused") == 1 and "r0c2-content-conv2_2" in out  # not the interrupted one
    (later,) = (tmp_path / "b" / "runs" / "gatys2016_fig5").iterdir()
    tiles = json.loads((later / "figure.json").read_text())["tiles"]
    assert [t["reused_from"] is not None for t in tiles] == [True, False]
    same = "r0c2-content-conv2_2/final.png"
    assert (later / same).read_bytes() == (earlier / same).read_bytes()
    np.testing.assert_array_equal(
        pixels(tmp_path / "a" / "gatys2016_fig5.png"), pixels(tmp_path / "b" / "gatys2016_fig5.png")
    )
    # another config (more iterations) reuses nothing; a missing folder is one line
    args = ["gatys2016_fig5", "--quick", "--size", "32", "--iterations", "3", "--logger", "none"]
    assert main([*args, "--out", str(tmp_path / "c"), "--reuse", str(earlier)]) == 0
    assert "reused" not in capsys.readouterr().out
    assert main([*args, "--reuse", str(tmp_path / "nowhere")]) == 2
    assert "--reuse" in capsys.readouterr().err


def test_rows_render_apart_and_reuse_assembles_them(data_dir, tmp_path, capsys):
    """--rows: each process renders some rows; --reuse then draws the whole figure, running
    nothing (the workflow of the 256 px methods figure)."""
    import shutil

    for rows, out in (("1", "a"), ("0", "b")):
        assert main(["gatys2016_fig6", *QUICK, "--rows", rows, "--out", str(tmp_path / out)]) == 0
    merged = tmp_path / "merged"
    for out, row in (("a", "r1"), ("b", "r0")):
        (runs,) = (tmp_path / out / "runs" / "gatys2016_fig6").iterdir()
        tiles = json.loads((runs / "figure.json").read_text())["tiles"]
        assert {t["row"] for t in tiles} == {int(row[1])}  # only that row ran
        for d in runs.glob(f"{row}c*"):
            shutil.copytree(d, merged / d.name)
    capsys.readouterr()
    assert (
        main(["gatys2016_fig6", *QUICK, "--out", str(tmp_path / "c"), "--reuse", str(merged)]) == 0
    )
    assert capsys.readouterr().out.count("reused") == 6  # every tile, nothing run
    assert main(["gatys2016_fig6", *QUICK, "--rows", "2", "--out", str(tmp_path / "d")]) == 2
    assert "--rows 2: gatys2016_fig6 has rows 0-1" in capsys.readouterr().err


def test_fig4_grid_is_ratios_by_cumulative_style_layers(tmp_path):
    fig = FIGURES["gatys2016_fig4"]
    rng = np.random.default_rng(0)
    images = {(t.row, t.col): rng.integers(0, 255, (24, 32, 3), dtype=np.uint8) for t in fig.runs}
    grid = assemble(fig, images, tmp_path / "fig4", caption="synthetic tiles")
    assert grid.shape == (4, 5) and len(fig.runs) == 20
    assert grid.row_labels == ["α/β = 1e-5", "α/β = 1e-4", "α/β = 1e-3", "α/β = 1e-2"]
    assert grid.col_labels == [
        "conv1_1", "conv1_1–conv2_1", "conv1_1–conv3_1", "conv1_1–conv4_1", "conv1_1–conv5_1"
    ]  # fmt: skip
    assert all(p.stat().st_size > 0 for p in grid.files)
    ref = assemble(fig, {}, tmp_path / "fig4_ref", settings="reference")  # no runs: grey tiles
    assert ref.col_labels[-1] == "relu1_1–relu5_1" and ref.shape == (4, 5)


def test_settings_become_the_papers_or_the_reference_config(data_dir):
    fig1, fig4, fig6 = (
        FIGURES["gatys2016_fig1"],
        FIGURES["gatys2016_fig4"],
        FIGURES["gatys2016_fig6"],
    )
    ratio_1e5 = next(t for t in fig4.runs if t.ratio == 1e-5 and len(t.style_layers) == 2)
    recon = next(t for t in fig1.runs if t.key == "content-conv2_2")
    from_style = next(t for t in fig6.runs if t.key == "init-style")
    tiles = [(fig4, ratio_1e5), (fig1, recon), (fig6, from_style)]
    paper = figures.compose_configs(
        [figures.tile_overrides(f, t, Options("paper", 32, 2)) for f, t in tiles]
    )
    ref = figures.compose_configs(
        [figures.tile_overrides(f, t, Options("reference", 32, 2)) for f, t in tiles]
    )
    # Fig. 4, alpha/beta = 1e-5, style conv1_1-conv2_1.
    assert list(paper[0].layers.style) == ["conv1_1", "conv2_1"]
    assert list(paper[0].layers.content) == ["conv4_2"]
    assert (paper[0].loss.content_weight, paper[0].loss.style_weight) == (1, 100000)
    assert paper[0].loss.gram_norm == "paper" and paper[0].loss.style_reduction == "sum"
    assert paper[0].model.pooling == "avg" and paper[0].init._target_ == NOISE
    assert list(ref[0].layers.style) == ["relu1_1", "relu2_1"]
    assert list(ref[0].layers.content) == ["relu4_2"]
    assert (ref[0].loss.content_weight, ref[0].loss.style_weight) == (5, 50000)
    assert (
        ref[0].loss.gram_norm == "chw"
        and ref[0].init._target_ == "nst_research.optimisation.inits.from_content"
    )
    assert ref[0].model.pooling == "max"
    # Fig. 1 reconstructions start from noise in both settings, with only their own loss.
    for cfg, layer in ((paper[1], "conv2_2"), (ref[1], "relu2_2")):
        assert cfg.task.kind == "reconstruct_content" and cfg.init._target_ == NOISE
        assert list(cfg.layers.content) == [layer] and cfg.loss.style_weight == 0
    # Fig. 6: a tile's own init wins over the settings'.
    assert (
        paper[2].init._target_
        == ref[2].init._target_
        == "nst_research.optimisation.inits.from_style"
    )
    assert SETTINGS["paper"].weights(1e-3) == (1.0, 1000.0)


def test_unknown_figure_is_one_readable_line(capsys):
    assert main(["gatys2016_fig99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: unknown figure 'gatys2016_fig99'; choose one of: gatys2016_fig1")


def test_missing_image_is_one_readable_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "empty"))
    assert main(["gatys2016_fig5", *QUICK, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    # issue 23: the fix names a command that exists outside a checkout too
    assert (
        err.count("\n") == 1 and "tubingen.jpg" in err and "python -m nst_research.io.data" in err
    )
    assert not (tmp_path / "out").exists()


def _readme_commands() -> dict[str, list[list[str]]]:
    """The ``nst`` command lines of each figure's section of experiments/README.md, split."""
    text = (REPO / "experiments" / "README.md").read_text()
    out: dict[str, list[list[str]]] = {}
    for section in text.split("\n### ")[1:]:
        name = section.split(":", 1)[0]
        section = section.split("\n## ", 1)[0]  # a figure's section ends at the next chapter
        joined = section.replace("\\\n", " ")
        out[name] = [shlex.split(ln)[1:] for ln in joined.splitlines() if ln.startswith("nst ")]
    return out


def test_readme_documents_every_figure_with_a_command_it_runs(data_dir):
    text = (REPO / "experiments" / "README.md").read_text()
    assert "--settings reference" in text and "--quick" in text
    commands = _readme_commands()
    assert sorted(commands) == sorted(FIGURES)
    opts = Options(settings="paper", size=256, iterations=300, logger="none")
    for name, fig in FIGURES.items():
        assert f"figures/{name}.png" in text, name
        assert commands[name], f"no nst command for {name}"
        tiles = [set(figures.tile_overrides(fig, t, opts)) for t in fig.runs]
        for argv in commands[name]:
            argv = {re.sub(r"(?<=[=\[,])data/", f"{data_dir}/", a) for a in argv}
            assert any(argv <= tile for tile in tiles), (name, sorted(argv))


def test_the_caption_names_the_init_the_tiles_ran_with():
    """The 2017 recipes run the paper settings from the content image: the caption says so."""
    from nst_research.figures.running import _caption

    opts = Options("paper", 256, 300)
    assert "noise init" in _caption(opts) and "noise init" in _caption(opts, inits=[None, None])
    assert "noise init" in _caption(opts, inits=["content", None])  # mixed: the settings' summary
    text = _caption(opts, inits=["content", "content", "content"])
    assert "content init" in text and "noise init" not in text
    assert "content init" in _caption(Options("reference", 256, 300), inits=["content"])
    inits = [t.init for t in FIGURES["gatys2017_colour"].tiles if t.task is not None]
    assert inits and set(inits) == {"content"}
