"""Signal handling of a run: SIGTERM is Ctrl-C during the fit; both wait while outputs are saved."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _signal_handlers() -> dict[int, Any]:
    return {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore_signal_handlers(handlers: dict[int, Any]) -> None:
    for signum, handler in handlers.items():
        try:
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        except ValueError:  # not the main thread: nothing was changed there either
            pass


@contextmanager
def interrupts() -> Iterator[None]:
    """SIGTERM (e.g. from a cluster scheduler) is handled like Ctrl-C: save and stop.

    On exit both handlers are back as they were (Lightning replaces SIGINT's during a fit); the
    outputs are then written under :func:`signals_deferred`, so a second signal waits for them.
    """

    def handler(signum, frame):
        raise KeyboardInterrupt

    handlers = _signal_handlers()
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        _restore_signal_handlers(handlers)


@contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """SIGINT and SIGTERM arriving inside the block wait until it has ended (outputs first).

    Yields the list of signals that arrived; on exit the previous handlers are back and, if one
    arrived, ``KeyboardInterrupt`` is raised (the stop the user asked for, after the save).
    """
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)

    handlers = _signal_handlers()
    try:
        for signum in handlers:
            signal.signal(signum, handler)
    except ValueError:  # not the main thread: signals go to the main thread anyway
        yield received
        return
    try:
        yield received
    finally:
        _restore_signal_handlers(handlers)
    if received:
        raise KeyboardInterrupt
