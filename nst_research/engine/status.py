"""What a run reports: its status, and one record per optimiser step."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from nst_research.configs.names import TIME_STEP


class RunStatus(str, Enum):
    """How a run ended (``running`` while it runs); the value is what metrics.json records."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    DIVERGED = "diverged"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class StepRecord:
    """One optimiser step, emitted by the module and consumed by the callbacks.

    ``losses``: metric name -> value at the iterate the step started from (``loss/total``,
    ``loss/content``, ``loss/style``, ``loss/style/<layer>``, ``loss/tv``); ``time_s``: wall seconds
    since the previous step ended.
    """

    step: int
    losses: dict[str, float] = field(default_factory=dict)
    time_s: float = 0.0
    status: RunStatus = RunStatus.RUNNING

    def metrics(self) -> dict[str, float]:
        """What loggers receive: the losses and ``time/step_s``."""
        return {**self.losses, TIME_STEP: self.time_s}
