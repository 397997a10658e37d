"""Every file a run writes goes through here: atomically, with a full disk as one line.

A file is written to a hidden temp file in the same directory and moved into place with
``os.replace``, so a reader (or a crash, a signal, a full disk) never leaves a 0-byte or half
file: the destination is either the old file, or the complete new one. Running out of space
(``ENOSPC``, ``EDQUOT``) is a :class:`DiskFull` naming the directory and the space needed; a
read-only or forbidden place (``EROFS``, ``EACCES``, ``EPERM``) is a :class:`UnwritableDir`.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nst_research.errors import NSTError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
NOT_A_DIR = (errno.ENOTDIR, errno.EEXIST)


class DiskFull(NSTError):
    """The disk (or the quota) is full: what was complete is kept, the rest is not written."""

    exit_code = 1


class UnwritableDir(NSTError):
    """The run dir cannot be written (read-only filesystem, no permission, a file in the way)."""


def _size(n: int | None) -> str:
    if n is None:
        return "an unknown amount"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def as_nst_error(e: OSError, dest: Path, needed: int | None) -> NSTError | None:
    """A one-line error for a full disk or an unwritable place, else None (a real bug)."""
    where = dest.parent
    if e.errno in NO_SPACE:
        quota = " (disk quota exceeded)" if e.errno == errno.EDQUOT else ""
        return DiskFull(
            f"no space left in {where}{quota}: writing {dest.name} needs about {_size(needed)}, "
            f"{_size(free_bytes(where))} free; free some space or choose another hydra.run.dir "
            "(the files already written are complete)"
        )
    if e.errno in NOT_A_DIR:
        return UnwritableDir(
            f"cannot write {dest}: a file is in the way of its directory; "
            "choose another hydra.run.dir"
        )
    if e.errno in NOT_WRITABLE:
        why = "is on a read-only filesystem" if e.errno == errno.EROFS else "is not writable"
        return UnwritableDir(
            f"{where} {why} (cannot write {dest.name}); choose another hydra.run.dir"
        )
    return None


@contextmanager
def atomic_path(dest: str | os.PathLike[str], needed: int | None = None) -> Iterator[Path]:
    """Yield a temp path next to ``dest``; when the block ends, move it onto ``dest``.

    On any error (or a signal) the temp file is removed and ``dest`` is left as it was; a full
    disk or an unwritable dir is raised as a one-line :class:`DiskFull` / :class:`UnwritableDir`
    (``needed``: the bytes being written, for the message; else the temp file's size so far).
    """
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, dest)
    except OSError as e:
        if needed is None and tmp.exists():
            needed = tmp.stat().st_size
        tmp.unlink(missing_ok=True)
        nice = as_nst_error(e, dest, needed)
        if nice is None:
            raise
        raise nice from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(dest: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically (fsynced before the move); return the path."""
    with atomic_path(dest, needed=len(data)) as tmp:
        _write_file(tmp, data)
    return Path(dest)


def _write_file(tmp: Path, data: bytes) -> None:
    """Write a new file and sync it to disk (the one place bytes are written)."""
    # os.open honours the umask (unlike tempfile's 0600 files), O_EXCL never reuses a file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_with(dest: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Write ``dest`` atomically with a library's writer that takes a path (``fig.savefig``,
    PIL's ``save``): ``write(tmp)`` writes a temp file, moved onto ``dest`` when complete. The
    temp name ends in ``.tmp``: give the writer the format (``format="png"``)."""
    with atomic_path(dest) as tmp:
        write(tmp)
    return Path(dest)


def write_text(dest: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically; return the path."""
    return write_bytes(dest, text.encode("utf-8"))


def strict(value: Any, path: str = "", non_finite: dict[str, str] | None = None) -> Any:
    """``value`` with every non-finite float replaced by None; ``non_finite`` gets, for each,
    its dotted path and what it was (``"nan"``, ``"inf"``, ``"-inf"``)."""
    if isinstance(value, float) and not math.isfinite(value):
        if non_finite is not None:
            non_finite[path or "."] = str(value)
        return None
    if isinstance(value, dict):
        return {
            k: strict(v, f"{path}.{k}" if path else str(k), non_finite) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [strict(v, f"{path}[{i}]", non_finite) for i, v in enumerate(value)]
    return value


def write_json(dest: str | os.PathLike[str], record: Any) -> Path:
    """Write ``record`` as strict JSON (RFC 8259: no ``NaN``/``Infinity``), atomically.

    A non-finite number becomes ``null`` and, for a dict record, the key ``non_finite`` maps the
    dotted path of each to what it was (``{"objective": "inf"}``), so the reason stays on record.
    """
    non_finite: dict[str, str] = {}
    clean = strict(record, "", non_finite)
    if non_finite and isinstance(clean, dict):
        clean["non_finite"] = non_finite
    return write_text(dest, json.dumps(clean, indent=2, allow_nan=False) + "\n")


def unwritable(value: str, key: str) -> str | None:
    """Why a run dir cannot be created and written (a file in the way, read-only, no access)."""
    path = Path(value).expanduser().absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == path else f"cannot be made: {existing} is a file"
        return f"{value} {what}, not a directory; choose another {key}"
    try:  # a real write (and removal): permissions, read-only mounts, /proc and the like
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        why = {errno.EROFS: "is on a read-only filesystem", errno.EACCES: "is not writable"}
        because = why.get(e.errno or 0, f"cannot be written ({e.strerror})")
        where = value if existing == path else f"{value}: {existing}"
        return f"cannot write the run to {where} {because}; choose another {key}"
    return None
