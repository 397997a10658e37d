"""``experiments/bench/methods.py``: seconds per method= preset, sizes side by side."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO, shared_image


def _methods():
    spec = importlib.util.spec_from_file_location("methods", REPO / "experiments/bench/methods.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_puts_the_sizes_side_by_side():
    methods = _methods()
    rows = [
        {"size": s, "method": m, "label": m, "wall_s": w, "s_per_iter": i, "status": "completed"}
        for s, m, w, i in [
            (256, "ck", 10.0, 0.05),
            (512, "ck", 40.0, 0.2),
            (256, "ghiasi2017", 2.0, None),
        ]
    ]
    result = {"pair": ["a.jpg", "b.jpg"], "iterations": 200, "sizes": [256, 512], "rows": rows}
    lines = methods.markdown(result)
    assert "| method | 256 px: s | 256 px: s/it | 512 px: s | 512 px: s/it |" in lines
    assert "| `ck` (ck) | 10.0 | 0.050 | 40.0 | 0.200 |" in lines
    assert "| `ghiasi2017` (ghiasi2017) | 2.0 | - | - | - |" in lines


def test_a_failing_method_is_a_row_and_the_others_are_measured(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path))  # found by name, never read here
    for name in ("tubingen.jpg", "starry_night.jpg"):
        (tmp_path / name).write_bytes(b"")
    methods = _methods()
    from nst_research.errors import ConfigError

    def compose_cfg(size, iterations, overrides):
        if "method=broken" in overrides:
            raise ConfigError("style_loss.feature_scale='x' is not a number")
        raise RuntimeError("not reached: the smoke test runs real methods")

    result = methods.measure([32], 2, compose_cfg, tmp_path, ["broken"], log=lambda _: None)
    (row,) = result["rows"]
    assert row["status"] == "failed" and "feature_scale" in row["error"]
    lines = methods.markdown(result)
    assert "| `broken` (broken) | failed | - |" in lines
    assert any(line.startswith("- `broken` at 32 px failed: ConfigError") for line in lines)


@pytest.mark.slow
def test_a_smoke_run_times_each_method(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_DATA_DIR", str(shared_image("tubingen.jpg").parent))
    shared_image("starry_night.jpg")
    methods = _methods()
    assert methods.main(["--sizes", "32", "--iters", "2", "--methods", "gatys2016", "ck",
                         "--out", str(tmp_path)]) == 0  # fmt: skip
    text = (tmp_path / "methods.md").read_text()
    assert "| `gatys2016`" in text and "| `ck`" in text and (tmp_path / "methods.json").is_file()
