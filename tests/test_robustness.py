"""Faults never lose finished work: interruption, divergence, resume, W&B faults, no overwrite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from nst_research.engine.memory import check_fits, estimate_bytes, peak_mb, reset_peak
from nst_research.errors import ConfigError, InputImageError
from nst_research.run import run
from tests.conftest import REPO

NST = [sys.executable, "-m", "nst_research.cli"]
TINY = ["size=32", "trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]",
        "layers.content=[relu2_1]"]  # fmt: skip


def pixels(path: Path) -> bytes:
    return Image.open(path).tobytes()


def wandb_summary(run_dir: Path) -> dict:
    (offline,) = list((run_dir / "wandb").glob("offline-run-*"))
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "wandb"), "leet", "inspect", "--summary", "--json",
         str(offline)], capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def default_sigint() -> None:
    """Ctrl-C reaches the run even when the tests were started in the background (a shell's
    background jobs ignore SIGINT, and a child inherits that: Python then never raises it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def communicate(proc: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    """``proc.communicate``; on a timeout the process is killed and its output shown."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"no exit {timeout} s after the signal; output:\n{out[-3000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupt_keeps_image_snapshots_metrics_and_finishes_wandb(tiny_images, tmp_path, sig):
    content, style = tiny_images
    run_dir = tmp_path / "run"
    logger = "logger=wandb" if sig == signal.SIGTERM else "logger=none"
    proc = subprocess.Popen(
        [*NST, f"content={content}", f"style={style}", *TINY, "iterations=100000",
         "snapshot_every=3", logger, f"hydra.run.dir={run_dir}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.time() + 300  # generous: a loaded 2-core CI machine is slow to start
    while not (run_dir / "snapshots" / "step_00003.png").exists():
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
        time.sleep(0.2)
    proc.send_signal(sig)
    out, _ = communicate(proc)
    assert proc.returncode == 130, out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and 3 <= metrics["iterations"] < 100000
    assert Image.open(run_dir / "final.png").size == (32, 24)
    assert (run_dir / "checkpoint.ckpt").exists() and (run_dir / "losses.csv").exists()
    assert "interrupted" in out
    if sig == signal.SIGTERM:
        summary = wandb_summary(run_dir)
        assert summary["summary"]["status"] == "interrupted" and summary["exit_code"] != 0


@pytest.mark.slow
def test_a_signal_during_a_sweep_stops_the_sweep(tiny_images, tmp_path):
    """Issue 14: the current job saves as interrupted, later jobs do not start, exit code 130."""
    content, style = tiny_images
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [*NST, "-m", f"content={content}", f"style={style}", *TINY, "iterations=100000",
         "snapshot_every=3", "logger=none", "seed=1,2,3", f"hydra.sweep.dir={sweep}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.time() + 300  # generous: a loaded 2-core CI machine is slow to start
    while not (sweep / "0" / "snapshots" / "step_00003.png").exists():
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = communicate(proc)
    assert proc.returncode == 130, out
    assert json.loads((sweep / "0" / "metrics.json").read_text())["status"] == "interrupted"
    assert (sweep / "0" / "final.png").exists()
    assert not (sweep / "1").exists() and not (sweep / "2").exists()
    assert "the sweep stopped" in out


@pytest.mark.slow
def test_resume_n_plus_n_equals_2n_to_the_pixel(compose, tiny_images, tmp_path):
    content, style = tiny_images
    base = [f"content={content}", f"style={style}", *TINY, "logger=none", "init=noise",
            "checkpoint=always", "snapshot_every=0"]  # fmt: skip
    run(compose([*base, "iterations=5"]), tmp_path / "first")
    resumed = run(
        compose([*base, "iterations=10"]),
        tmp_path / "second",
        resume_from=tmp_path / "first" / "checkpoint.ckpt",
    )
    straight = run(compose([*base, "iterations=10"]), tmp_path / "straight")
    assert resumed["iterations"] == straight["iterations"] == 10
    assert pixels(tmp_path / "second" / "final.png") == pixels(tmp_path / "straight" / "final.png")
    lines = (tmp_path / "second" / "losses.csv").read_text().splitlines()
    assert lines == (tmp_path / "straight" / "losses.csv").read_text().splitlines()


@pytest.mark.slow
def test_cli_resume_and_bad_resume(tiny_images, tmp_path):
    content, style = tiny_images
    first = tmp_path / "first"
    args = [f"content={content}", f"style={style}", *TINY, "logger=none", "checkpoint=always"]
    subprocess.run([*NST, *args, "iterations=3", f"hydra.run.dir={first}"], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    proc = subprocess.run(
        [*NST, f"resume={first}", "iterations=6", f"hydra.run.dir={tmp_path / 'second'}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "second" / "metrics.json").read_text())
    assert metrics["iterations"] == 6 and metrics["resumed_from"].endswith("checkpoint.ckpt")
    proc = subprocess.run([*NST, f"resume={tmp_path / 'nothing'}"], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot resume from")


@pytest.mark.slow
def test_divergence_keeps_last_finite_image_and_marks_run(tiny_images, tmp_path):
    content, style = tiny_images
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [*NST, f"content={content}", f"style={style}", *TINY, "optimizer=sgd",
         "optimizer.lr=1e30", "iterations=20", "logger=wandb", f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "diverged" and metrics["iterations"] < 20
    final = torch.tensor(list(pixels(run_dir / "final.png")), dtype=torch.float32)
    assert final.std() > 1  # a real image, not a blank from NaNs
    assert wandb_summary(run_dir)["summary"]["status"] == "diverged"


def test_existing_run_is_never_clobbered(compose, tiny_images, tmp_path):
    content, style = tiny_images
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "final.png").write_bytes(b"precious")
    with pytest.raises(ConfigError, match="already holds a finished run"):
        run(compose([f"content={content}", f"style={style}", *TINY, "logger=none"]), run_dir)
    assert (run_dir / "final.png").read_bytes() == b"precious"


@pytest.mark.slow
def test_a_crash_inside_the_optimisation_is_failed_not_interrupted(tiny_images, tmp_path):
    """Issue 14: a corrupt checkpoint given to resume= fails inside the fit: status failed with
    the error, one line, exit 1, and no checkpoint to resume the broken run from."""
    content, style = tiny_images
    first = tmp_path / "first"
    args = [f"content={content}", f"style={style}", *TINY, "logger=none", "iterations=2"]
    done = subprocess.run([*NST, *args, "checkpoint=always", f"hydra.run.dir={first}"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (first / "checkpoint.ckpt").write_bytes(b"not a checkpoint")
    again = tmp_path / "again"
    proc = subprocess.run(
        [*NST, f"resume={first}", "iterations=4", f"hydra.run.dir={again}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "the run failed" in lines[0] and "Traceback" not in proc.stderr
    record = json.loads((again / "metrics.json").read_text())
    assert record["status"] == "failed" and record["error"]
    assert not (again / "checkpoint.ckpt").exists() and (again / "final.png").exists()


def test_a_refused_command_never_touches_the_finished_run(tmp_path):
    """Issue 14: Hydra used to rewrite the finished run's .hydra/ files before the refusal."""
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "final.png").write_bytes(b"precious")
    (run_dir / ".hydra" / "config.yaml").write_text("size: 99\n")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    proc = subprocess.run(
        [*NST, "size=32", "logger=none", f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "already holds a finished run" in proc.stderr
    after = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing rewritten


@pytest.mark.slow
def test_two_runs_started_together_get_distinct_dirs(tiny_images, tmp_path):
    content, style = tiny_images
    args = [*NST, f"content={content}", f"style={style}", *TINY, "iterations=1", "logger=none"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]  # fmt: skip
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    finals = list((tmp_path / "outputs").rglob("final.png"))
    assert len(finals) == 2 and finals[0].parent != finals[1].parent


def test_a_large_style_image_counts_in_the_memory_check():
    """Issue 14: the style's forward pass (style_scale) is checked too, and the advice fits."""
    cpu = torch.device("cpu")
    assert check_fits(256, 256, "relu5_1", "vgg19", 100, cpu, available=2**30, style_hw=(256, 256))
    with pytest.raises(InputImageError) as e:
        check_fits(256, 256, "relu5_1", "vgg19", 100, cpu, available=2**30, style_hw=(4096, 4096))
    msg = str(e.value)
    assert "4096x4096 px style image" in msg and "style_scale" in msg and "\n" not in msg
    advised = int(msg.split("use size=")[1].split()[0])
    style = round(4096 * advised / 256)  # size= scales the style with the content
    assert estimate_bytes(advised, advised, "relu5_1", style_hw=(style, style)) <= 2**30
    assert check_fits(advised, advised, "relu5_1", "vgg19", 100, cpu, available=2**30,
                      style_hw=(style, style))  # fmt: skip


def test_size_that_cannot_fit_is_refused_with_the_largest_that_fits():
    assert estimate_bytes(512, 512, "relu5_1") > 3.5 * estimate_bytes(256, 256, "relu5_1")
    with pytest.raises(InputImageError) as e:
        check_fits(4000, 3000, "relu5_1", "vgg19", 100, torch.device("cpu"), available=2**30)
    msg = str(e.value)
    assert "needs about" in msg and "use size=" in msg and "\n" not in msg
    largest = int(msg.split("use size=")[1].split()[0])
    assert 128 <= largest < 4000
    assert estimate_bytes(largest, round(3000 * largest / 4000), "relu5_1") <= 2**30
    bigger = largest + 1  # and it is the largest: one pixel more does not fit
    assert estimate_bytes(bigger, round(3000 * bigger / 4000), "relu5_1") > 2**30
    assert check_fits(64, 64, "relu5_1", "vgg19", 100, torch.device("cpu"), available=2**30) > 0


def test_image_too_small_for_the_deepest_layer(compose, tiny_images, tmp_path):
    content, style = tiny_images
    with pytest.raises(InputImageError, match="at least 16 px"):
        run(compose([f"content={content}", f"style={style}", "size=12", "logger=none"]),
            tmp_path / "run")  # fmt: skip


@pytest.mark.slow
def test_wandb_online_without_credentials_falls_back_offline(tiny_images, tmp_path):
    content, style = tiny_images
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env.update(HOME=str(tmp_path), WANDB_BASE_URL="http://127.0.0.1:9")
    run_dir = tmp_path / "run"
    start = time.time()
    proc = subprocess.run(
        [*NST, f"content={content}", f"style={style}", *TINY, "iterations=2",
         "logger.mode=online", f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "needs credentials" in proc.stderr and "logging offline" in proc.stderr
    assert list((run_dir / "wandb").glob("offline-run-*")) and (run_dir / "final.png").exists()
    env["WANDB_API_KEY"] = "x" * 40
    proc = subprocess.run(
        [*NST, f"content={content}", f"style={style}", *TINY, "iterations=2",
         "logger.mode=online", f"hydra.run.dir={tmp_path / 'run2'}"],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert proc.returncode == 0 and "cannot reach W&B" in proc.stderr
    assert time.time() - start < 150  # no hang


@pytest.mark.slow
def test_wandb_unable_to_write_still_completes(tiny_images, tmp_path, monkeypatch, capsys, compose):
    """W&B failing to start (here: its init raises as on a read-only or full disk) costs a run
    nothing but the W&B record. (A stray file in the run dir no longer gets that far: issue 22
    refuses a directory holding anything, so the failure is injected at wandb.init.)"""
    import wandb

    def broken_init(*args, **kwargs):
        raise OSError(30, "Read-only file system", str(tmp_path / "run" / "wandb"))

    monkeypatch.setattr(wandb, "init", broken_init)
    content, style = tiny_images
    run_dir = tmp_path / "run"
    cfg = compose([f"content={content}", f"style={style}", *TINY, "iterations=2", "logger=wandb"])
    metrics = run(cfg, run_dir)
    assert "W&B could not start" in capsys.readouterr().err
    assert metrics["status"] == "completed"
    assert (run_dir / "final.png").exists()
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_cpu_peak_memory_is_per_window_not_per_process():
    """metrics.json and the bench report the peak of one run, not of everything before it."""
    assert reset_peak("cpu")
    base = peak_mb("cpu")
    big = torch.ones(300 * 2**20 // 4)  # 300 MiB, touched
    assert peak_mb("cpu") >= base + 290
    del big
    assert reset_peak("cpu")
    assert peak_mb("cpu") < base + 100  # the earlier 300 MiB no longer counts
