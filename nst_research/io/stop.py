"""Ctrl-C on a sweep whose jobs run in worker processes (``hydra/launcher=joblib``).

joblib's loky workers share the terminal's process group, so Ctrl-C reaches them and the
launching process alike; when the launcher's ``Parallel`` sees the first interrupted job (or the
``KeyboardInterrupt`` in itself) it aborts and SIGKILLs every worker, also those still saving
their outputs. So, while such a sweep runs, the launching process (:func:`guard_parent`):
takes SIGINT/SIGTERM without raising, writes a stop mark in the sweep dir and sends SIGTERM to
the workers; each running job saves as interrupted (``run.fit``) and returns normally
(:func:`in_worker`), a job that a worker picks up afterwards sees the mark and leaves nothing
(:func:`stopping`), and once ``Parallel`` has returned the sweep stops with exit code 130
(:func:`raise_if_stopped`, from the ``on_multirun_end`` callback).

``hydra/launcher=submitit_local`` runs each job as a task process under a controller process
(``submitit.local._local``), all in the terminal's process group. On Ctrl-C a controller raises
``KeyboardInterrupt`` (a traceback on the terminal), sends SIGINT to its task and SIGKILLs it
a second later, saved or not. So the controllers are started with SIGINT ignored
(:func:`_quiet_controllers`; an ignored signal stays ignored across ``exec``, and their tasks
inherit it until the job arms its own handler), and the launching process does as for joblib:
it writes the stop mark and sends SIGTERM to the tasks, which save and return. A Ctrl-C in the
milliseconds in which a controller is being started is ignored (press it again).
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

PARENT = "NST_SWEEP_PID"  # set by the launching process; workers inherit it
MARK = ".nst.stop"
_STATE: dict[str, Any] = {"sweep": None, "signals": [], "in_task": False, "raised": False}
# the processes that run jobs: joblib's loky workers, submitit_local's tasks
_JOB_PROCESSES = ("popen_loky", "submitit.core._submit")


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
            if any(name in cmd for name in _JOB_PROCESSES):
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
    """In the launching process of a joblib or submitit_local sweep: the handlers described
    above (other launchers run their jobs in this process, or elsewhere: nothing to do)."""
    os.environ[PARENT] = str(os.getpid())
    if launcher_target.endswith("submitit_launcher.LocalLauncher"):
        _quiet_controllers()
    elif "joblib" not in launcher_target:
        return
    _STATE["sweep"] = sweep_dir
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _parent_handler)


def _quiet_controllers() -> None:
    """Start submitit_local's controller processes with SIGINT ignored (see the module doc)."""
    from submitit.local import local

    original = local.start_controller
    if getattr(original, "nst_quiet", False):
        return

    def start_controller(*args: Any, **kwargs: Any) -> Any:
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the child
        try:
            return original(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, handler)

    start_controller.nst_quiet = True  # type: ignore[attr-defined]
    local.start_controller = start_controller


def raise_if_stopped(sweep_dir: Path) -> None:
    """After the launcher returned: the stop mark goes; a signal received here, or a job a
    signal stopped in its worker (it left the mark), stops the sweep."""
    mark = Path(sweep_dir) / MARK
    marked = mark.exists()
    mark.unlink(missing_ok=True)
    if _STATE["signals"] or marked:
        raise KeyboardInterrupt


def _worker_handler(signum: int, frame: Any) -> None:
    if _STATE["in_task"] and not _STATE["raised"]:  # one stop per job; the rest wait for it
        _STATE["raised"] = True
        raise KeyboardInterrupt


def arm(on: bool) -> None:
    """In a worker: SIGINT/SIGTERM stop the job while it runs (the first one raises, later ones
    are absorbed while it saves), and are ignored between jobs (an idle worker that dies
    would make the launcher kill the others)."""
    _STATE["in_task"], _STATE["raised"] = on, False
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _worker_handler)


def stopping(run_dir: Path) -> bool:
    """In a worker, for a job about to start: the sweep was stopped; the job's dir (only what
    Hydra made for it: ``.hydra/``, its log) is removed, as if it never started. Call it armed
    (:func:`arm`): a stop before the check is in the mark, one after it raises."""
    if not (Path(run_dir).parent / MARK).exists():
        return False
    _STATE["in_task"] = False  # a signal from now on is this same stop: nothing to raise
    shutil.rmtree(run_dir, ignore_errors=True)
    return True


def stopped(run_dir: Path) -> None:
    """In a worker, for a job a signal stopped: mark the sweep stopped, before the job returns,
    so that a job the launcher hands this or another worker next leaves nothing, even if the
    launching process has not yet run its own handler (it runs between two of its bytecodes,
    which can be when this job's result arrives, after the next job was handed out)."""
    try:
        (Path(run_dir).parent / MARK).touch()
    except OSError:
        pass
