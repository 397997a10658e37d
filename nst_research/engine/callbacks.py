"""Callbacks: the side effects of a run (snapshot images, loss history, W&B images).

Each reads the module's :class:`~nst_research.engine.status.StepRecord` of the step that just ended;
a step that diverged (or none yet) is skipped.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import TQDMProgressBar

from nst_research.configs.names import IMAGE_GENERATED, LOSS_CONTENT, LOSS_STYLE, LOSS_TOTAL, TIME_S
from nst_research.engine.status import RunStatus, StepRecord
from nst_research.io.files import write_text
from nst_research.io.images import save_image, tensor_to_image


def log_image(trainer: pl.Trainer, key: str, rgb: torch.Tensor, step: int) -> None:
    """Log a (1, 3, H, W) RGB image in [0, 1] to W&B, if a WandbLogger is attached.

    The image is converted to uint8 here: ``wandb.Image`` would otherwise guess its range.
    """
    from pytorch_lightning.loggers import WandbLogger

    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            import numpy as np

            array = np.asarray(tensor_to_image(rgb))
            logger.log_image(key=key, images=[array], step=step)


def good_record(pl_module: pl.LightningModule) -> StepRecord | None:
    """The record of the step that just ended, if the run is still going well."""
    record = getattr(pl_module, "record", None)
    if record is None or record.status is not RunStatus.RUNNING:
        return None
    return record


class Snapshots(pl.Callback):
    """Writes ``snapshots/step_XXXXX.png`` every ``every`` steps, and at the end of each stage of a
    schedule, and logs it as ``image/generated``."""

    def __init__(self, run_dir: Path, every: int) -> None:
        self.dir = Path(run_dir) / "snapshots"
        self.every = every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        ends_stage = step in getattr(pl_module, "stage_starts", ())  # schedule=pyramid
        if (self.every > 0 and step % self.every == 0 or ends_stage) and good_record(pl_module):
            rgb = pl_module.rgb()
            save_image(rgb, self.dir / f"step_{step:05d}.png")
            log_image(trainer, IMAGE_GENERATED, rgb, step)


class StepHook(pl.Callback):
    """Calls ``hook(step, image, losses)`` after every good step: the (1, 3, H, W) RGB image in
    [0, 1] on the CPU and the step's losses (the API's ``callback``)."""

    def __init__(self, hook) -> None:
        self.hook = hook

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        record = good_record(pl_module)
        if record is not None:
            self.hook(int(record.step), pl_module.rgb().detach().cpu(), dict(record.losses))


class LossHistory(pl.Callback):
    """Keeps every step's losses (floats the module already has) and writes ``losses.csv``."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.rows: list[dict[str, float]] = []
        self.times: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.times.append(time.perf_counter())
        record = good_record(pl_module)
        if record is not None:
            self.steps.append(record.step)
            self.rows.append(record.losses)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "rows": self.rows}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.rows = list(state["steps"]), list(state["rows"])

    def step_times(self) -> float | None:
        """Median seconds per iteration between consecutive step ends (the first is warm-up)."""
        gaps = [b - a for a, b in zip(self.times, self.times[1:], strict=False)]
        return statistics.median(gaps) if gaps else None

    def as_columns(self) -> dict[str, list[float]]:
        """``{"step": [...], "loss/total": [...], ...}``."""
        columns: dict[str, list[float]] = {"step": [float(s) for s in self.steps]}
        for key in self.rows[0] if self.rows else {}:
            columns[key] = [row[key] for row in self.rows]
        return columns

    def write_csv(self, path: Path) -> None:
        columns = self.as_columns()
        keys = list(columns)
        f = io.StringIO(newline="")
        writer = csv.writer(f)
        writer.writerow(keys)
        for i in range(len(columns["step"])):
            writer.writerow([int(columns["step"][i])] + [columns[k][i] for k in keys[1:]])
        write_text(path, f.getvalue())


class LogMetrics(pl.Callback):
    """Sends each step's record to the experiment loggers (W&B, CSV) as one record."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        record = good_record(pl_module)
        if record is not None:
            for logger in trainer.loggers:
                logger.log_metrics(record.metrics(), step=record.step)


class LossBar(TQDMProgressBar):
    """Lightning's progress bar showing the current total, content and style losses."""

    def get_metrics(self, trainer, pl_module) -> dict[str, str]:
        record = getattr(pl_module, "record", None)
        if record is None:
            return {}
        m = record.losses
        return {
            "total": f"{m[LOSS_TOTAL]:.3g}",
            "content": f"{m[LOSS_CONTENT]:.3g}",
            "style": f"{m[LOSS_STYLE]:.3g}",
        }


class Evaluate(pl.Callback):
    """Scores the image with the evaluation metrics at step 0, every ``every`` steps and at the end
    of each stage of a schedule (an earlier stage's image upsampled to full size).

    Each score row is logged to the loggers (``eval/...`` curves) and kept for ``eval.csv`` with
    ``time_s``: seconds of optimisation so far (since the fit started, scoring time excluded, so
    time-to-quality does not depend on how often it is measured). :meth:`final` scores the final
    image. ``every=0``: only the start and the end.
    """

    def __init__(self, scorer, every: int) -> None:
        self.scorer, self.every = scorer, every
        self.rows: list[dict[str, float]] = []
        self._t0: float | None = None
        self._scoring_s = 0.0
        self._offset_s = 0.0  # optimisation time of the run this one resumes

    def _score(self, trainer: pl.Trainer, rgb: torch.Tensor, step: int) -> dict[str, float]:
        start = time.perf_counter()
        if self._t0 is None:
            self._t0 = start
        elapsed = self._offset_s + start - self._t0 - self._scoring_s
        scores = self.scorer(rgb)
        self._scoring_s += time.perf_counter() - start
        row = {"step": step, TIME_S: elapsed, **scores}
        self.rows = [r for r in self.rows if r["step"] != step] + [row]
        for logger in trainer.loggers:
            logger.log_metrics(scores, step=step)
        return scores

    def on_train_start(self, trainer, pl_module) -> None:
        self._t0, self._scoring_s = time.perf_counter(), 0.0
        self._offset_s = self.rows[-1][TIME_S] if self.rows else 0.0
        if trainer.global_step == 0 and not self.rows:
            self._score(trainer, pl_module.rgb(), 0)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        ends_stage = step in getattr(pl_module, "stage_starts", ())  # schedule=pyramid
        if (self.every > 0 and step % self.every == 0 or ends_stage) and good_record(pl_module):
            self._score(trainer, pl_module.rgb(), step)

    def final(self, trainer: pl.Trainer, rgb: torch.Tensor) -> dict[str, float]:
        """Scores of the final image (re-used if this step was just scored)."""
        step = int(trainer.global_step)
        if self.rows and self.rows[-1]["step"] == step:
            return {k: v for k, v in self.rows[-1].items() if k not in ("step", TIME_S)}
        return self._score(trainer, rgb, step)

    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, state: dict) -> None:
        self.rows = list(state["rows"])

    def write_csv(self, path: Path) -> None:
        if not self.rows:
            return
        keys = list(self.rows[0])
        f = io.StringIO(newline="")
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows({**row, "step": int(row["step"])} for row in self.rows)
        write_text(path, f.getvalue())
