"""Issue 22, records: one directory, one run; sweeps never rewrite a sweep; strict JSON."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nst_research.io import locks
from nst_research.io.files import write_json

NST = [sys.executable, "-m", "nst_research.cli"]
TINY = ["size=32", "trainer.progress_bar=false", "logger=none", "eval=[]",
        "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]"]  # fmt: skip


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def nst(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*NST, *args], capture_output=True, text=True, timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return lines[0]


def no_nan(name: str) -> float:
    raise ValueError(f"not JSON: {name}")


# --- locks -------------------------------------------------------------------------------------

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from nst_research.io import locks
    locks.acquire(Path(sys.argv[1]))
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_a_locked_dir_is_refused_with_its_owner_and_a_dead_owner_frees_it(tmp_path):
    target = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(target)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(locks.DirInUse, match=f"pid {holder.pid} on "):
            locks.acquire(target)
    finally:
        holder.kill()  # SIGKILL: no clean-up ran, the lock file stays, the kernel's lock is gone
        holder.wait()
    assert (target / locks.LOCK_NAME).exists()
    assert locks.acquire(target) is False  # taken (the dir was not made by this process)
    assert locks.held(target) and locks.held(target / "0")
    locks.release(target)
    assert not (target / locks.LOCK_NAME).exists() and target.is_dir()


def test_release_removes_a_dir_it_made_when_empty(tmp_path):
    target = tmp_path / "new" / "run"
    assert locks.acquire(target) is True
    assert locks.entries(target) == []
    locks.release(target)
    assert not target.exists()


# --- single runs -------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_runs_on_one_dir_one_is_refused_and_the_record_is_one_runs(tiny_images, tmp_path):
    content, style = tiny_images
    run_dir = tmp_path / "run"
    procs = [
        subprocess.Popen([*NST, f"content={content}", f"style={style}", *TINY, "iterations=3",
                          f"seed={seed}", f"hydra.run.dir={run_dir}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    refused = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 2)
    assert refused.strip().count("\n") == 0 and refused.startswith("error: ")
    assert "in use by another run" in refused or "already holds a finished run" in refused
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    record = json.loads((run_dir / "metrics.json").read_text())
    assert f"seed: {record['seed']}\n" in config  # the config and the record are one run's
    assert not (run_dir / locks.LOCK_NAME).exists()


def run_dir_states(tmp_path: Path) -> dict[str, Path]:
    """Directories as runs leave them: killed (SIGKILL: no record), interrupted, failed."""
    killed = tmp_path / "killed"
    (killed / ".hydra").mkdir(parents=True)
    (killed / ".hydra" / "config.yaml").write_text("size: 99\n")
    (killed / "snapshots").mkdir()
    (killed / "snapshots" / "step_00003.png").write_bytes(b"old snapshot")
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    (stopped / "final.png").write_bytes(b"image")
    (stopped / "checkpoint.ckpt").write_bytes(b"ckpt")
    (stopped / "metrics.json").write_text('{"status": "interrupted", "iterations": 5}')
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "metrics.json").write_text('{"status": "failed", "error": "x"}')
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    return {"killed": killed, "stopped": stopped, "failed": failed, "stray": stray}


def test_a_dir_holding_another_runs_files_is_refused_whatever_its_state(tmp_path):
    expected = {
        "killed": "never wrote its record (killed?)",
        "stopped": "already holds a finished run",  # final.png: refused before Hydra starts
        "failed": "a run that ended failed",
        "stray": "is not empty (notes.txt)",
    }
    for state, run_dir in run_dir_states(tmp_path).items():
        before = hashes(run_dir)
        proc = nst(*TINY, "iterations=2", f"hydra.run.dir={run_dir}")
        assert proc.returncode == 2, proc.stderr[-2000:]
        line = one_error_line(proc)
        assert expected[state] in line and "choose another hydra.run.dir" in line
        if state == "stopped":
            assert f"resume={run_dir}" in line
        assert hashes(run_dir) == before  # nothing written, nothing rewritten
        assert not (run_dir / locks.LOCK_NAME).exists()


def test_resume_with_no_more_iterations_than_done_is_one_line(tmp_path):
    old = tmp_path / "old"
    (old / ".hydra").mkdir(parents=True)
    (old / ".hydra" / "config.yaml").write_text("iterations: 4\n")
    (old / "checkpoint.ckpt").write_bytes(b"ckpt")
    (old / "metrics.json").write_text('{"status": "completed", "iterations": 4}')
    new = tmp_path / "new"
    for given in (["iterations=2"], ["iterations=4"], []):
        proc = nst(f"resume={old}", *given, f"hydra.run.dir={new}", timeout=120)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.count("\n") == 1, proc.stderr
        assert f"cannot resume {old} to iterations=" in proc.stderr
        assert "it already did 4 iterations" in proc.stderr and "iterations=8" in proc.stderr
        assert not new.exists()


# --- sweeps ------------------------------------------------------------------------------------


def test_a_sweep_into_a_dir_holding_a_sweep_is_refused_and_nothing_is_rewritten(tmp_path):
    sweep = tmp_path / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    (sweep / "0" / ".hydra" / "config.yaml").write_text("loss:\n  style_weight: 1000.0\n")
    (sweep / "0" / "metrics.json").write_text('{"status": "interrupted"}')
    before = hashes(sweep)
    proc = nst("-m", *TINY, "iterations=2", "loss.style_weight=5,6", f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = one_error_line(proc)
    assert line == (
        f"error: {sweep} already holds a sweep (jobs 0); choose another hydra.sweep.dir, or go on "
        f"with that sweep: nst resume={sweep}"
    )
    assert "interrupted" not in proc.stderr and "jobs completed" not in proc.stderr
    assert hashes(sweep) == before and sorted(os.listdir(sweep)) == ["0", "multirun.yaml"]


@pytest.mark.slow
def test_resume_of_a_stopped_sweep_runs_only_the_jobs_that_did_not_complete(tiny_images, tmp_path):
    content, style = tiny_images
    sweep = tmp_path / "sweep"
    args = [f"content={content}", f"style={style}", *TINY, "iterations=2"]
    first = nst("-m", *args, "loss.style_weight=1e3,1e4,1e5", f"hydra.sweep.dir={sweep}")
    assert first.returncode == 0, first.stderr[-3000:]
    # as a stop leaves it: job 1 interrupted (its record says so), job 2 never started
    record = json.loads((sweep / "1" / "metrics.json").read_text())
    (sweep / "1" / "metrics.json").write_text(json.dumps({**record, "status": "interrupted"}))
    stopped_job = hashes(sweep / "1")
    subprocess.run(["rm", "-r", str(sweep / "2")], check=True)
    kept = {k: v for k, v in hashes(sweep).items() if k.startswith("0/") or k == "multirun.yaml"}
    proc = nst(f"resume={sweep}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 of 3 jobs completed" in proc.stderr
    after = hashes(sweep)
    assert {k: after[k] for k in kept} == kept  # job 0 and multirun.yaml untouched
    assert hashes(sweep / ".stopped" / "1-1") == stopped_job  # the stopped job, set aside whole
    for job, weight in (("1", "10000.0"), ("2", "100000.0")):
        assert json.loads((sweep / job / "metrics.json").read_text())["status"] == "completed"
        assert f"style_weight: {weight}\n" in (sweep / job / ".hydra" / "config.yaml").read_text()
    again = nst("-m", *args, "loss.style_weight=1e3,1e4,1e5", f"hydra.sweep.dir={sweep}")
    assert again.returncode == 2 and "already holds a sweep (jobs 0, 1, 2)" in again.stderr


def test_resume_of_a_sweep_takes_no_other_arguments(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    proc = nst(f"resume={sweep}", "loss.style_weight=5", timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "takes no other arguments (got loss.style_weight=5)" in proc.stderr


def default_sigint_new_group() -> None:
    """A terminal's Ctrl-C: SIGINT to a process group (its own), with Python's handler on."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_on_a_joblib_sweep_saves_the_running_jobs(tiny_images, tmp_path):
    content, style = tiny_images
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [*NST, "-m", f"content={content}", f"style={style}", *TINY, "iterations=100000",
         "snapshot_every=1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2,3",
         f"hydra.sweep.dir={sweep}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_sigint_new_group,
    )  # fmt: skip
    deadline = time.time() + 300
    while not all((sweep / j / "snapshots" / "step_00002.png").exists() for j in "01"):
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, out[-3000:]
    for job in "01":
        record = json.loads((sweep / job / "metrics.json").read_text())
        assert record["status"] == "interrupted" and record["iterations"] >= 2
        assert (sweep / job / "final.png").exists() and (sweep / job / "checkpoint.ckpt").exists()
    assert not (sweep / "2").exists()
    assert "0 of 2 jobs completed; 2 interrupted" in out and "the sweep stopped" in out
    assert sorted(os.listdir(sweep)) == ["0", "1", "multirun.yaml"]


# --- what is written ---------------------------------------------------------------------------


def test_write_json_is_strict_and_names_the_non_finite_values(tmp_path):
    path = write_json(tmp_path / "m.json", {"objective": math.inf, "eval": {"a": math.nan},
                                            "s": [1.0, -math.inf], "ok": 2.5})  # fmt: skip
    record = json.loads(path.read_text(), parse_constant=no_nan)
    assert record == {
        "objective": None, "eval": {"a": None}, "s": [1.0, None], "ok": 2.5,
        "non_finite": {"objective": "inf", "eval.a": "nan", "s[1]": "-inf"},
    }  # fmt: skip


@pytest.mark.slow
def test_a_non_finite_objective_is_null_in_metrics_json(tiny_images, tmp_path):
    content, style = tiny_images
    run_dir = tmp_path / "run"
    proc = nst(f"content={content}", f"style={style}", *TINY, "iterations=2",
               "objective=1e400*loss/total", f"hydra.run.dir={run_dir}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((run_dir / "metrics.json").read_text(), parse_constant=no_nan)
    assert record["objective"] is None and record["non_finite"] == {"objective": "inf"}
    assert record["status"] == "completed"


FULL_AT_HYDRA = textwrap.dedent(
    """
    import errno, sys
    from nst_research import cli

    from nst_research.io import files
    real = files._write_file

    def write_file(tmp, data):
        if "hydra.yaml" not in tmp.name:
            return real(tmp, data)
        tmp.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    files._write_file = write_file
    sys.argv = ["nst", *sys.argv[1:]]
    cli.main()
    """
)


def test_a_full_disk_at_hydras_own_files_is_one_line_and_leaves_no_part_file(tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "full.py"
    script.write_text(FULL_AT_HYDRA)
    proc = subprocess.run([sys.executable, str(script), *TINY, f"hydra.run.dir={run_dir}"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = one_error_line(proc)
    assert f"no space left in {run_dir / '.hydra'}: writing hydra.yaml" in line
    assert line.endswith("the run did not start")
    # config.yaml (written first), the empty job log and the dir the run made: all gone
    assert not run_dir.exists()


def test_an_api_run_into_a_killed_runs_dir_is_refused(compose, tiny_images, tmp_path):
    from nst_research.errors import ConfigError
    from nst_research.run import run

    content, style = tiny_images
    run_dir = tmp_path / "run"
    (run_dir / "snapshots").mkdir(parents=True)
    (run_dir / "snapshots" / "step_00003.png").write_bytes(b"old")
    with pytest.raises(ConfigError, match=r"already holds another run's files \(snapshots\)"):
        run(compose([f"content={content}", f"style={style}", *TINY]), run_dir)
    assert os.listdir(run_dir) == ["snapshots"]
