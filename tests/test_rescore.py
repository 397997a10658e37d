"""``python -m nst_research.evaluation.rescore``: a finished run scored again with other metrics,
through the run's own scorer, on the images it recorded (checked by hash)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nst_research.errors import ConfigError, InputImageError
from nst_research.evaluation.rescore import main, metrics, run_dirs, score_run

TINY = ["size=32", "iterations=3", "logger=none", "trainer.progress_bar=false", "snapshot_every=0",
        "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]", "eval=[style,content]"]  # fmt: skip


@pytest.fixture
def finished(compose, tiny_images, tmp_path):
    from nst_research.run import run

    content, style = tiny_images
    sweep = tmp_path / "sweep"
    for k in range(2):
        run(compose([f"content={content}", f"style={style}", f"seed={k}", "init=noise", *TINY]),
            sweep / str(k))  # fmt: skip
    return sweep


def test_a_run_rescored_with_its_own_metric_gives_its_own_value(finished):
    run_dir = finished / "0"
    recorded = json.loads((run_dir / "metrics.json").read_text())["eval"]
    scores = score_run(run_dir, metrics(["style", "content", "histogram"]))
    for key in ("eval/style_ratio", "eval/content_ratio"):  # 8-bit final.png against float
        assert math.isclose(scores[key], recorded[key], rel_tol=2e-2), (key, scores, recorded)
    assert 0 <= scores["eval/hist_rgbuv"] <= 1  # a metric the run did not compute


def test_a_folder_gives_its_runs_and_a_changed_input_is_refused(finished, tiny_images, capsys):
    assert run_dirs([finished]) == [finished / "0", finished / "1"]
    (finished.parent / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no run"):
        run_dirs([finished.parent / "empty"])
    with pytest.raises(ConfigError, match="unknown eval metric 'nope'; choose from: "):
        metrics(["nope"])
    content, _ = tiny_images
    content.write_bytes(content.read_bytes() + b"\0")  # another file at the recorded path
    with pytest.raises(InputImageError, match="changed since the run"):
        score_run(finished / "1", metrics(["style"]))
    assert main([str(finished), "--metrics", "style"]) == 1  # every run's row says why
    out = capsys.readouterr().out
    assert out.count("changed since the run") == 2 and out.startswith("| run | ")


def test_the_cli_prints_a_table_and_writes_the_csv(finished, tmp_path):
    out = tmp_path / "scores.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.evaluation.rescore", str(finished / "1"),
         "--metrics", "style,histogram", "--csv", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "eval/style_ratio" in proc.stdout and "eval/hist_rgbuv" in proc.stdout
    rows = out.read_text().splitlines()
    assert rows[0].startswith("run,eval/") and len(rows) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "nst_research.evaluation.rescore", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "is not a folder" in bad.stderr
