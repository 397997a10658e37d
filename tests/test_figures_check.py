"""make figures-check: quick renders hashed, then the same bytes pass and a changed recipe fails."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from nst_research.figures import FIGURES
from nst_research.figures.check import check, main, quick_options
from tests.test_figures import SYNTHETIC, _synthetic

NAME = "gatys2016_fig5"  # 2 runs: the smallest figure (cut to 1 below)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "images"
    folder.mkdir()
    for name, (w, h, kind) in SYNTHETIC.items():
        _synthetic(w, h, kind).save(folder / name)
    monkeypatch.setenv("NST_DATA_DIR", str(folder))
    return folder


@pytest.mark.slow
def test_check_passes_on_the_same_bytes_and_names_a_changed_figure(
    data_dir, tmp_path, monkeypatch, capsys
):
    # fig. 5 cut to one run tile (the content at conv2_2), to keep the test short
    monkeypatch.setitem(FIGURES, NAME, replace(FIGURES[NAME], tiles=FIGURES[NAME].tiles[:3]))
    hashes, opts = tmp_path / "hashes.json", quick_options(size=32, iterations=2)
    assert check([NAME], opts, hashes, update=True) == 0
    recorded = json.loads(hashes.read_text())
    assert recorded["options"] == {"settings": "paper", "size": 32, "iterations": 2}
    tiles = recorded["figures"][NAME]["tiles"]
    assert list(tiles) == ["r0c2-content-conv2_2"] and len(tiles["r0c2-content-conv2_2"]) == 64

    assert check([NAME], opts, hashes) == 0
    assert f"{NAME}: ok (1 tile)" in capsys.readouterr().out

    # One recipe setting changed (the ratio alpha/beta): the run tile and the grid change.
    monkeypatch.setitem(FIGURES, NAME, replace(FIGURES[NAME], ratio=1e-1))
    assert check([NAME], opts, hashes) == 1
    out = capsys.readouterr().out
    assert f"{NAME}: CHANGED: tiles r0c2-content-conv2_2; grid png" in out
    assert f"figures-check: pixels changed in {NAME}" in out


def test_check_refuses_hashes_of_other_options_and_unknown_figures(tmp_path, capsys):
    hashes = tmp_path / "hashes.json"
    hashes.write_text(json.dumps({"options": {"settings": "paper", "size": 48, "iterations": 5}}))
    assert check([NAME], quick_options(size=32, iterations=2), hashes) == 2
    assert "rerun with --update" in capsys.readouterr().err
    assert main(["no_such_figure", "--hashes", str(hashes)]) == 2
    assert "unknown figure 'no_such_figure'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_figure_showing_seconds_is_checked_by_its_tiles_not_its_grid(
    data_dir, tmp_path, monkeypatch, capsys
):
    """The methods figure prints each tile's wall seconds: its grid differs run to run, so the
    check compares its tiles' images only (it failed every time before)."""
    from nst_research.figures.check import UNHASHED_GRID

    timed = replace(FIGURES[NAME], tiles=FIGURES[NAME].tiles[:3], show_seconds=True)
    monkeypatch.setitem(FIGURES, NAME, timed)
    hashes, opts = tmp_path / "hashes.json", quick_options(size=32, iterations=2)
    assert check([NAME], opts, hashes, update=True) == 0
    assert json.loads(hashes.read_text())["figures"][NAME]["png"] == UNHASHED_GRID
    assert check([NAME], opts, hashes) == 0  # the seconds differ; the tiles do not
    assert f"{NAME}: ok (1 tile)" in capsys.readouterr().out
    monkeypatch.setitem(FIGURES, NAME, replace(timed, ratio=1e-1))
    assert check([NAME], opts, hashes) == 1  # a changed tile is still caught
    assert f"{NAME}: CHANGED: tiles r0c2-content-conv2_2" in capsys.readouterr().out
