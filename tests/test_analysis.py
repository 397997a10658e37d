"""After a sweep: importance by functional ANOVA, per-pair answers, parallel coordinates, the
best job's rerun command and ``optimization_results.yaml`` (nst_research/report/analysis.py)."""

from __future__ import annotations

import itertools
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nst_research.report import collect, config_keys, write_report
from nst_research.report.best import RESULTS, best_job, rerun_command
from nst_research.report.importance import EXACT, FOREST, SEED_PART, importance
from nst_research.report.pairs import per_pair_best

OBJ = "objective"


def fake_sweep(root: Path, jobs: list[tuple[dict[str, str], float]]) -> Path:
    """A sweep dir of job dirs with overrides and a completed metrics.json each."""
    for n, (overrides, value) in enumerate(jobs):
        job = root / str(n)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(
            yaml.safe_dump([f"{k}={v}" for k, v in overrides.items()])
        )
        metrics = {
            "status": "completed",
            "objective": value,
            "eval": {"eval/style_ratio": value / 2, "eval/content_ratio": 1 / (1 + value)},
            "seed": int(overrides.get("seed", 0)),
        }
        (job / "metrics.json").write_text(json.dumps(metrics))
    return root


def grid(keys: dict[str, list[str]], f, seeds=(0, 1, 2)) -> list[tuple[dict[str, str], float]]:
    jobs = []
    for values in itertools.product(*keys.values(), seeds):
        overrides = dict(zip([*keys, "seed"], map(str, values), strict=True))
        jobs.append((overrides, f(overrides)))
    return jobs


def test_one_key_explains_everything_on_a_grid(tmp_path: Path) -> None:
    keys = {"loss.style_weight": ["10", "100", "1000"], "layers": ["a", "b"], "pool": ["x", "y"]}
    noise = {"0": -0.01, "1": 0.0, "2": 0.01}
    jobs = grid(keys, lambda o: math.log10(float(o["loss.style_weight"])) + noise[o["seed"]])
    records = collect(fake_sweep(tmp_path, jobs))
    imp = importance(records, config_keys(records), OBJ)
    assert imp is not None and imp.method == EXACT
    assert imp.top() == "loss.style_weight"
    assert imp.shares["loss.style_weight"] > 0.99
    assert imp.shares["layers"] == pytest.approx(0.0, abs=1e-12)
    # the parts sum to the total variance over the runs, exactly
    total = sum(imp.shares.values()) + sum(imp.pairs.values()) + sum(imp.other.values())
    assert total == pytest.approx(1.0)
    # seeds: within-config variance (2/3 * 0.01^2) over the total, by hand
    values = [v for _, v in jobs]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    assert imp.other[SEED_PART] == pytest.approx((2 / 3 * 1e-4) / var)


def test_interaction_by_hand(tmp_path: Path) -> None:
    """y = a XOR b: no main effects, all of the variance is the pair's."""
    jobs = grid({"a": ["0", "1"], "b": ["0", "1"]}, lambda o: float(o["a"] != o["b"]), seeds=(0,))
    records = collect(fake_sweep(tmp_path, jobs))
    imp = importance(records, ["a", "b"], OBJ)
    assert imp.shares == {"a": pytest.approx(0.0), "b": pytest.approx(0.0)}
    assert imp.pairs[("a", "b")] == pytest.approx(1.0)


def test_incomplete_grid_uses_optunas_fanova(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    keys = {"w": [str(x) for x in range(1, 9)], "c": ["p", "q", "r"]}
    jobs = grid(keys, lambda o: float(o["w"]) ** 2, seeds=(0,))
    jobs = [j for n, j in enumerate(jobs) if n % 5 != 0]  # configurations missing: not a grid
    records = collect(fake_sweep(tmp_path, jobs))
    imp = importance(records, config_keys(records), OBJ)
    assert imp.method == FOREST
    assert imp.top() == "w" and imp.shares["w"] > 0.9


def test_the_pair_dominates_and_per_pair_best_differs(tmp_path: Path) -> None:
    styles = {"a.jpg": 0.0, "b.jpg": 10.0}

    def f(o):  # the style image sets the level; the best weight differs between the styles
        w = float(o["loss.style_weight"])
        return styles[o["style"]] + (0.1 * w if o["style"] == "a.jpg" else -0.2 * w)

    jobs = grid({"style": list(styles), "loss.style_weight": ["1", "2"]}, f, seeds=(0, 1))
    sweep = fake_sweep(tmp_path, jobs)
    records = collect(sweep)
    imp = importance(records, config_keys(records), OBJ)
    assert imp.top() == "style" and imp.shares["style"] > 0.9
    best, differs = per_pair_best(records, config_keys(records), OBJ)
    assert best == ("2",)  # pooled: style b's gain outweighs a's loss
    assert differs == {("a.jpg",): ("1",)}
    md = (write_report(sweep)["md"]).read_text()
    assert "images (style) explain" in md and "the images explain more than the knobs" in md
    assert "style=a.jpg: best is loss.style_weight=1 (differs from the pooled best)" in md
    for name in ("importance.png", "parallel.png", "plane.png"):
        assert (sweep / name).stat().st_size > 1000


def test_results_file_has_the_best_job(tmp_path: Path) -> None:
    jobs = grid({"w": ["1", "2e3"], "x": ["a", "b"]}, lambda o: float(o["w"]) + (o["x"] == "b"))
    sweep = fake_sweep(tmp_path, jobs)
    write_report(sweep)
    results = yaml.safe_load((sweep / RESULTS).read_text())
    assert results["best_params"] == {"w": 1, "x": "a"}
    assert results["best_value"] == pytest.approx(1.0)
    assert results["best_job"] == "0"  # the first of the equal seeds
    assert results["solutions"] and all(len(s["values"]) == 2 for s in results["solutions"])
    # a sweeper's own file is never overwritten
    (sweep / RESULTS).write_text(yaml.safe_dump({"name": "nst_optuna", "best_value": 7}))
    write_report(sweep)
    assert yaml.safe_load((sweep / RESULTS).read_text())["best_value"] == 7


@pytest.mark.slow
def test_rerun_command_reproduces_the_best_final_png(tmp_path: Path, tiny_images) -> None:
    content, style = tiny_images
    sweep = tmp_path / "sweep"
    common = [f"content={content}", f"style={style}", "size=32", "iterations=3", "logger=none",
              "eval=[style,content]", "trainer.progress_bar=false"]  # fmt: skip
    cmd = [sys.executable, "-m", "nst_research.cli", "-m", *common,
           "loss.style_weight=10,1000", f"hydra.sweep.dir={sweep}"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path)
    records = collect(sweep)
    best = best_job(records, OBJ)
    assert best is not None
    command = shlex.split(rerun_command(best, run_dir=str(tmp_path / "rerun")))
    assert command[0] == "nst" and f"hydra.run.dir={tmp_path / 'rerun'}" in command
    subprocess.run(
        [sys.executable, "-m", "nst_research.cli", *command[1:]],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    assert (tmp_path / "rerun" / "final.png").read_bytes() == best.final_image.read_bytes()
    paths = write_report(sweep)
    assert "```bash" in paths["md"].read_text()
    assert yaml.safe_load(paths["results"].read_text())["best_job"] == best.name
