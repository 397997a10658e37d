"""The ``nst`` command: Hydra composes the config, :func:`nst_research.run.run` does the work."""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from nst_research import help as help_text
from nst_research.compose import CONF_DIR as _CONF_DIR
from nst_research.compose import CONFIG_PATH, set_search_path, user_config_dirs
from nst_research.config import GROUPS, LIST_GROUPS, NSTSchema, register
from nst_research.errors import NSTError
from nst_research.io import hydra_files, locks, stop
from nst_research.io.claims import RESUMING
from nst_research.names import OBJECTIVE
from nst_research.status import RunStatus
from nst_research.sweeps import FAILED_SWEEP
from nst_research.tracking.naming import identity
from nst_research.validation.overrides import did_you_mean

CONF_DIR = str(_CONF_DIR)
hydra_files.install()  # here, so that joblib's and submitit's workers (which import us) have it


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def _app(cfg: DictConfig) -> float | None:
    global _JOB_STARTED, _MULTIRUN
    _JOB_STARTED = True
    from nst_research.run import run

    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    _MULTIRUN = multirun
    run_dir = Path(hc.runtime.output_dir)
    name, group, tags = identity(cfg, hc, multirun)  # W&B conventions (nst_research/tracking)
    if "tags" in cfg.logger:
        cfg.logger.tags = [*cfg.logger.tags, *(t for t in tags if t not in cfg.logger.tags)]
    resume_from = None
    worker = multirun and stop.in_worker()  # a joblib worker: Ctrl-C as nst_research.io.stop says
    if worker and stop.stopping(run_dir):
        return None
    try:
        if worker:
            stop.arm(True)
        if cfg.resume:
            cfg, resume_from = _resume_config(cfg, hc.overrides.task)
        metrics = run(cfg, run_dir, run_name=name, group=group, resume_from=resume_from)
    except KeyboardInterrupt:
        if not worker:
            raise
        stopped = KeyboardInterrupt("stopped before it started optimising")
        _record_failure(run_dir, stopped, RunStatus.INTERRUPTED)
        return None
    except Exception as e:
        _record_failure(run_dir, e)
        if multirun and os.environ.get("HYDRA_FULL_ERROR") != "1":
            # The other jobs go on; the sweep's summary line names this one (sweeps.py).
            hint = "" if isinstance(e, NSTError) else " (HYDRA_FULL_ERROR=1 for the traceback)"
            print(f"error in job {hc.job.num}: {type(e).__name__}: {e}{hint}", file=sys.stderr)
            return None
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not isinstance(e, NSTError):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    finally:
        if worker:
            stop.arm(False)
    status = metrics["status"]
    final = metrics["final_image"]
    print(f"{status}: {metrics['iterations']} iterations, result in {final}")
    if status != RunStatus.COMPLETED and not multirun:
        sys.exit(130 if status == RunStatus.INTERRUPTED else 3)
    if status == RunStatus.INTERRUPTED and not worker:  # Ctrl-C / SIGTERM stops the sweep
        raise KeyboardInterrupt
    # What a sweeper minimises; a job that did not complete has no value (a failed trial).
    return metrics.get(OBJECTIVE) if status == RunStatus.COMPLETED else None


def _resume_config(cfg: DictConfig, overrides: list[str]) -> tuple[DictConfig, Path]:
    """The config of the run to resume, with this command's allowed keys (``resume.ALLOWED``);
    the resumed run's ``.hydra/config.yaml`` becomes that config (resume of a resume)."""
    from nst_research import resume

    resumed, ckpt = resume.resume_config(cfg, overrides)
    resume.record_config(Path(HydraConfig.get().runtime.output_dir), resumed)
    return resumed, ckpt


def _record_failure(
    run_dir: Path, error: BaseException, status: RunStatus = RunStatus.FAILED
) -> None:
    """A failed job still leaves a metrics.json saying why (sweep reports list it as failed)."""
    from nst_research.files import write_json

    path = run_dir / "metrics.json"
    if path.exists() or (run_dir / "final.png").exists():  # never touch a finished run
        return
    try:
        record = {"status": str(status), "error": f"{type(error).__name__}: {error}"}
        write_json(path, record)
    except (OSError, NSTError):  # a full disk or an unwritable dir: the error line says so
        pass


_JOB_STARTED = False
_MULTIRUN = False  # set by the job: which interruption message main() prints


def check_group_choices(argv: list[str]) -> str | None:
    """One line for a group override naming no option of that group (before Hydra prints more)."""
    dirs = user_config_dirs(argv)
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or key not in GROUPS:
            continue
        options = sorted({p.stem for d in dirs for p in (d / key).glob("*.yaml")})
        if key in LIST_GROUPS:  # eval=[style,ssim], or a sweep of lists: [style],[ssim]
            value = value.replace("[", "").replace("]", "")
        for choice in value.split(","):
            if key in LIST_GROUPS and not choice.strip():
                continue
            if choice.strip() not in options:
                return f"unknown {key} {choice.strip()!r}; choose one of: {', '.join(options)}"
    return None


_TOP_LEVEL = {f.name: f.type for f in dataclasses.fields(NSTSchema)}
_NUMBERS = {
    "size": int,
    "iterations": int,
    "snapshot_every": int,
    "seed": int,
    "style_scale": float,
}


def check_top_level_values(argv: list[str]) -> str | None:
    """One line for an unknown top-level key or a top-level number that is not one.

    Hydra reports these at compose time in several lines (the override, OmegaConf's message, the
    full key, a hint about HYDRA_FULL_ERROR); this says the same in one, with the fix. Sweep
    functions (``range(...)``), interpolations and anything with a prefix are left to Hydra.
    """
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key.startswith(("+", "~", "-")) or "." in key or "/" in key:
            continue
        if key not in _TOP_LEVEL and key not in GROUPS and key != "hydra":
            known = [k for k in _TOP_LEVEL if k not in GROUPS]
            hint = did_you_mean(key, [*known, *GROUPS])
            return (
                f"unknown key {key!r}{hint}; top-level keys are: {', '.join(known)} "
                f"(config groups: {', '.join(GROUPS)})"
            )
        kind = _NUMBERS.get(key)
        if kind is None or any(c in value for c in "()[]{}$"):
            continue
        for item in value.split(","):
            item = item.strip()
            if key == "seed" and item in ("null", "None", ""):
                continue
            try:
                kind(item)
            except ValueError:
                noun = "an integer" if kind is int else "a number"
                example = {"size": 256, "iterations": 300, "snapshot_every": 100, "seed": 0}
                return f"{key}={item!r} must be {noun} (e.g. {key}={example.get(key, 1.0)})"
    return None


@functools.lru_cache(maxsize=256)
def _group_keys(group: str, option: str) -> list[str] | None:
    """The keys of ``conf/<group>/<option>.yaml``, with those of the same-group configs it extends
    (its ``defaults`` list); keys starting with ``_`` (``_target_``) are not for users."""
    path = Path(CONF_DIR) / group / f"{option}.yaml"
    if not path.is_file():
        return None
    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig):
        return None
    keys = [str(k) for k in node.keys() if k != "defaults" and not str(k).startswith("_")]
    for base in node.get("defaults", []):
        if isinstance(base, str) and base != "_self_":
            keys += [k for k in _group_keys(group, base) or [] if k not in keys]
    return keys


@functools.lru_cache(maxsize=1)
def _defaults():
    return OmegaConf.load(Path(CONF_DIR) / "config.yaml").defaults


def check_group_keys(argv: list[str]) -> str | None:
    """One line for ``group.key=value`` naming a key the chosen option of that group lacks.

    The option is the one chosen on the command line or the default of ``conf/config.yaml``.
    Skipped when a ``+name=...`` config is appended (an ablation preset may change the options)
    and for ``init`` when a task is chosen (tasks set their own init).
    """
    if any(a.startswith("+") and "=" in a and "." not in a.partition("=")[0] for a in argv):
        return None
    defaults = _defaults()
    chosen: dict[str, list[str]] = {}
    for item in defaults:
        if isinstance(item, DictConfig):
            for group, option in item.items():
                chosen[str(group)] = [str(option)]
    task_given = False
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in GROUPS:
            chosen[key] = [v.strip() for v in value.split(",")]
            task_given = task_given or key == "task"
    for arg in argv:
        key, sep, _ = arg.partition("=")
        if not sep or key.startswith(("+", "~", "-")) or "." not in key:
            continue
        group, _, rest = key.partition(".")
        name = rest.split(".")[0].split("[")[0]
        if (
            group not in GROUPS
            or group in ("task", *LIST_GROUPS)
            or (group == "init" and task_given)
        ):
            continue
        for option in chosen.get(group, []):
            keys = _group_keys(group, option)
            if keys is not None and name not in keys:
                hint = did_you_mean(name, keys, f"{group}.")
                return (
                    f"unknown key {name!r} in {group}={option}{hint}; its keys: {', '.join(keys)}"
                )
    return None


def check_run_dir(argv: list[str]) -> str | None:
    """One line when the run cannot go where it is told, refused before Hydra writes ``.hydra/``:
    ``hydra.run.dir=`` names a finished run, a file, or an unwritable place (read-only, no
    permission); the sweep dir likewise (its job dirs are numbered by the sweeper). Also a
    ``resume=`` command that cannot run (:func:`nst_research.resume.check_args`)."""
    from nst_research.files import unwritable
    from nst_research.resume import check_args

    multirun = any(a in ("-m", "--multirun") or a == "hydra.mode=MULTIRUN" for a in argv)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    place = "multirun" if multirun else "outputs"  # the default dirs, under the current dir
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name == key:
            place = value
        if sep and name == "hydra.run.dir" and not multirun:
            if (Path(value).expanduser() / "final.png").exists():
                return (
                    f"{value} already holds a finished run; choose another hydra.run.dir "
                    "(or go on from it with resume=" + value + " in a new dir)"
                )
    if any(a.partition("=")[0] in _NO_RUN for a in argv):  # --help, --cfg job: nothing written
        return check_args(argv)
    return check_args(argv) or unwritable(place, key)


def _resume_sweep(argv: list[str]) -> list[str]:
    """``nst resume=SWEEP_DIR``: the recorded sweep's command (:mod:`nst_research.io.sweep_resume`);
    any other command is returned as it is."""
    from nst_research.io import sweep_resume
    from nst_research.resume import resume_value

    old = resume_value(argv)
    if old is None or "," in old or not sweep_resume.is_sweep_dir(Path(old).expanduser()):
        return argv
    sweep_dir = Path(old).expanduser().absolute()
    RESUMING["sweep"] = sweep_dir
    return sweep_resume.command(sweep_dir, argv)


_NO_RUN = {"-h", "--help", "--hydra-help", "--version", "-c", "--cfg", "-i", "--info",
           "-sc", "--shell-completion"}  # fmt: skip


def main() -> None:
    set_search_path()
    register()
    help_text.register()
    argv = sys.argv[1:]
    try:
        argv = _resume_sweep(argv)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    from nst_research.validation.preflight import check_command

    problem = check_command(argv)  # every job composed and checked; nothing written yet
    if problem:
        for line in problem.splitlines():
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = [sys.argv[0], *argv]
    try:
        _app()
        if FAILED_SWEEP["failed"]:
            raise SystemExit(1)
        if _JOB_STARTED and not _MULTIRUN:  # a single run, done and written: skip the teardown
            from nst_research.edges import exit_now  # torch is loaded by now

            locks.release_all()
            exit_now(0)
    except KeyboardInterrupt:
        multirun = _MULTIRUN or any(a in ("-m", "--multirun") for a in argv)
        what = (
            "the sweep stopped; the running jobs saved their outputs as interrupted and later "
            "jobs did not start"
            if multirun
            else "the signal came while the run saved its outputs; they were saved first"
        )
        print(f"interrupted: {what}", file=sys.stderr)
        raise SystemExit(130) from None
    except SystemExit as e:
        # Hydra exits with 1 after printing a compose-time error (unknown option or key, bad
        # type): that is bad input, reported like the others with exit code 2.
        if e.code == 1 and not _JOB_STARTED:
            raise SystemExit(2) from None
        raise


if __name__ == "__main__":
    main()
