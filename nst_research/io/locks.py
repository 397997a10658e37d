"""One directory, one run: an exclusive lock on a run or sweep directory, held until exit.

The lock is ``fcntl.flock`` on ``<dir>/.nst.lock``, a file holding the owner's pid and host
(for the refusal's message). The kernel drops the lock when its process dies, SIGKILL included,
so a lock left by a dead process is stale by construction: the next run takes it. A lock is
re-entrant in its process (a sweep's in-process jobs, the build step after the CLI's callback).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import socket
from pathlib import Path

from nst_research.errors import NSTError

LOCK_NAME = ".nst.lock"
_HELD: dict[Path, tuple[int, bool]] = {}  # dir -> (fd of its lock file, dir made by this process)


class DirInUse(NSTError):
    """Another live process holds the directory."""


def _owner(lock: Path) -> str:
    try:
        pid, _, host = lock.read_text().strip().partition(" ")
    except OSError:
        return "another process"
    return f"pid {pid} on {host}" if pid else "another process"


def held(directory: Path) -> bool:
    """Whether this process holds ``directory`` (or a directory above it)."""
    directory = Path(directory).absolute()
    return any(d == directory or d in directory.parents for d in _HELD)


def acquire(directory: Path, key: str = "hydra.run.dir") -> bool:
    """Lock ``directory`` (made if missing) for this process; :class:`DirInUse` if another has it.

    Returns whether this process made the directory (then :func:`release` may remove it).
    """
    directory = Path(directory).absolute()
    if directory in _HELD:
        return _HELD[directory][1]
    made = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK_NAME
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DirInUse(
                f"{directory} is in use by another run ({_owner(lock)}); wait for it to end or "
                f"choose another {key}"
            ) from None
        try:  # the file may have been removed (and re-made) by its last owner meanwhile
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
    _HELD[directory] = (fd, made)
    return made


def release(directory: Path, remove_if_empty: bool = True) -> None:
    """Drop the lock (and its file); remove the directory if this process made it and it is empty."""
    directory = Path(directory).absolute()
    entry = _HELD.pop(directory, None)
    if entry is None:
        return
    fd, made = entry
    try:
        (directory / LOCK_NAME).unlink(missing_ok=True)  # unlinked while still held: no race
        if made and remove_if_empty and not any(directory.iterdir()):
            directory.rmdir()
    except OSError:
        pass
    os.close(fd)


def entries(directory: Path) -> list[str]:
    """The names in ``directory`` other than the lock file (sorted; [] if it does not exist)."""
    try:
        return sorted(p.name for p in Path(directory).iterdir() if p.name != LOCK_NAME)
    except (FileNotFoundError, NotADirectoryError):
        return []


@atexit.register
def release_all() -> None:
    """Release every lock of this process (at exit, or before ``os._exit``)."""
    for directory in list(_HELD):
        release(directory)
