"""Ctrl-C on a sweep whose jobs run in worker processes (``hydra/launcher=joblib``).

joblib's loky workers share the terminal's process group, so Ctrl-C reaches them and the
launching process alike; when the launcher's ``Parallel`` sees the first interrupted job (or the
``KeyboardInterrupt`` in itself) it aborts and SIGKILLs every worker, also those still saving
their outputs. So, while such a sweep runs, the launching process (:func:`guard_parent`):
takes SIGINT/SIGTERM without raising, writes a stop mark in the sweep dir and sends SIGTERM to
the workers; each running job saves as interrupted (``run.fit``) and returns normally
(:func:`in_worker`), a job that a worker picks up afterwards sees the mark and leaves nothing
(:func:`stopping`), and once ``Parallel`` has returned the sweep stops with exit code 130
(:func:`raise_if_stopped`, from the ``on_multirun_end`` callback). ``submitit_local`` is not
handled: its controller process stops its jobs itself, and some lose their outputs.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

PARENT = "NST_SWEEP_PID"  # set by the launching process; workers inherit it
MARK = ".nst.stop"
_STATE: dict[str, Any] = {"sweep": None, "signals": [], "in_task": False}


def in_worker() -> bool:
    """Whether this process runs jobs for a sweep launched by another (a joblib worker)."""
    parent = os.environ.get(PARENT)
    return parent is not None and parent != str(os.getpid())


def _forward() -> None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return
    for child in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
            if "popen_loky" in cmd:  # joblib's workers
                child.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass


def _parent_handler(signum: int, frame: Any) -> None:
    _STATE["signals"].append(signum)
    if len(_STATE["signals"]) == 1:
        try:
            (Path(_STATE["sweep"]) / MARK).touch()
        except OSError:
            pass
        _forward()


def guard_parent(sweep_dir: Path, launcher_target: str) -> None:
    """In the launching process of a joblib sweep: the handlers described above."""
    os.environ[PARENT] = str(os.getpid())
    if "joblib" not in launcher_target:  # submitit_local: not handled (see the report)
        return
    _STATE["sweep"] = sweep_dir
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _parent_handler)


def raise_if_stopped(sweep_dir: Path) -> None:
    """After the launcher returned: the stop mark goes, and a received signal stops the sweep."""
    (Path(sweep_dir) / MARK).unlink(missing_ok=True)
    if _STATE["signals"]:
        raise KeyboardInterrupt


def _worker_handler(signum: int, frame: Any) -> None:
    if _STATE["in_task"]:
        raise KeyboardInterrupt


def arm(on: bool) -> None:
    """In a worker: SIGINT/SIGTERM stop the job while it runs, and are ignored between jobs
    (an idle worker that dies would make the launcher kill the others)."""
    _STATE["in_task"] = on
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _worker_handler)


def stopping(run_dir: Path) -> bool:
    """In a worker, for a job about to start: the sweep was stopped; the job's dir (only what
    Hydra made for it: ``.hydra/``, its log) is removed, as if it never started."""
    if not (Path(run_dir).parent / MARK).exists():
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True
