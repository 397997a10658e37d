"""Issue 14 item 4: a signal while a run saves its outputs waits until they are on disk."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from nst_research.engine import signals

TINY = ["size=32", "trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]",
        "layers.content=[relu2_1]", "logger=none"]  # fmt: skip

# Runs the CLI; in the middle of the save (between final.png and losses.csv) the process sends
# itself the signal named by argv[1], and gives it time to arrive before the save goes on.
SIGNAL_MID_SAVE = textwrap.dedent(
    """
    import os, signal, sys, time
    from nst_research import cli

    from nst_research.engine import callbacks
    sig = getattr(signal, sys.argv[1])
    real = callbacks.LossHistory.write_csv

    def write_csv(self, path):
        os.kill(os.getpid(), sig)
        time.sleep(0.5)
        real(self, path)
        print("saved losses.csv", flush=True)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    callbacks.LossHistory.write_csv = write_csv
    sys.argv = ["nst", *sys.argv[2:]]
    cli.main()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_while_saving_waits_for_the_outputs(tiny_images, tmp_path, sig):
    content, style = tiny_images
    run_dir = tmp_path / "run"
    script = tmp_path / "signal_mid_save.py"
    script.write_text(SIGNAL_MID_SAVE)
    proc = subprocess.run(
        [sys.executable, str(script), sig, f"content={content}", f"style={style}", *TINY,
         "iterations=3", "checkpoint=always", f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stdout[-1000:] + proc.stderr[-2000:]  # then it stops
    assert "saved losses.csv" in proc.stdout and "Traceback" not in proc.stderr
    assert "they were saved first" in proc.stderr and "sweep" not in proc.stderr  # one run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 3
    assert Image.open(run_dir / "final.png").size == (32, 24)
    assert len((run_dir / "losses.csv").read_text().splitlines()) == 1 + 3
    assert (run_dir / "eval.csv").exists() and (run_dir / "checkpoint.ckpt").exists()
    assert not [p for p in run_dir.rglob("*") if p.name.endswith(".tmp")]


def test_signals_deferred_holds_both_signals_then_stops():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals.signals_deferred() as received:
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)
            done.append("saved")  # reached: neither signal interrupted the block
    assert done == ["saved"] and received == [signal.SIGTERM, signal.SIGINT]
    assert {s: signal.getsignal(s) for s in before} == before
    with signals.signals_deferred() as received:  # no signal: no stop
        pass
    assert received == []
