"""What ``nst`` checks before anything runs or is written: :func:`check_command`.

``nst_research.cli.main`` calls :func:`check_command` with its arguments before Hydra starts (so
before any run dir, ``.hydra/`` or ``multirun.yaml`` exists); the tests call the same function. It
checks the command line (overrides Hydra can read, known presets and keys, the run dir), the
user's config files, then composes every job of the command (every job of a sweep) and checks
each as a run would (values, options, files, image sizes, weights, the environment), without
changing any process-wide setting.
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig

from nst_research.errors import ConfigError, NSTError
from nst_research.validation.argv import NO_RUN as _NO_RUN
from nst_research.validation.hydra_keys import check_hydra
from nst_research.validation.jobs import composer, job_overrides, strip_hydra
from nst_research.validation.overrides import (
    check_presets,
    check_yaml_files,
    parse,
    split_argv,
)


def check_command(argv: Sequence[str]) -> str | None:
    """Why ``nst <argv>`` must not start (one line per problem; one per bad job of a sweep), or
    None. Writes nothing and changes no process-wide setting (torch threads, env, signals)."""
    from nst_research.validation import argv as cli

    argv = list(argv)
    problem = (
        cli.check_group_choices(argv)
        or cli.check_top_level_values(argv)
        or cli.check_group_keys(argv)
        or cli.check_run_dir(argv)
    )
    if problem:
        return problem
    if any(a.partition("=")[0] in _NO_RUN for a in argv):
        return None
    try:
        return _check_jobs(argv)
    except NSTError as e:
        return " ".join(str(e).split())


def _check_jobs(argv: list[str]) -> str | None:
    from nst_research.configs.compose import CONF_DIR, EXPERIMENTS_DIR, user_config_dirs

    overrides, multirun, other_primary = split_argv(argv)
    dirs = user_config_dirs(argv)
    check_yaml_files([d for d in dirs if d != CONF_DIR])  # the user's dirs (conf/ is tested)
    if other_primary:
        return None  # another primary config: Hydra checks it
    parsed = parse(overrides)
    with composer() as comp:
        base = comp.base([])
        check_presets(parsed, [*dirs, EXPERIMENTS_DIR], [str(k) for k in base if k != "hydra"])
        jobs = job_overrides(comp, overrides, multirun)
        problems = []
        for i, job in enumerate(jobs):
            try:
                cfg = comp.compose(job)
                for key in ("run.dir", "sweep.dir"):
                    if not str(cfg.hydra.get(key.split(".")[0], {}).get("dir") or "").strip():
                        raise ConfigError(f"hydra.{key} is empty; give a directory")
                check_hydra(cfg, multirun)
                if not cfg.get("resume"):  # a resume runs the recorded config (resume.py checks)
                    check_job(strip_hydra(cfg))
            except NSTError as e:
                problems.append((i, job, " ".join(str(e).split())))
    if not problems:
        return None
    if len(jobs) == 1:
        return problems[0][2]
    shared = set.intersection(*(set(job) for job in jobs))  # name a job by what it varies
    lines = [
        f"job {i} ({' '.join(o for o in job if o not in shared) or ' '.join(job)}): {why}"
        for i, job, why in problems
    ]
    lines.append(f"{len(problems)} of {len(jobs)} jobs are invalid; nothing was run")
    return "\n".join(lines)


def check_job(cfg: DictConfig) -> None:
    """Everything a run checks before it trains, without training or writing: the values and
    options (``build.check``), the environment, the weights file, the images and their sizes."""
    from nst_research.engine.build import read_inputs
    from nst_research.engine.parts import check
    from nst_research.validation.environment import check_environment
    from nst_research.validation.files import check_weights_file

    try:
        parts = check(cfg)
        check_environment(cfg)
        check_weights_file(cfg)
        read_inputs(cfg, parts)
    except NSTError:
        raise
    except (AttributeError, KeyError) as e:  # omegaconf's missing-key errors derive from these
        key = getattr(e, "full_key", None)
        if not key:
            raise ConfigError(f"{type(e).__name__}: {' '.join(str(e).split())}") from e
        raise ConfigError(
            f"the config has no {key} (removed with ~{key}?), and every run reads it; set it "
            f"instead ({key}=...)"
        ) from None
    except Exception as e:  # a library's error that no check names yet: one line, no traceback
        text = " ".join(str(e).split()) or type(e).__name__
        raise ConfigError(f"{type(e).__name__}: {text}") from e
