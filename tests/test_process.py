"""Side effects at the edges: a run's process-wide settings are undone after it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import warnings

import pytest
import torch

from nst_research.engine import process, signals
from nst_research.tracking import loggers


def snapshot() -> dict:
    return {
        "threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "sigint": signal.getsignal(signal.SIGINT),
        "sigterm": signal.getsignal(signal.SIGTERM),
        "filters": list(warnings.filters),
        "level": logging.getLogger("pytorch_lightning.utilities.rank_zero").level,
        "env": {k: os.environ.get(k) for k in ("WANDB_MODE", "PL_GLOBAL_SEED")},
    }


@pytest.mark.parametrize("fails", [False, True])
def test_run_settings_are_restored(fails):
    before = snapshot()
    trainer = {"threads": 1 if before["threads"] != 1 else 2, "cudnn_benchmark": True, "tf32": True}
    with pytest.raises(RuntimeError) if fails else _nothing():
        with process.run_settings(trainer):
            process.gpu_backend_flags(trainer)  # the builder sets them, once (build.apply_fast_gpu)
            inside = snapshot()
            assert inside["threads"] == trainer["threads"]
            assert inside["cudnn_benchmark"] and inside["matmul_tf32"] and inside["cudnn_tf32"]
            assert len(inside["filters"]) > len(before["filters"])
            assert inside["level"] == logging.WARNING
            os.environ["WANDB_MODE"] = "disabled"
            os.environ["PL_GLOBAL_SEED"] = "123"
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # as Lightning does during a fit
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if fails:
                raise RuntimeError("the run failed")
    assert snapshot() == before


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_interrupts_turn_sigterm_into_keyboard_interrupt_and_restore_handlers():
    before = snapshot()
    with pytest.raises(KeyboardInterrupt):
        with signals.interrupts():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause() if hasattr(signal, "pause") else None
    after = snapshot()
    assert after["sigint"] is before["sigint"] and after["sigterm"] is before["sigterm"]


def test_wandb_logger_mode_is_checked_when_built():
    from nst_research.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown logger.mode='sometimes'"):
        loggers.WandbLog(mode="sometimes")
    assert loggers.WandbLog(mode="disabled").mode == "disabled"
    assert loggers.NoLogger()("dir", "name", None, "stylize") is False


def _python(code: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip


def test_exit_now_flushes_and_keeps_the_code_and_waits_for_working_threads(tmp_path):
    """``nst``'s exit after a single run skips the interpreter's teardown: buffered output and
    log records still arrive, the exit code is kept; a non-daemon thread still at work makes it
    step aside (the normal exit waits for the thread, whose file then appears)."""
    done = _python(
        "import logging, sys\n"
        "from nst_research.engine.process import exit_now\n"
        "logging.basicConfig(filename='run.log', level=logging.INFO)\n"
        "logging.info('logged before the exit')\n"
        "sys.stdout.write('no newline, still buffered')\n"
        "exit_now(3)\n"
        "print('not reached')\n",
        tmp_path,
    )
    assert done.returncode == 3 and done.stdout == "no newline, still buffered"
    assert "logged before the exit" in (tmp_path / "run.log").read_text()
    done = _python(
        "import threading, time, pathlib\n"
        "from nst_research.engine.process import exit_now\n"
        "def work():\n"
        "    time.sleep(1.0); pathlib.Path('late.txt').write_text('written')\n"
        "threading.Thread(target=work).start()\n"
        "exit_now(5)\n"
        "print('normal exit')\n",
        tmp_path,
    )
    assert done.returncode == 0 and "normal exit" in done.stdout
    assert (tmp_path / "late.txt").read_text() == "written"
