"""The Python API, for notebooks and scripts: the same configs and run as the ``nst`` command.

::

    from nst_research import compose, stylize

    cfg = compose(["size=128", "iterations=50", "logger=none"])   # what `nst size=128 ...` runs
    image, metrics, run_dir = stylize(cfg)                        # or stylize(["size=128", ...])
    image.save("out.png"); print(metrics["eval"], run_dir)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from omegaconf import DictConfig, OmegaConf

from nst_research.compose import compose
from nst_research.errors import ConfigError
from nst_research.files import write_text


class Result(NamedTuple):
    """What :func:`stylize` returns: the final image, ``metrics.json``'s contents, the run dir."""

    image: Any  # PIL.Image.Image (RGB)
    metrics: dict[str, Any]
    run_dir: Path


def stylize(
    cfg: DictConfig | Sequence[str] = (),
    run_dir: str | Path | None = None,
    name: str | None = None,
) -> Result:
    """Run one job in this process and return its final image, metrics and run dir.

    ``cfg``: a config from :func:`compose`, or the overrides to compose one from (``["size=128",
    "style_loss=mmd"]``: the words of an ``nst`` command). ``run_dir``: where the outputs go (a new
    folder, or one without a finished run); default ``outputs/<date>/<time>`` under the current
    directory, as ``nst`` does. ``name``: the W&B run name (default ``cfg.name``, else the
    overrides). The config is saved as ``<run_dir>/.hydra/config.yaml``, as ``nst`` saves it, so
    ``nst resume=<run_dir>`` and ``nst-report`` read API runs too. Bad input raises a one-line
    :class:`~nst_research.errors.NSTError` before anything is written.
    """
    from PIL import Image

    from nst_research.run import run

    if isinstance(cfg, str):
        raise ConfigError(f"stylize takes a list of overrides, not the string {cfg!r}")
    overrides = [] if isinstance(cfg, DictConfig) else [str(o) for o in cfg]
    config = cfg if isinstance(cfg, DictConfig) else compose(overrides)
    if run_dir is None:
        now = dt.datetime.now()
        run_dir = Path("outputs") / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S-%f")
    run_dir = Path(run_dir).expanduser().resolve()
    run_name = name or config.get("name") or ",".join(sorted(overrides)) or "default"
    metrics = run(config, run_dir, run_name=run_name)
    write_text(run_dir / ".hydra" / "config.yaml", OmegaConf.to_yaml(config))
    with Image.open(metrics["final_image"]) as image:
        final = image.convert("RGB")
    return Result(final, metrics, run_dir)
