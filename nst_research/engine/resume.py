"""``nst resume=RUN_DIR``: go on with the configuration that ran, on the same files.

A resumed run runs the old run's resolved config (``RUN_DIR/.hydra/config.yaml``), and its own
``.hydra/config.yaml`` is rewritten to that config, so resuming a resumed run is the same run
again. Only the keys in :data:`ALLOWED` may be given with ``resume=``: the length
(``iterations``) and where and how the run is recorded, none of which changes a pixel. The
input and weight hashes the old run recorded (``metrics.json``) are checked against the files
now (:func:`check_hashes`, called by ``build`` before anything is written).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nst_research.configs.moved import upgrade_targets
from nst_research.errors import ConfigError
from nst_research.io.files import write_text

ALLOWED = (
    "resume",
    "iterations",
    "checkpoint",
    "name",
    "logger.mode",
    "trainer.progress_bar",
    "hydra.run.dir",
)
_NOT_CONFIG = ("resume", "hydra.run.dir")  # placement, not keys of the resumed config


def resume_value(argv: list[str]) -> str | None:
    """The ``resume=`` value of a command line, or None when it resumes nothing."""
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") == "resume" and value not in ("", "null", "None"):
            return value
    return None


def check_args(argv: list[str]) -> str | None:
    """One line for a ``resume=`` command that cannot run: a key other than :data:`ALLOWED`, or
    a dir with no checkpoint and config. Checked before Hydra writes anything."""
    old = resume_value(argv)
    if old is None:
        return None
    for arg in argv:
        key, sep, _ = arg.partition("=")
        if sep and not key.startswith("-") and key.lstrip("+~") not in ALLOWED:
            return (
                f"resume= goes on with the configuration of {old} and cannot change "
                f"{key.lstrip('+~')}; only these keys may be given with it: {', '.join(ALLOWED)} "
                "(start a new run to change anything else)"
            )
    return _check_dir(Path(old).expanduser()) or _check_length(Path(old).expanduser(), argv)


def steps_done(old: Path) -> int | None:
    """The steps the run in ``old`` did (its ``metrics.json``), None if it does not say."""
    try:
        return int(json.loads((old / "metrics.json").read_text())["iterations"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_length(old: Path, argv: list[str]) -> str | None:
    """One line when the resumed run would do no step: ``iterations`` (given, else the run's
    own) not above the steps it already did; nothing would run, yet a new record would say so."""
    done = steps_done(old)
    given = [a.partition("=")[2] for a in argv if a.partition("=")[0].lstrip("+") == "iterations"]
    if done is None:
        return None
    if given:
        wanted = given[-1].split(",")
    else:
        wanted = [str(OmegaConf.load(old / ".hydra" / "config.yaml").get("iterations"))]
    for item in wanted:
        try:
            n = int(item)
        except ValueError:
            continue
        if n <= done:
            return (
                f"cannot resume {old} to iterations={n}: it already did {done} iterations; "
                f"give more, e.g. resume={old} iterations={done + max(done, 1)}"
            )
    return None


def _check_dir(old: Path) -> str | None:
    if not (old / "checkpoint.ckpt").is_file() or not (old / ".hydra" / "config.yaml").is_file():
        return (
            f"cannot resume from {old}: it needs checkpoint.ckpt and .hydra/config.yaml "
            "(runs save a checkpoint when interrupted, or always with checkpoint=always)"
        )
    return None


def resume_config(cfg: DictConfig, overrides: list[str]) -> tuple[DictConfig, Path]:
    """The config of the run to resume, with this command's allowed keys; and its checkpoint."""
    old = Path(cfg.resume).expanduser()
    problem = _check_dir(old)
    if problem:
        raise ConfigError(problem)
    resumed = OmegaConf.load(old / ".hydra" / "config.yaml")
    assert isinstance(resumed, DictConfig)
    upgrade_targets(resumed)
    _pin_schedule(resumed)
    _add_new_groups(resumed)
    for override in overrides:
        key = override.partition("=")[0].lstrip("+~")
        if key not in ALLOWED:
            raise ConfigError(
                f"resume= cannot change {key}; only these keys may: {', '.join(ALLOWED)}"
            )
        if key in _NOT_CONFIG:
            continue
        if key == "logger.mode" and "mode" not in resumed.logger:
            raise ConfigError(f"logger.mode: the run in {old} logs with no mode (not to W&B)")
        OmegaConf.update(resumed, key, OmegaConf.select(cfg, key), force_add=False)
    resumed.resume = str(old)
    return resumed, old / "checkpoint.ckpt"


def _pin_schedule(cfg: DictConfig) -> None:
    """Write out the schedule's stages as they ran (``schedule=pyramid`` with ``iterations:
    null`` derives them from ``iterations``): a longer resumed run only lengthens the last stage."""
    if not cfg.get("schedule"):
        return
    from hydra.utils import instantiate

    pins = instantiate(cfg.schedule).pinned(int(cfg.size), int(cfg.iterations))
    for key, value in pins.items():
        OmegaConf.update(cfg, f"schedule.{key}", value, force_add=True)


def _add_new_groups(cfg: DictConfig) -> None:
    """A run recorded before the ``param`` and ``content_loss`` groups existed ran on pixels with
    the content term at ``loss.content_term``: give it those groups, as it ran."""
    if "param" not in cfg:
        cfg.param = {"_target_": "nst_research.params.pixels.Pixels"}
    if "content_loss" not in cfg and "content_term" in cfg.get("loss", {}):
        cfg.content_loss = cfg.loss.content_term
        del cfg.loss["content_term"]


def record_config(run_dir: Path, cfg: DictConfig) -> None:
    """Make ``RUN_DIR/.hydra/config.yaml`` the config that runs (Hydra wrote the command's)."""
    write_text(Path(run_dir) / ".hydra" / "config.yaml", OmegaConf.to_yaml(cfg))


def recorded_hashes(checkpoint: Path) -> dict[str, Any]:
    """The input and weight hashes in the ``metrics.json`` next to a checkpoint."""
    path = Path(checkpoint).parent / "metrics.json"
    try:
        hashes = json.loads(path.read_text()).get("hashes")
    except (OSError, ValueError, AttributeError):
        hashes = None
    if not isinstance(hashes, dict):
        raise ConfigError(
            f"cannot resume from {path.parent}: its metrics.json with the input and weight "
            "hashes is missing or unreadable, so the files cannot be checked"
        )
    return hashes


def check_hashes(checkpoint: Path, now: dict[str, Any]) -> None:
    """The files now are the files the resumed run used: else one line naming the one changed."""
    then = recorded_hashes(checkpoint)
    for key in sorted(set(then) | set(now)):
        if then.get(key) != now.get(key):
            what = "weights" if key == "weights" else f"{key} image"
            was, is_ = str(then.get(key))[:12], str(now.get(key))[:12]
            raise ConfigError(
                f"cannot resume from {Path(checkpoint).parent}: the {what} changed since that "
                f"run (sha256 {was}... then, {is_}... now); restore it or start a new run"
            )
