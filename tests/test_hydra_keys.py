"""Issue 22: Hydra settings nst cannot honour are refused in one line, before anything is written
(``nst_research/validation/hydra_keys.py``); the ones it can are still accepted."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nst_research.validation.preflight import check_command


def check(args: list[str], tmp_path) -> str | None:
    run_dir = tmp_path / "run"
    problem = check_command([*args, "logger=none", f"hydra.run.dir={run_dir}",
                             f"hydra.sweep.dir={run_dir}"])  # fmt: skip
    assert not run_dir.exists()
    return problem


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["hydra.output_subdir=null"], "hydra.output_subdir=null: nst keeps each run's config in"),
        (["hydra.output_subdir=cfg"], "leave hydra.output_subdir as it is"),
        (["hydra.job.chdir=true"], "hydra.job.chdir=true is not supported"),
        (["~hydra.callbacks.claim_dir"], "hydra.callbacks.claim_dir is nst's own"),
        (["hydra.callbacks.claim_dir=null"], "cannot be removed or replaced (got None)"),
        (["~hydra.callbacks.sweep_summary"], "hydra.callbacks.sweep_summary is nst's own"),
        (["+hydra.callbacks.mine=1"], "hydra.callbacks.mine must be a callback with a _target_"),
        (
            ["+hydra.callbacks.mine._target_=no_such_module.Callback"],
            "cannot be imported (ModuleNotFoundError: No module named 'no_such_module')",
        ),
        (["hydra.job.name=a/b"], "hydra.job.name='a/b' is not a file name"),
        (["-m", "seed=1,2", "hydra.sweep.subdir=same"], "is the same for every job"),
        (["+hydra.foo=1"], "'+hydra.foo=1' adds a key Hydra does not read"),
        (["+hydra.run.dri=x"], "(did you mean hydra.run.dir?)"),
        (["+hydra.launcher.foo=1"], "'+hydra.launcher.foo=1' adds a key Hydra does not read"),
    ],
)
def test_refused_in_one_line(args, expected, tmp_path):
    problem = check(args, tmp_path)
    assert problem is not None and expected in problem, problem
    assert len(problem.splitlines()) == (3 if "-m" in args else 1)  # one per job, + total


@pytest.mark.parametrize(
    "args",
    [
        ["hydra.job.chdir=false"],
        ["+hydra.job.env_set.NST_X=1"],
        ["+hydra.job_logging.loggers.nst_x.level=DEBUG"],
        ["+hydra.callbacks.mine._target_=nst_research.tracking.sweeps.SweepSummary"],
        ["-m", "seed=1,2", "hydra.sweep.subdir=${hydra.job.override_dirname}"],
        ["hydra.job.name=my_job"],
        ["hydra.verbose=true"],
    ],
)
def test_what_nst_can_honour_is_accepted(args, tmp_path):
    assert check(args, tmp_path) is None


def test_the_cli_refuses_a_shared_sweep_subdir_before_any_job_writes(tmp_path):
    sweep = tmp_path / "sweep"
    out = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", "-m", "seed=1,2", "logger=none",
         "hydra.sweep.subdir=same", f"hydra.sweep.dir={sweep}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert lines[-1] == "error: 2 of 2 jobs are invalid; nothing was run" and len(lines) == 3
    assert "Traceback" not in out.stderr and not sweep.exists()


HYDRA_KEYS = ["hydra.job.chdir", "hydra.verbose", "hydra.job.name", "hydra.launcher.n_jobs",
              "hydra.sweeper.params.seed", "+hydra.sweeper.params.style_loss",
              "hydra.run.dir", "++hydra.job.env_set.NST_X"]  # fmt: skip
SWEEPS = st.one_of(
    st.lists(st.integers(0, 9), min_size=2, max_size=4, unique=True).map(
        lambda v: ",".join(map(str, v))
    ),
    st.tuples(st.integers(0, 3), st.integers(5, 9)).map(lambda t: f"range({t[0]},{t[1]})"),
    st.sampled_from(["choice(a,b)", "glob(*)", "a,b"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.sampled_from(HYDRA_KEYS), value=SWEEPS)
def test_a_sweep_of_a_hydra_key_is_one_line_naming_it(key, value, tmp_path):
    """Hydra does not sweep its own config: every such sweep is refused in one line naming the
    argument (and, for ``hydra.sweeper.params.KEY``, the sweep to give instead)."""
    arg = f"{key}={value}"
    problem = check(["-m", arg], tmp_path)
    assert problem is not None and len(problem.splitlines()) == 1, problem
    assert f"{arg!r} sweeps Hydra's own config" in problem
    if "sweeper.params." in key:
        assert f"({key.rsplit('.', 1)[1]}={value})" in problem


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ('+hydra.sweeper.params.seed="1,2"', "(to sweep seed, give seed=... with -m)"),
        (
            "+style_blend.x=1",
            "under style_blend, which is null here: set style_blend as a whole (style_blend=...)",
        ),
    ],
)
def test_a_key_added_under_a_null_node_is_one_line(arg, expected, tmp_path):
    problem = check(["-m", arg], tmp_path)
    assert problem is not None and expected in problem and "Unexpected type" not in problem
