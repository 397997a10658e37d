"""One run, from a composed config to a run directory (the only place that instantiates configs).

Flow: validate -> load images -> build the frozen extractor -> module -> Trainer.fit -> write
``final.png``, ``losses.csv`` and ``metrics.json`` and finish the W&B run, whatever happened.
"""

from __future__ import annotations

import json
import netrc
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from nst_research import __version__
from nst_research.callbacks import LogMetrics, LossBar, LossHistory, Snapshots, log_image
from nst_research.config import validate
from nst_research.errors import ConfigError, InputImageError
from nst_research.features import PREPROCESSING, build_extractor, default_preprocessing
from nst_research.images import (
    file_sha256,
    image_to_tensor,
    load_image,
    long_side_size,
    save_image,
)
from nst_research.memory import check_fits, peak_mb, reset_peak
from nst_research.module import LossConfig, StyleTransfer
from nst_research.names import layer_names

REPO = Path(__file__).resolve().parents[1]


def quiet_lightning() -> None:
    """Lightning's start-up tips and eval-mode warnings are noise for a frozen-extractor run."""
    import logging
    import warnings

    for name in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*dataloader is not resumable.*")


def resolve_image(spec: str, role: str) -> Path:
    """A path, or ``builtin:grace_hopper`` (matplotlib's sample photo) / ``builtin:swirls``."""
    spec = str(spec)
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        if name == "grace_hopper":
            import matplotlib.cbook

            return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        if name == "swirls":
            return Path(__file__).with_name("assets") / "swirls.jpg"
        raise InputImageError(
            f"unknown built-in {role} {spec!r}; use builtin:grace_hopper, builtin:swirls or a path"
        )
    return Path(spec).expanduser()


def git_commit() -> dict[str, Any]:
    """The commit of the checkout this package runs from, and whether it has local changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        status = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def min_size_for(layers: list[str], arch: str) -> int:
    """The smallest side (px) for which every requested layer still has at least one position."""
    names = layer_names(arch)
    deepest = max(names.index(n) for n in layers)
    pools = sum(1 for n in names[: deepest + 1] if n.startswith("pool"))
    return 2**pools


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _wandb_mode(requested: str) -> str:
    """``online`` only with credentials and a reachable server; otherwise offline, with a message."""
    if requested != "online":
        return requested
    key = os.environ.get("WANDB_API_KEY")
    base = urllib.parse.urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai"))
    host, port = (
        base.hostname or "api.wandb.ai",
        base.port or (443 if base.scheme == "https" else 80),
    )
    if not key:
        try:
            key = (netrc.netrc().authenticators(host) or (None, None, None))[2]
        except (OSError, netrc.NetrcParseError):
            key = None
    if not key:
        _warn(
            "W&B online mode needs credentials (run `wandb login` or set WANDB_API_KEY); "
            "logging offline instead (upload later with `wandb sync`)"
        )
        return "offline"
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as e:
        _warn(
            f"cannot reach W&B at {host}:{port} ({e}); logging offline instead (`wandb sync` later)"
        )
        return "offline"
    return "online"


def _make_logger(cfg: DictConfig, run_dir: Path, run_name: str, group: str | None):
    kind = cfg.logger.kind
    if kind == "none":
        return False
    if kind == "csv":
        from pytorch_lightning.loggers import CSVLogger

        return CSVLogger(save_dir=str(run_dir), name="csv", version="")
    import wandb
    from pytorch_lightning.loggers import WandbLogger

    if wandb.run is not None:  # never log into another job's run (in-process sweeps)
        wandb.finish()
    mode = _wandb_mode(cfg.logger.mode)
    # WandbLogger(offline=True) sets WANDB_MODE for the whole process: set it per run, explicitly.
    os.environ["WANDB_MODE"] = mode
    try:
        logger = WandbLogger(
            project=cfg.logger.project,
            entity=cfg.logger.entity,
            name=run_name,
            group=cfg.logger.group or group,
            tags=list(cfg.logger.tags),
            save_dir=str(run_dir),
            offline=mode == "offline",
            mode=mode,
            settings=wandb.Settings(init_timeout=60),
        )
        logger._wandb_init.pop("anonymous", None)  # deprecated in wandb; Lightning always sends it
        logger.experiment  # noqa: B018 - start the run now, so a failure shows here
    except Exception as e:  # W&B must never cost the run its own outputs
        _warn(f"W&B could not start ({type(e).__name__}: {e}); going on without it")
        return False
    return logger


def apply_fast_gpu(module: StyleTransfer, trainer_cfg: DictConfig) -> None:
    """The GPU fast path: cuDNN autotuning, TF32 convolutions and matmuls, channels_last."""
    if trainer_cfg.get("cudnn_benchmark", True):
        torch.backends.cudnn.benchmark = True
    if trainer_cfg.get("tf32", True):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if trainer_cfg.get("channels_last", True):
        module.extractor.to(memory_format=torch.channels_last)


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (e.g. from a cluster scheduler) is handled like Ctrl-C: save and stop."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    cfg: DictConfig,
    run_dir: Path,
    run_name: str = "default",
    group: str | None = None,
    resume_from: Path | None = None,
) -> dict[str, Any]:
    """Stylise (or reconstruct) as configured; returns the contents of ``metrics.json``.

    ``resume_from``: a ``checkpoint.ckpt`` of an earlier run of the same config; the run goes on
    from its image, optimiser state and step up to ``cfg.iterations`` in total.
    """
    t_start = time.perf_counter()
    quiet_lightning()
    content_layers, style_layers = validate(cfg)
    run_dir = Path(run_dir)
    if (run_dir / "final.png").exists():
        raise ConfigError(f"{run_dir} already holds a finished run; choose another hydra.run.dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    _choice_checkpoint = str(cfg.get("checkpoint", "interrupt"))
    if _choice_checkpoint not in ("never", "interrupt", "always"):
        raise ConfigError(
            f"unknown checkpoint={_choice_checkpoint!r}; use never, interrupt or always"
        )
    if cfg.trainer.threads:
        torch.set_num_threads(int(cfg.trainer.threads))
    seed = int(cfg.seed) if cfg.seed is not None else int(torch.seed() % 2**31)
    pl.seed_everything(seed, workers=False, verbose=False)

    # Images: sizes are checked (too small for the layers, too large for memory) before resizing.
    content_path = resolve_image(cfg.content, "content image")
    style_path = resolve_image(cfg.style, "style image")
    content_img = load_image(content_path, role="content image")
    style_img = load_image(style_path, role="style image")
    style_size = max(1, round(float(cfg.style_scale) * int(cfg.size)))
    h, w = long_side_size(content_img.height, content_img.width, int(cfg.size))
    sh, sw = long_side_size(style_img.height, style_img.width, style_size)
    used = [n for n, wt in {**content_layers, **style_layers}.items() if wt > 0]
    names = layer_names(cfg.model.arch)
    deepest = max(used, key=names.index)
    smallest = min_size_for(used, cfg.model.arch)
    for role, (ih, iw) in (("content", (h, w)), ("style", (sh, sw))):
        if min(ih, iw) < smallest:
            raise InputImageError(
                f"the {role} image is {iw}x{ih} px after resizing, too small for layer {deepest}: "
                f"its short side must be at least {smallest} px (raise size= or style_scale=)"
            )
    gpu = cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available()
    history_size = int(cfg.optimizer.get("history_size", 0) or 0)
    device = torch.device("cuda" if gpu else "cpu")
    check_fits(h, w, deepest, cfg.model.arch, history_size, device)
    content = image_to_tensor(content_img, int(cfg.size))
    style = image_to_tensor(style_img, style_size)
    init_kind = cfg.init.kind
    hashes = {"content": file_sha256(content_path), "style": file_sha256(style_path)}
    if init_kind == "content":
        init = content
    elif init_kind == "style":
        init = torch.nn.functional.interpolate(style, size=(h, w), mode="bilinear", antialias=True)
    elif init_kind == "noise":
        init = torch.rand(content.shape, generator=torch.Generator().manual_seed(seed))
    else:
        init_path = resolve_image(cfg.init.path, "init image")
        init = image_to_tensor(load_image(init_path, role="init image")).clamp(0, 1)
        init = torch.nn.functional.interpolate(init, size=(h, w), mode="bilinear", antialias=True)
        hashes["init"] = file_sha256(init_path)

    # Model.
    extractor, weights_hash = build_extractor(
        used,
        arch=cfg.model.arch,
        weights=str(cfg.model.weights),
        pooling=cfg.model.pooling,
        allow_download=bool(cfg.model.allow_download),
    )
    hashes["weights"] = weights_hash
    prep = cfg.model.preprocessing
    preprocess = PREPROCESSING[
        default_preprocessing(str(cfg.model.weights)) if prep == "auto" else prep
    ]
    loss_cfg = LossConfig(**OmegaConf.to_container(cfg.loss, resolve=True))
    module = StyleTransfer(
        extractor=extractor,
        preprocess=preprocess,
        content=content,
        style=style,
        init=init.clamp(0, 1),
        content_layers=content_layers,
        style_layers=style_layers,
        loss=loss_cfg,
        optimizer=instantiate(cfg.optimizer),
        bf16=bool(cfg.trainer.get("bf16", False)),
    )
    if gpu:
        apply_fast_gpu(module, cfg.trainer)

    # Provenance, recorded before the run starts.
    provenance = {
        "seed": seed,
        "hashes": hashes,
        "git": git_commit(),
        "inputs": {"content": str(content_path), "style": str(style_path)},
        "image_size": [int(h), int(w)],
        "resumed_from": str(resume_from) if resume_from else None,
        "versions": {
            "nst_research": __version__,
            "torch": torch.__version__,
            "pytorch_lightning": pl.__version__,
            "python": platform.python_version(),
        },
    }
    resolved = OmegaConf.to_container(cfg, resolve=True)
    logger = _make_logger(cfg, run_dir, run_name, group)
    history = LossHistory()
    callbacks: list[pl.Callback] = [Snapshots(run_dir, int(cfg.snapshot_every)), history]
    if logger:
        callbacks.append(LogMetrics())
    if cfg.trainer.progress_bar:
        callbacks.append(LossBar())
    trainer = pl.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        precision=cfg.trainer.precision,
        max_steps=int(cfg.iterations),
        max_epochs=-1,
        logger=logger,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=bool(cfg.trainer.progress_bar),
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        default_root_dir=str(run_dir),
    )
    if logger:
        logger.log_hyperparams({**resolved, "provenance": provenance})

    reset_peak(device)  # per run, not per process (in-process sweeps, figures)
    t_fit = time.perf_counter()
    try:
        with _sigterm_as_interrupt():
            trainer.fit(module, ckpt_path=str(resume_from) if resume_from else None)
    except SystemExit:
        # Lightning turns Ctrl-C into SystemExit(1) after a graceful shutdown.
        module.status = "interrupted"
    except KeyboardInterrupt:
        module.status = "interrupted"
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        fit_s = time.perf_counter() - t_fit
        if module.status == "running":
            module.status = "interrupted" if trainer.interrupted else "completed"
        policy = _choice_checkpoint
        if policy == "always" or (policy == "interrupt" and module.status != "completed"):
            _save_checkpoint(trainer, run_dir / "checkpoint.ckpt")
        metrics = _finish(run_dir, module, trainer, history, provenance, fit_s, t_start, logger)
    return metrics


def _save_checkpoint(trainer: pl.Trainer, path: Path) -> None:
    """Image, optimiser state, step and loss history, for ``nst resume=RUN_DIR`` (atomic write)."""
    tmp = path.with_suffix(".tmp")
    try:
        trainer.save_checkpoint(tmp, weights_only=False)
        tmp.replace(path)
    except Exception as e:  # a failed checkpoint must not lose the run's other outputs
        print(f"warning: could not save a checkpoint to {path}: {e}")


def _finish(
    run_dir, module, trainer, history, provenance, fit_s, t_start, logger
) -> dict[str, Any]:
    """Write final.png, losses.csv and metrics.json; log the final image; finish W&B."""
    rgb = module.rgb()
    final = save_image(rgb, run_dir / "final.png")
    history.write_csv(run_dir / "losses.csv")
    columns = history.as_columns()
    final_losses = {k: v[-1] for k, v in columns.items() if k != "step" and v}
    step_times = history.step_times()
    peak = peak_mb(module.device)
    metrics = {
        "status": module.status,
        "iterations": int(trainer.global_step),
        "final_losses": final_losses,
        "wall_time_s": time.perf_counter() - t_start,
        "fit_time_s": fit_s,
        "s_per_iter": step_times,
        "peak_memory_mb": peak,
        "device": str(module.device),
        "final_image": str(final),
        **provenance,
    }
    tmp = run_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2))
    tmp.replace(run_dir / "metrics.json")
    if logger and getattr(logger, "experiment", None) is not None:
        from pytorch_lightning.loggers import WandbLogger

        if isinstance(logger, WandbLogger):
            import wandb

            log_image(trainer, "image/final", rgb, int(trainer.global_step))
            logger.experiment.summary["status"] = module.status
            logger.experiment.summary["s_per_iter"] = step_times
            exit_code = {"completed": 0, "interrupted": 255}.get(module.status, 1)
            wandb.finish(exit_code=exit_code)
        else:
            logger.finalize(module.status)
    return metrics
