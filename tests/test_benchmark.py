"""nst-bench: the statistics by hand, the plan, failed jobs listed, and a stopped benchmark
resumed giving the same table as one run straight."""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nst_research.benchmark.plan import Plan, choose_pairs, pair_name, save_plan
from nst_research.benchmark.report import write_report
from nst_research.benchmark.runner import sweep_command, sweeps
from nst_research.benchmark.stats import paired, t_interval
from tests.conftest import REPO, shared_image

T_975_3 = 3.182446305284263  # Student t quantile 0.975, 3 degrees of freedom (tables)


def test_t_interval_by_hand():
    x = [1.0, 2.0, 4.0, 5.0]  # mean 3, sample sd sqrt(10/3)
    iv = t_interval(x)
    half = T_975_3 * math.sqrt(10 / 3) / 2
    assert (iv.n, iv.mean) == (4, 3.0)
    assert iv.lo == pytest.approx(3 - half) and iv.hi == pytest.approx(3 + half)
    same = t_interval([2.0, 2.0, 2.0])
    assert (same.lo, same.hi) == (2.0, 2.0)  # identical values: no spread
    assert math.isnan(t_interval([1.0]).lo)


def test_paired_test_on_synthetic_numbers_by_hand():
    method = [1.0, 2.0, 3.0, 4.0]
    base = [1.5, 2.1, 2.0, 4.6]  # d = -0.5, -0.1, 1.0, -0.6 (lower is better: 3 wins, 1 loss)
    d = [a - b for a, b in zip(method, base, strict=True)]
    n, mean = 4, sum(d) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    t = mean / (sd / math.sqrt(n))
    r = paired(method, base, "eval/style_ratio")
    assert r.diff.mean == pytest.approx(mean)
    assert r.diff.hi - r.diff.mean == pytest.approx(T_975_3 * sd / 2)
    # two-sided p of t with 3 degrees of freedom, closed form: 1 - I(t^2/(t^2+3)) via the
    # t density integral for nu = 3: P(|T| > t) = 1 - 2/pi (atan(t/sqrt3) + sqrt3 t / (t^2 + 3))
    p_t = 1 - 2 / math.pi * (math.atan(abs(t) / math.sqrt(3)) + math.sqrt(3) * abs(t) / (t * t + 3))
    assert r.p_t == pytest.approx(p_t, rel=1e-9)
    # Wilcoxon signed-rank, exact: ranks of |d| = 2, 1, 4, 3; W+ = 4 (d = 1.0); enumerate 16 signs
    ranks = [2, 1, 4, 3]
    w_plus = 4
    sums = [
        sum(r_ for r_, s in zip(ranks, signs, strict=True) if s)
        for signs in itertools.product([0, 1], repeat=4)
    ]
    tail = min(sum(s <= w_plus for s in sums), sum(s >= w_plus for s in sums)) / 16
    assert r.p_wilcoxon == pytest.approx(min(1.0, 2 * tail))
    assert (r.wins, r.ties, r.losses) == (3, 0, 1)
    higher = paired(method, base, "eval/ssim")  # higher is better: the same pairs flip
    assert (higher.wins, higher.ties, higher.losses) == (1, 0, 3)
    tie = paired([1.0, 2.0], [1.0, 3.0], "eval/cfsd")
    assert (tie.wins, tie.ties, tie.losses) == (1, 1, 0)


def test_pairs_sampled_with_a_seed_and_sweeps_interleave_methods():
    cs, ss = [Path(f"/c/{i}.jpg") for i in range(3)], [Path(f"/s/{i}.jpg") for i in range(4)]
    assert len(choose_pairs(cs, ss, None, 0)) == 12
    a, b = choose_pairs(cs, ss, 5, 7), choose_pairs(cs, ss, 5, 7)
    assert a == b and len(set(a)) == 5
    todo = {"m1": [("/c/0", "/s/0"), ("/c/1", "/s/0")], "m2": [("/c/0", "/s/1")]}
    assert sweeps(todo) == [
        ("m1", "/c/0", ["/s/0"]),
        ("m2", "/c/0", ["/s/1"]),
        ("m1", "/c/1", ["/s/0"]),
    ]
    plan = Plan([["/c/0", "/s/0"]], {"m": ["style_loss=mean_std"]}, 32, 3, 0, ["logger=csv"])
    cmd = sweep_command(plan, "m", "/c/0", ["/s/0", "/s/1"], Path("/o"))
    assert "content='/c/0'" in cmd and "style='/s/0','/s/1'" in cmd
    assert "logger=csv" in cmd and "logger=none" not in cmd  # the user's override wins
    assert cmd.index("logger=csv") < cmd.index("style_loss=mean_std")


def _fake_job(out: Path, method: str, num: int, content: str, style: str, metrics: dict | None):
    job = out / "runs" / method / "20260101-000000-000000001" / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text(
        yaml.safe_dump({"content": content, "style": style})
    )
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))


def test_failed_jobs_are_listed_and_the_rest_reported(tmp_path, capsys):
    out = tmp_path / "bench"
    c, s1, s2 = str(tmp_path / "c.jpg"), str(tmp_path / "s1.jpg"), str(tmp_path / "s2.jpg")
    save_plan(Plan([[c, s1], [c, s2]], {"a": [], "b": ["x=1"]}, 32, 3), out)
    ok = {"status": "completed", "eval": {"eval/style_ratio": 0.5}, "fit_time_s": 1.0}
    _fake_job(out, "a", 0, c, s1, ok)
    _fake_job(out, "a", 1, c, s2, {**ok, "eval": {"eval/style_ratio": 0.7}})
    _fake_job(out, "b", 0, c, s1, {"status": "failed", "error": "ConfigError: unknown layer"})
    _fake_job(out, "b", 1, c, s2, None)  # no metrics.json: killed
    assert write_report(out) == 1
    err = capsys.readouterr().out
    assert "2 of 4 jobs completed" in err
    assert "b c__s1: failed ConfigError: unknown layer" in err and "b c__s2: failed" in err
    md = (out / "table.md").read_text()
    assert "| a | 2/2 | 0.6 [" in md and "| b | 0/2 |" in md
    rows = list(csv.DictReader((out / "table.csv").open()))
    assert [r["method"] for r in rows] == ["a", "b"] and float(
        rows[0]["eval/style_ratio_mean"]
    ) == 0.6


def _bench(out: Path, content: Path, styles: list[Path]) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "nst_research.benchmark",
        "--contents",
        str(content),
        "--styles",
        ",".join(map(str, styles)),
        "--methods",
        "gatys2016,mean_std",
        "--size",
        "32",
        "--iterations",
        "3",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def _eval_columns(path: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(path.open()))
    return [
        {k: v for k, v in r.items() if not k.startswith(("s_per_image", "peak_memory"))}
        for r in rows
    ]


@pytest.mark.slow
def test_a_stopped_benchmark_resumed_gives_the_same_table(tmp_path):
    content = shared_image("tubingen.jpg")
    styles = [shared_image("starry_night.jpg"), shared_image("the_scream.jpg")]
    straight = tmp_path / "straight"
    r = _bench(straight, content, styles)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "0 jobs done, 4 to run" in r.stdout
    # stopped: mean_std never started, and one gatys2016 job was killed before its metrics.json
    stopped = tmp_path / "stopped"
    shutil.copytree(straight, stopped)
    shutil.rmtree(stopped / "runs" / "mean_std")
    killed = next((stopped / "runs" / "gatys2016").glob("*/1"))
    (killed / "metrics.json").unlink()
    for name in ("table.md", "table.csv", "pairs.csv"):
        (stopped / name).unlink()
    r = _bench(stopped, content, styles)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "1 jobs done, 3 to run" in r.stdout
    assert _eval_columns(stopped / "table.csv") == _eval_columns(straight / "table.csv")
    assert _eval_columns(stopped / "pairs.csv") == _eval_columns(straight / "pairs.csv")
    pair = pair_name(content, styles[1])
    assert pair in (stopped / "pairs.csv").read_text()
    r = _bench(stopped, content, styles)  # all done: nothing runs
    assert "4 jobs done, 0 to run" in r.stdout and "->" not in r.stdout


def test_method_names_are_discovered_from_the_config_groups(tmp_path):
    """A method preset is ``method=<name>``, a style loss ``style_loss=<name>``: no hand-kept list."""
    import pytest

    from nst_research.benchmark.plan import method_overrides
    from nst_research.errors import ConfigError
    from tests.conftest import REPO

    conf = REPO / "conf"
    assert method_overrides("strotss", {}, conf) == ["method=strotss"]
    assert method_overrides("mean_std", {}, conf) == ["style_loss=mean_std"]
    assert method_overrides("remd", {}, conf) == ["style_loss=remd"]
    assert method_overrides("gatys2016", {}, conf) == []
    assert method_overrides("mine", {"mine": ["seed=1"]}, conf) == ["seed=1"]
    (tmp_path / "style_loss").mkdir()
    (tmp_path / "style_loss" / "fresh.yaml").write_text("_target_: x.Y\n")
    assert method_overrides("fresh", {}, tmp_path) == ["style_loss=fresh"]
    with pytest.raises(ConfigError, match="unknown method 'nope'; known: .*ck.*sliced_wasserstein"):
        method_overrides("nope", {}, conf)
