"""``make bench`` (experiments/bench/bench.py) and the GPU fast path, checked on CPU.

No timings are asserted (performance is measured by the bench itself, not by tests): these check
that the bench measures the same work in both loops and writes its report.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO

BENCH_DIR = REPO / "experiments/bench"


def load_module(name: str):
    """A module of experiments/bench (its siblings importable, as when bench.py runs)."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bisect_largest_finds_the_limit_to_the_step():
    largest = load_module("largest")
    tried = []

    def fits(size):
        tried.append(size)
        return size <= 1500

    size, ceiling = largest.bisect_largest(fits, 512, 4096, step=64)
    assert 1500 - 64 < size <= 1500 and not ceiling
    assert len(tried) <= 8  # bisection, not a scan
    assert largest.bisect_largest(lambda s: True, 512, 4096) == (4096, True)


def test_fast_gpu_settings_keep_the_features():
    """apply_fast_gpu (trainer=gpu) on this torch: channels_last weights, same features."""
    from nst_research.backbones.vgg import VGGFeatures
    from nst_research.engine.build import apply_fast_gpu

    saved = (
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
    )

    class Holder:
        extractor = VGGFeatures(["relu2_1"])

    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        before = Holder.extractor(x)["relu2_1"]
    try:
        apply_fast_gpu(Holder, {"cudnn_benchmark": True, "tf32": True, "channels_last": True})
        assert torch.backends.cudnn.benchmark and torch.backends.cuda.matmul.allow_tf32
        conv = Holder.extractor.features[0]
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            after = Holder.extractor(x)["relu2_1"]
    finally:
        (
            torch.backends.cudnn.benchmark,
            torch.backends.cudnn.allow_tf32,
            torch.backends.cuda.matmul.allow_tf32,
        ) = saved
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


# the style losses timed by the test (the full bench times every option of conf/style_loss)
TIMED_OPTIONS = ("gram", "mean_std", "mrf", "sliced_wasserstein")


@pytest.mark.slow
def test_bench_compares_the_same_work_and_writes_its_report(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "experiments/bench/bench.py"), "--sizes", "32",
         "--iters", "4", "--repeats", "1", "--warmup-iters", "3", "--startup-repeats", "0",
         "--quality-size", "32", "--quality-iters", "6", "--quality-every", "2",
         "--quality", "eval/style_ratio < 0.999 and eval/content_ratio <= 10",
         "--style-losses-size", "64", "--style-losses-iters", "3",
         "--style-losses-options", *TIMED_OPTIONS,
         "--pyramid-sizes", "64", "--pyramid-iters", "6", "--pyramid-every", "2",
         "--feedforward-sizes", "64", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    (row,) = report["sizes"]
    assert row["size"] == 32
    assert row["same_final_loss"]  # (a) and (b) ran the same optimisation
    assert row["closure_evals_per_iter"] == 1  # steady-state L-BFGS: one evaluation per iteration
    assert row["ratio_a_over_b"] > 0 and row["flops"]["forward"] > 0
    assert all(x["peak_mb"] > 100 for x in row["harness"] + row["plain"])
    assert report["largest"]["estimate_px"] > 512  # the memory estimate for this machine
    text = (tmp_path / "bench.md").read_text()
    assert "| 32 |" in text and "## Largest size that fits" in text
    quality = report["quality"]  # time to quality: the first scored step meeting the target
    assert quality["reached"] and quality["step"] in (2, 4, 6) and quality["time_s"] > 0
    assert quality["at_target"]["eval/style_ratio"] < 0.999
    assert "## Time to quality" in text and f"{quality['step']} iterations" in text
    rows = {r["option"]: r for r in report["style_losses"]["rows"]}  # a row per style_loss option
    assert {"gram", "mean_std", "mmd", "wasserstein", "sliced_wasserstein", "mrf"} <= set(
        load_module("style_losses").options()
    )  # every option is found (timed: a subset)
    assert load_module("style_losses").options() == ["gram", *sorted(
        p.stem for p in (REPO / "conf/style_loss").glob("*.yaml") if p.stem != "gram")]  # fmt: skip
    assert list(rows) == ["gram", *sorted(TIMED_OPTIONS[1:])]  # the chosen ones, gram first
    assert rows["gram"]["ratio_to_gram"] == 1 and all(r["s_per_iter"] > 0 for r in rows.values())
    assert rows["mrf"]["estimate_work_mb"] > 10 * rows["gram"]["estimate_work_mb"]
    assert "## Style losses (64 px, plain loop)" in text and "| mrf |" in text
    # coarse to fine: the same target with and without schedule=pyramid, at 64 px
    pyr = {r["schedule"]: r for r in report["pyramid"]["rows"]}
    assert set(pyr) == {"none", "pyramid"} and all(r["size"] == 64 for r in pyr.values())
    assert all(r["reached"] and r["time_s"] > 0 for r in pyr.values())
    assert pyr["none"]["step"] in (2, 4, 6) and pyr["pyramid"]["status"] == "completed"
    # the pyramid starts from the content at half size, upsampled: already a little less like
    # the content, which this loose target can count at step 0
    assert pyr["pyramid"]["step"] in (0, 2, 4, 6)
    assert "## Coarse to fine" in text and "| 64 | `schedule=pyramid` |" in text
    assert [int(c["step"]) for c in pyr["none"]["curve"]] == [0, 2, 4, 6]  # the eval curve
    assert (tmp_path / "pyramid.png").stat().st_size > 10_000  # drawn from those curves
    # the feed-forward network: init=content vs init=feedforward, and its forward pass alone
    ff = report["feedforward"]
    assert [(r["size"], r["init"]) for r in ff["rows"]] == [(64, "content"), (64, "feedforward")]
    assert ff["rows"][1]["start_s"] > 0 and ff["forward"][0]["forward_s"] > 0
    assert "eval/style_ratio" in ff["forward"][0]["eval"] and "## The feed-forward" in text


def test_quality_target_parsing_and_first_reached():
    quality = load_module("quality")
    target = quality.parse_target("eval/style_ratio <= 0.1 and eval/ssim>0.5, eval/x<1e-3")
    assert target == [
        ("eval/style_ratio", "<=", 0.1),
        ("eval/ssim", ">", 0.5),
        ("eval/x", "<", 1e-3),
    ]
    rows = [
        {"step": 20, "eval/a": 0.05, "eval/b": 0.9},
        {"step": 0, "eval/a": 1.0, "eval/b": 0.0},
        {"step": 10, "eval/a": 0.08, "eval/b": 0.2},
    ]
    both = quality.parse_target("eval/a <= 0.1 and eval/b >= 0.5")
    assert quality.first_reached(rows, both)["step"] == 20
    assert quality.first_reached(rows, quality.parse_target("eval/a<=0.1"))["step"] == 10
    assert quality.first_reached(rows, quality.parse_target("eval/a<0")) is None
    assert quality.first_reached(rows, quality.parse_target("eval/missing<1")) is None
    with pytest.raises(SystemExit, match="cannot read"):
        quality.parse_target("eval/a == 1")


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:        50 |         50 |       torch._dynamo.utils
import time:       100 |        150 |     torchvision.ops.roi_align
import time:        20 |        170 |   torchvision
import time:         5 |          5 |     torchmetrics.__about__
import time:        30 |        205 |   torchmetrics.functional
import time:        10 |        215 | lightning_fabric.utilities.imports
import time:         1 |          1 | json
"""


def test_import_chains_from_importtime_output():
    startup = load_module("startup")
    rows = startup.parse_importtime(IMPORTTIME)
    assert rows[0] == (3, "torch._dynamo.utils", 50, 50) and len(rows) == 7
    found = startup.chain(rows, "torch._dynamo")
    assert found == [("torch._dynamo.utils", 50), ("torchvision.ops.roi_align", 150),
                     ("torchvision", 170), ("lightning_fabric.utilities.imports", 215)]  # fmt: skip
    assert startup.crossings(found) == [
        "torchvision.ops.roi_align",
        "lightning_fabric.utilities.imports",
    ]
    # torchmetrics has no line of its own: its chain starts at its outermost module
    assert startup.chain(rows, "torchmetrics")[0] == ("torchmetrics.functional", 205)
    assert startup.chain(rows, "wandb") == []
    assert startup.by_package(rows)["torchvision"] == 120


def test_startup_table_says_whether_nst_is_within_15_percent():
    startup = load_module("startup")
    run = lambda wall, per: {"wall_s": wall, "s_per_iter": per, "startup_s": wall - 30 * per}  # noqa: E731
    whole = {"size": 256, "iterations": 30, "plain": [run(20.0, 0.5)], "nst": [run(22.0, 0.5)],
             "plain_min_wall_s": 20.0, "nst_min_wall_s": 22.0, "plain_min_startup_s": 5.0,
             "nst_min_startup_s": 7.0, "ratio_min_wall": 1.1}  # fmt: skip
    text = "\n".join(startup.markdown(whole, {}))
    assert "| `nst ... logger=csv eval=[]` | 22.00 | 22.00 | 7.00 | 0.500 | nan |" in text
    assert "nst / plain (min wall): 1.10 (within 15%)" in text
    whole["ratio_min_wall"] = 1.2
    assert "1.20 (not within 15%)" in "\n".join(startup.markdown(whole, {}))
    whole.update(nst_min_cpu_s=30.0, plain_min_cpu_s=24.0, ratio_min_cpu=1.25)
    text = "\n".join(startup.markdown(whole, {}))
    assert (
        "| 0.500 | 30.00 |" in text and "nst / plain (min CPU seconds, user + system): 1.25" in text
    )
    assert "| - |" in text and "Same work" not in text  # older records: no counts


def test_startup_table_says_whether_both_did_the_same_work():
    startup = load_module("startup")
    run = lambda n: {"wall_s": 20.0, "s_per_iter": 0.5, "startup_s": 5.0, "evaluations": n}  # noqa: E731
    whole = {"size": 256, "iterations": 30, "plain": [run(30), run(30)], "nst": [run(30)],
             "plain_min_wall_s": 20.0, "nst_min_wall_s": 20.0, "plain_min_startup_s": 5.0,
             "nst_min_startup_s": 5.0, "ratio_min_wall": 1.0}  # fmt: skip
    text = "\n".join(startup.markdown(whole, {}))
    assert "| 5.00 | 0.500 | nan | 30 |" in text
    assert "Same work: both ran 30 forward + backward passes" in text
    whole["nst"] = [run(33), run(33)]  # nst before it recalled L-BFGS's repeated evaluations
    text = "\n".join(startup.markdown(whole, {}))
    assert (
        "**Not the same work**: the plain script ran 30 forward + backward passes, nst 33" in text
    )
    whole["nst"] = [run(33), run(30)]
    assert "| 30/33 |" in "\n".join(startup.markdown(whole, {}))


@pytest.mark.slow
def test_the_plain_script_stylises_on_real_weights(tmp_path, tiny_images):
    content, style = tiny_images
    out = tmp_path / "plain.png"
    proc = subprocess.run(
        [sys.executable, str(REPO / "experiments/bench/plain_script.py"), str(content), str(style),
         str(out), "--size", "32", "--iters", "6"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    losses = result["losses"]
    assert len(losses) == 6 and losses[-1] < 0.7 * losses[0]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))  # L-BFGS descends
    assert result["s_per_iter"] > 0
    assert result["evaluations"] == 6  # torch's L-BFGS, max_iter=1: one closure call per step
    from PIL import Image

    with Image.open(out) as img:
        assert img.size == (32, 24) and img.mode == "RGB"
