"""The process-wide settings of a run, set for it and restored after it, and the fast exit.

:func:`run_settings` saves every process-wide setting a run may change (torch threads, cuDNN/TF32
flags, warning filters, Lightning's log level, signal handlers, environment variables) and
restores it afterwards, so in-process sweeps and figures start each run clean.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from omegaconf import DictConfig

from nst_research.engine.signals import _restore_signal_handlers, _signal_handlers

_LIGHTNING_LOGGERS = (
    "pytorch_lightning.utilities.rank_zero",
    "lightning.pytorch.utilities.rank_zero",
)
_NOISE = (  # Lightning's start-up tips and warnings that are noise for a frozen-extractor run
    ".*module\\(s\\) in eval mode.*",
    ".*LeafSpec.*",
    ".*does not have many workers.*",
    ".*dataloader is not resumable.*",
)
_ENV = ("WANDB_MODE", "PL_GLOBAL_SEED", "PL_SEED_WORKERS")


def _backend_flags() -> dict[str, Any]:
    return {
        "threads": torch.get_num_threads(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
    }


def _restore_backend_flags(flags: dict[str, Any]) -> None:
    if torch.get_num_threads() != flags["threads"]:
        torch.set_num_threads(flags["threads"])
    torch.backends.cudnn.benchmark = flags["cudnn_benchmark"]
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul_tf32"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn_tf32"]


@contextmanager
def run_settings(trainer_cfg: DictConfig | dict) -> Iterator[None]:
    """Apply a run's process-wide settings; restore the previous ones when it ends.

    Covers torch threads, cuDNN/TF32 flags (set by the builder for a GPU run,
    ``build.apply_fast_gpu``; restored here), warning filters, Lightning's log level, SIGINT and
    SIGTERM handlers (Lightning installs its own) and the environment variables that W&B and
    ``seed_everything`` set.
    """
    flags, handlers = _backend_flags(), _signal_handlers()
    env = {k: os.environ.get(k) for k in _ENV}
    levels = {name: logging.getLogger(name).level for name in _LIGHTNING_LOGGERS}
    with warnings.catch_warnings():
        for pattern in _NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        for name in _LIGHTNING_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            if trainer_cfg.get("threads"):
                torch.set_num_threads(int(trainer_cfg["threads"]))
            yield
        finally:
            _restore_backend_flags(flags)
            _restore_signal_handlers(handlers)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
            for key, value in env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def gpu_backend_flags(trainer_cfg: DictConfig | dict) -> None:
    """The GPU fast path's process flags: cuDNN autotuning, TF32 convolutions and matmuls."""
    if trainer_cfg.get("cudnn_benchmark", True):
        torch.backends.cudnn.benchmark = True
    if trainer_cfg.get("tf32", True):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def exit_now(code: int = 0) -> None:
    """End the process without the interpreter's teardown, once everything is written.

    Unloading torch, Lightning, torchmetrics and sympy module by module takes 0.5-1 s at exit
    (``python -c "import pytorch_lightning"``: 3.8 s, 3.1 s with ``os._exit``), a tenth of a
    30-iteration 256 px run. Called by ``nst`` after a single run has returned, when its files
    and logs are closed: logging is shut down (Hydra's ``cli.log``), W&B's service is torn down
    if W&B was used, and the standard streams are flushed. If any other non-daemon thread is
    still running (work the normal exit would wait for) it returns and Python exits normally.
    """
    import threading

    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    logging.shutdown()
    wandb = sys.modules.get("wandb")
    if wandb is not None and hasattr(wandb, "teardown"):
        try:
            wandb.teardown()
        except Exception:  # a failing teardown must not turn a finished run into an error
            pass
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
