"""Issue 22: Ctrl-C on a sweep whose jobs run in other processes (submitit_local), and the stop
mark that lets a worker's next job leave nothing (nst_research/io/stop.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nst_research.io import stop

NST = [sys.executable, "-m", "nst_research.cli"]
TINY = ["size=32", "trainer.progress_bar=false", "logger=none", "eval=[]",
        "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]"]  # fmt: skip


def default_sigint_new_group() -> None:
    """A terminal's Ctrl-C: SIGINT to a process group (its own), with Python's handler on."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_on_a_submitit_local_sweep_is_one_line_and_every_record_is_true(
    tiny_images, tmp_path
):
    content, style = tiny_images
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [*NST, "-m", f"content={content}", f"style={style}", *TINY, "iterations=100000",
         "snapshot_every=1", "hydra/launcher=submitit_local", "seed=1,2",
         f"hydra.sweep.dir={sweep}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint_new_group,
    )  # fmt: skip
    deadline = time.time() + 300
    # the file that proves job 0 optimises (and has an image to keep): its step-2 snapshot
    while not (sweep / "0" / "snapshots" / "step_00002.png").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # the launcher, submitit's controllers and the jobs
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "Traceback" not in out, err[-3000:]
    assert err.splitlines()[-1] == (
        "interrupted: the sweep stopped; the running jobs saved their outputs as interrupted and "
        "later jobs did not start"
    )
    record = json.loads((sweep / "0" / "metrics.json").read_text())
    assert record["status"] == "interrupted" and record["iterations"] >= 2
    assert (sweep / "0" / "final.png").exists() and (sweep / "0" / "checkpoint.ckpt").exists()
    # job 1 was starting or optimising: interrupted too (with its image if it had one), or,
    # if it had not reached its task, gone as if never started; never a dir without a record
    jobs = sorted(p.name for p in sweep.iterdir() if p.name.isdigit())
    for job in jobs:
        record = json.loads((sweep / job / "metrics.json").read_text())
        assert record["status"] == "interrupted", record
        if record.get("iterations"):
            assert (sweep / job / "final.png").exists()
    assert f"0 of {len(jobs)} jobs completed; {len(jobs)} interrupted" in err
    assert not (sweep / stop.MARK).exists()


def test_a_stopped_jobs_mark_makes_the_next_job_leave_nothing_and_stops_the_sweep(
    tmp_path, monkeypatch
):
    """The race behind the flaky joblib test: the worker whose job a signal stopped marks the
    sweep stopped before it returns, so the job the launcher hands out next never starts, even
    when the launching process has not yet run its own handler."""
    monkeypatch.setitem(stop._STATE, "signals", [])
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "2" / ".hydra").mkdir(parents=True)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.arm(True)
        assert not stop.stopping(sweep / "2")  # no stop yet: job 2 may start
        stop.stopped(sweep / "0")  # job 0 was interrupted: the mark, before it returns
        assert stop.stopping(sweep / "2") and not (sweep / "2").exists()
        os.kill(os.getpid(), signal.SIGTERM)  # the launcher's forwarded SIGTERM, late: absorbed
        stop.arm(False)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    with pytest.raises(KeyboardInterrupt):  # the launcher stops the sweep (exit code 130)
        stop.raise_if_stopped(sweep)
    assert not (sweep / stop.MARK).exists()


def test_a_worker_raises_once_per_job(monkeypatch):
    """The first signal stops the job; a second (Ctrl-C and the launcher's SIGTERM both arrive)
    is absorbed while the job records how it ended."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.arm(True)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # delivered: nothing raised
        stop.arm(False)
        stop.arm(True)  # the next job can be stopped again
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        stop.arm(False)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
