"""The Python API, for notebooks and scripts: the same configs and run as the ``nst`` command.

::

    from nst_research import compose, stylize

    result = stylize(content=pil_image, style="starry.jpg", size=128, iterations=50,
                     **{"loss.style_weight": 1e4}, callback=lambda step, image, losses: ...)
    result.image.save("out.png"); print(result.metrics["eval"], result.run_dir)

    cfg = compose(["size=128", "iterations=50", "logger=none"])   # what `nst size=128 ...` runs
    image, metrics, run_dir = stylize(cfg)                        # or stylize(["size=128", ...])

``stylize`` leaves the caller's state as it was: the global RNGs (torch, numpy, random) are
restored, an active W&B run (``wandb.run``) is neither finished nor logged into, and a Ctrl-C
(or a ``KeyboardInterrupt`` raised by the callback) is raised again once the outputs are saved.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from omegaconf import DictConfig, OmegaConf

from nst_research.configs.compose import compose
from nst_research.errors import ConfigError
from nst_research.io.files import write_text, write_with
from nst_research.tracking import naming

StepCallback = Callable[[int, Any, dict[str, float]], None]  # (step, (1,3,H,W) image, losses)


class Result(NamedTuple):
    """What :func:`stylize` returns: the final image, ``metrics.json``'s contents, the run dir."""

    image: Any  # PIL.Image.Image (RGB)
    metrics: dict[str, Any]
    run_dir: Path


def override_text(key: str, value: Any) -> str:
    """A keyword override as the ``key=value`` word of an ``nst`` command."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "null"
        if isinstance(v, list | tuple):
            return "[" + ",".join(fmt(x) for x in v) + "]"
        return str(v)

    return f"{key}={fmt(value)}"


def image_file(image: Any, folder: Path, role: str) -> str:
    """A path, or a PIL image / tensor written to ``folder/<role>.png`` (its path returned).

    Tensors are (3, H, W) or (1, 3, H, W) RGB in [0, 1] (rounded to 8 bits, as a file would be).
    """
    import torch
    from PIL import Image

    if isinstance(image, str | Path):
        return str(image)
    if isinstance(image, torch.Tensor):
        from nst_research.io.images import tensor_to_image

        t = image.detach().float().cpu()
        t = t.unsqueeze(0) if t.dim() == 3 else t
        if t.dim() != 4 or t.shape[:2] != (1, 3):
            raise ConfigError(
                f"{role}= as a tensor must be (3, H, W) or (1, 3, H, W) RGB, got {tuple(image.shape)}"
            )
        image = tensor_to_image(t.clamp(0, 1))
    if not isinstance(image, Image.Image):
        raise ConfigError(
            f"{role}= takes a path, a PIL image or a tensor, not {type(image).__name__}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{role}.png"
    write_with(path, lambda tmp: image.convert("RGB").save(tmp, format="PNG"))
    return str(path)


@contextmanager
def kept_rng_states() -> Iterator[None]:
    """Restore the global torch (CPU and CUDA), numpy and ``random`` states afterwards."""
    import numpy as np
    import torch

    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def _config(
    cfg: DictConfig | Sequence[str], values: dict[str, Any]
) -> tuple[DictConfig, list[str]]:
    """The config to run, and the overrides it was made with (for the run name)."""
    if isinstance(cfg, str):
        raise ConfigError(f"stylize takes a list of overrides, not the string {cfg!r}")
    words = [override_text(k, v) for k, v in values.items()]
    if not isinstance(cfg, DictConfig):
        overrides = [str(o) for o in cfg] + words
        return compose(overrides), overrides
    config = cfg.copy()
    for key, value in values.items():  # values only: a group choice needs compose()
        if isinstance(OmegaConf.select(config, key), DictConfig):
            raise ConfigError(
                f'{key}= chooses a config group: give it in the overrides (stylize(["{key}=..."]))'
            )
        OmegaConf.update(config, key, value, force_add=False)
    return config, words


def stylize(
    cfg: DictConfig | Sequence[str] = (),
    run_dir: str | Path | None = None,
    name: str | None = None,
    *,
    content: Any = None,
    style: Any = None,
    callback: StepCallback | None = None,
    **overrides: Any,
) -> Result:
    """Run one job in this process and return its final image, metrics and run dir.

    ``cfg``: a config from :func:`compose`, or the overrides to compose one from (``["size=128",
    "style_loss=mmd"]``: the words of an ``nst`` command). ``content``/``style``: a path, a PIL
    image or a (3, H, W) / (1, 3, H, W) tensor in [0, 1] (images and tensors are saved as
    ``<run_dir>/inputs/<role>.png``, whose hash ``metrics.json`` records). Keyword overrides are
    more words: ``size=128, iterations=50, **{"loss.style_weight": 1e4}``. ``callback(step,
    image, losses)``: called after every step with the (1, 3, H, W) image in [0, 1] (CPU) and the
    step's losses. ``run_dir``: where the outputs go (a new folder, or one without a finished run);
    default ``outputs/<date>/<time>`` under the current directory, as ``nst`` does. ``name``: the
    W&B run name (default ``cfg.name``, else the overrides). The config is saved as
    ``<run_dir>/.hydra/config.yaml``, so ``nst resume=<run_dir>`` and ``nst-report`` read API runs.

    Bad input raises a one-line :class:`~nst_research.errors.NSTError` before anything is written.
    A ``KeyboardInterrupt`` (Ctrl-C, or raised by ``callback``) stops the run, saves its outputs
    (status ``interrupted``) and is raised again.
    """
    from PIL import Image

    if run_dir is None:
        now = dt.datetime.now()
        run_dir = Path("outputs") / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S-%f")
    run_dir = Path(run_dir).expanduser().resolve()
    staging = Path(tempfile.mkdtemp(prefix="nst-inputs-"))
    try:
        given = {"content": content, "style": style}
        for role, image in given.items():
            if image is not None:
                overrides[role] = image_file(image, staging, role)
        config, used = _config(cfg, overrides)
        run_name = name or config.get("name") or naming.run_name(used)  # file names, not paths
        metrics = _run(config, run_dir, run_name, callback)
        if any(staging.iterdir()):  # the images given as objects, kept with the run
            shutil.copytree(staging, run_dir / "inputs", dirs_exist_ok=True)
            for role in given:
                if (run_dir / "inputs" / f"{role}.png").is_file():
                    config[role] = str(run_dir / "inputs" / f"{role}.png")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_text(run_dir / ".hydra" / "config.yaml", OmegaConf.to_yaml(config))  # atomic
    if metrics["status"] == "interrupted":
        raise KeyboardInterrupt(f"stylize was interrupted; its outputs are in {run_dir}")
    with Image.open(metrics["final_image"]) as image:
        final = image.convert("RGB")
    return Result(final, metrics, run_dir)


def _run(
    config: DictConfig, run_dir: Path, run_name: str, callback: StepCallback | None
) -> dict[str, Any]:
    """``run()`` with the caller's RNG states kept and ``callback`` attached to the trainer."""
    from nst_research.engine import process
    from nst_research.engine.build import build
    from nst_research.engine.callbacks import StepHook
    from nst_research.engine.parts import check
    from nst_research.run import fit

    parts = check(config)  # every value checked before run_settings applies any
    with kept_rng_states(), process.run_settings(config.trainer):
        built = build(config, run_dir, run_name, parts=parts)
        if callback is not None:
            built.trainer.callbacks.append(StepHook(callback))
        return fit(built)
