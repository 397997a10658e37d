"""Per-problem optimiser steps whose loss evaluations are answered in batches.

Each problem's ``optimizer.step(closure)`` runs in its own thread. Its closure does not evaluate
the loss itself: it asks (:meth:`Lockstep.request`) and waits. The coordinating thread waits until
every problem still stepping is waiting or done, evaluates all the waiting ones in one batch
(one backbone forward and backward), answers them and waits again. So an optimiser that
evaluates once per step (Adam, SGD, RMSprop) gives one batch per step, and L-BFGS with a line
search gets its trial points evaluated together with the other problems' ones: every problem
keeps its own history, step sizes and line search (torch's own code, unchanged), and follows the
trajectory it follows alone, up to the batched convolutions' rounding.

Only one side runs at a time: the problems' threads (each on its own tensors) between
evaluations, the coordinator during one. Grad mode and autocast are thread-local: the evaluation
sets them in the coordinating thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Evaluate = Callable[[list[int]], dict[int, Any]]


class Lockstep:
    """Runs one task per problem, answering their :meth:`request` calls in batches.

    ``evaluate(indices) -> {index: answer}``: called in the coordinating thread (the caller of
    :meth:`run`) with the sorted indices of the problems waiting; an exception it raises is each
    waiting problem's answer (raised in its thread).
    """

    def __init__(self, evaluate: Evaluate) -> None:
        self.evaluate = evaluate
        self._cond = threading.Condition()
        self._asked: list[int] = []
        self._answers: dict[int, Any] = {}
        self._abort: BaseException | None = None
        self.batches: list[int] = []  # the size of every evaluated batch (measurement, tests)

    def request(self, index: int) -> Any:
        """Called by problem ``index``'s task: wait for its evaluation and return the answer."""
        with self._cond:
            self._asked.append(index)
            self._cond.notify_all()
            self._cond.wait_for(lambda: index in self._answers or self._abort is not None)
            if index not in self._answers:
                raise RuntimeError("the batch stopped") from self._abort
            answer = self._answers.pop(index)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def run(self, tasks: dict[int, Callable[[], Any]]) -> dict[int, Any]:
        """Run every task to its end; returns ``{index: result or the exception it raised}``.

        An exception in the coordinating thread (Ctrl-C) stops every task and is re-raised.
        """
        done: dict[int, Any] = {}
        self._asked, self._answers, self._abort = [], {}, None

        def work(index: int, task: Callable[[], Any]) -> None:
            try:
                out: Any = task()
            except BaseException as e:  # the problem's own failure, reported as its result
                out = e
            with self._cond:
                done[index] = out
                self._cond.notify_all()

        threads = [threading.Thread(target=work, args=item, daemon=True) for item in tasks.items()]
        for t in threads:
            t.start()
        try:
            self._coordinate(len(tasks), done)
        except BaseException as e:
            with self._cond:
                self._abort = e
                self._cond.notify_all()
            raise
        finally:
            for t in threads:
                t.join()
        return done

    def _coordinate(self, n: int, done: dict[int, Any]) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: len(self._asked) + len(done) == n)
                if len(done) == n:
                    return
                asked, self._asked = sorted(self._asked), []
            self.batches.append(len(asked))
            try:
                answers = self.evaluate(asked)
            except Exception as e:
                answers = dict.fromkeys(asked, e)
            with self._cond:
                self._answers.update(answers)
                self._cond.notify_all()
