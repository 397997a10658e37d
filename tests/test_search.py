"""The nst_optuna sweeper: search-space parsing, job values, and Optuna sweeps through the real CLI."""

from __future__ import annotations

import csv
import json
import math
import subprocess

import optuna
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra_plugins.nst_optuna_sweeper._space import parse_search_space
from hydra_plugins.nst_optuna_sweeper._study import job_value, next_job_number
from tests.conftest import REPO

TINY = ["size=32", "iterations=3", "trainer.progress_bar=false", "snapshot_every=0", "logger=none",
        "layers.style=[relu1_1,relu2_1]"]  # fmt: skip


def test_search_space_from_the_override_grammar():
    space = parse_search_space(
        ["a=choice(x,y)", "b=1,2,3", "c=interval(0.5,2)", "d=tag(log,interval(1e-5,1e-1))",
         "e=range(1,10,3)", "f=range(0,5)", "g=tag(log,range(1,100))",
         "layers.style=[relu1_1],[relu1_1,relu2_1]", "size=32", "+extra=[1,2]", "~seed"]
    )  # fmt: skip
    assert space.distributions == {
        "a": CategoricalDistribution(["x", "y"]),
        "b": CategoricalDistribution([1, 2, 3]),
        "c": FloatDistribution(0.5, 2.0),
        "d": FloatDistribution(1e-5, 1e-1, log=True),
        "e": IntDistribution(1, 7, step=3),  # range's end is excluded, as in Python
        "f": IntDistribution(0, 4),
        "g": IntDistribution(1, 99, log=True),
        "layers.style": CategoricalDistribution(["[relu1_1]", "[relu1_1,relu2_1]"]),
    }
    assert space.fixed == ("size=32", "+extra=[1,2]", "~seed")


def test_later_overrides_win_and_sampled_values_read_back_through_hydra():
    # hydra.sweeper.params come first, the command line after: its value of a key wins.
    space = parse_search_space(["w=interval(1,2)", "v=3", "w=5", "v=tag(log,interval(1e-3,1))"])
    assert space.fixed == ("w=5",)
    assert space.distributions == {"v": FloatDistribution(1e-3, 1.0, log=True)}

    space = parse_search_space(["lr=tag(log,interval(1e-6,1))", "layers.style=[a],[a,b]",
                                "n=range(1,4)", "flag=true,false", "size=32"])  # fmt: skip
    params = {"lr": 1.234e-05, "layers.style": "[a,b]", "n": 3, "flag": False}
    overrides = space.overrides(params)
    assert overrides[0] == "size=32"
    parsed = {
        o.key_or_group: o.value() for o in OverridesParser.create().parse_overrides(overrides)
    }
    assert parsed == {
        "size": 32,
        "lr": 1.234e-05,
        "layers.style": ["a", "b"],
        "n": 3,
        "flag": False,
    }


def test_sweeps_optuna_cannot_sample_are_refused():
    with pytest.raises(ValueError, match="shuffle"):
        parse_search_space(["a=shuffle(1,2,3)"])
    with pytest.raises(ValueError, match="empty"):
        parse_search_space(["a=range(3,3)"])


def _job(status: JobStatus, value: object) -> JobReturn:
    ret = JobReturn(overrides=["x=1"], status=status)
    ret.return_value = value
    return ret


def test_job_values_failures_are_none_with_the_reason():
    assert job_value(_job(JobStatus.COMPLETED, 2.5)) == (2.5, None)
    assert job_value(_job(JobStatus.COMPLETED, 3)) == (3.0, None)
    failures = {
        "ValueError: boom": _job(JobStatus.FAILED, ValueError("boom")),
        "returned None": _job(JobStatus.COMPLETED, None),
        "returned nan": _job(JobStatus.COMPLETED, math.nan),
        "returned inf": _job(JobStatus.COMPLETED, math.inf),
        "not a number": _job(JobStatus.COMPLETED, "abc"),
    }
    for reason, ret in failures.items():
        value, error = job_value(ret)
        assert value is None and reason in error


def test_job_numbers_follow_the_trials_and_skip_existing_job_dirs(tmp_path):
    study = optuna.create_study()
    for _ in range(2):
        study.tell(study.ask(), 1.0)
    assert next_job_number(tmp_path, study) == 2  # job N runs trial N
    for name in ("0", "1", "5", ".submitit", "notes"):
        (tmp_path / name).mkdir()
    assert next_job_number(tmp_path, study) == 6  # never a job dir that is already there


def nst(tmp_path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [str(REPO / ".venv" / "bin" / "nst"), *args, f"content={tmp_path / 'content.png'}",
           f"style={tmp_path / 'style.png'}", *TINY]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def load_trials(sweep) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(
        study_name=sweep.name, storage=f"sqlite:///{sweep / 'optuna.db'}"
    ).trials


def job_total(sweep, trial) -> float:
    """What the job returned: its objective (by default eval/style_ratio + eval/content_ratio)."""
    metrics = json.loads((sweep / str(trial.user_attrs["job"]) / "metrics.json").read_text())
    return metrics["objective"]


@pytest.mark.slow
def test_search_preset_tells_job_values_and_resumes(tiny_images, tmp_path):
    sweep = tmp_path / "multirun" / "style_tv"
    search = ["+search=style_tv", f"hydra.sweep.dir={sweep}", "layers.content=[relu2_1]",
              "loss.content_weight=1.0,5.0"]  # fmt: skip
    first = nst(tmp_path, *search, "hydra.sweeper.n_trials=3")
    assert first.returncode == 0, first.stderr[-3000:]

    trials = load_trials(sweep)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert [t.user_attrs["job"] for t in trials] == [0, 1, 2]
    for t in trials:
        assert t.value == job_total(sweep, t)  # the study holds what each job returned
        assert 1e1 <= t.params["loss.style_weight"] <= 1e4
        assert 1e-5 <= t.params["loss.tv_weight"] <= 1e-1
        assert t.params["loss.content_weight"] in (1.0, 5.0)  # the command line's sweep joined
        job_dir = sweep / str(t.user_attrs["job"])
        ran = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
        assert f"loss.style_weight={t.params['loss.style_weight']!r}" in ran
    best = min(trials, key=lambda t: t.value)
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert (results["best_trial"], results["best_value"]) == (best.number, best.value)
    assert results["best_params"] == best.params
    assert (results["n_complete"], results["n_failed"]) == (3, 0)
    assert f"best value {best.value:.6g} at trial {best.number}" in first.stdout
    with open(sweep / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["value"]) for r in rows] == [t.value for t in trials]

    second = nst(tmp_path, *search, "hydra.sweeper.n_trials=4")  # the same sweep dir: resume
    assert second.returncode == 0, second.stderr[-3000:]
    resumed = load_trials(sweep)
    assert [t.state for t in resumed] == [TrialState.COMPLETE] * 4
    for before, after in zip(trials, resumed[:3], strict=True):
        assert (after.params, after.value, after.datetime_start) == (
            before.params, before.value, before.datetime_start)  # fmt: skip
    new = resumed[3]
    assert new.user_attrs["job"] == 3 and new.value == job_total(sweep, new)
    assert new.params != trials[0].params  # the seeded sampler did not replay its first draw
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    assert "1 to run" in second.stdout


# Jobs that fail while they run (bad configs are refused before the study starts, issue 23):
# every job's build raises, as a full disk or a driver error would.
FAIL_EVERY_JOB = """
import sys
from nst_research import cli, run
from nst_research.errors import ConfigError
def failing(*args, **kwargs):
    raise ConfigError("unknown layer name(s) 'relu9_9' (injected failure)")
run.build = failing
sys.argv = ["nst", *sys.argv[1:]]
cli.main()
"""


@pytest.mark.slow
def test_a_search_with_a_bad_config_is_refused_before_the_study(tiny_images, tmp_path):
    sweep = tmp_path / "multirun" / "failing"
    proc = nst(
        tmp_path, "-m", "hydra/sweeper=nst_optuna", "hydra.sweeper.n_trials=2",
        f"hydra.sweep.dir={sweep}", "layers.content=[relu9_9]", "loss.tv_weight=interval(1e-4,1e-2)",
    )  # fmt: skip
    assert proc.returncode == 2 and "relu9_9" in proc.stderr.splitlines()[0]
    assert proc.stderr.strip().splitlines()[-1] == "error: 2 of 2 jobs are invalid; nothing was run"
    assert not sweep.exists()


@pytest.mark.slow
def test_failed_jobs_are_failed_trials_and_the_sweep_goes_on(tiny_images, tmp_path):
    import sys

    sweep = tmp_path / "multirun" / "failing"
    script = tmp_path / "fail_every_job.py"
    script.write_text(FAIL_EVERY_JOB)
    proc = subprocess.run(
        [sys.executable, str(script), "-m", "hydra/sweeper=nst_optuna",
         "hydra/sweeper/sampler=random", "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={sweep}",
         "loss.tv_weight=interval(1e-4,1e-2)", f"content={tmp_path / 'content.png'}",
         f"style={tmp_path / 'style.png'}", *TINY],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode != 0 and "no trial of study 'failing' completed" in proc.stderr
    trials = load_trials(sweep)
    assert [t.state for t in trials] == [
        TrialState.FAIL
    ] * 2  # the second ran after the first failed
    for t in trials:
        assert "relu9_9" in t.user_attrs["error"]
        assert (
            json.loads((sweep / str(t.number) / "metrics.json").read_text())["status"] == "failed"
        )
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_trial"] is None and results["n_failed"] == 2
