"""The package installed from a wheel, outside the checkout: configs, presets and a tiny run.

The wheel is built from this checkout (no network: ``--no-deps --no-build-isolation``) and
installed into a fresh virtual environment whose only link to the test's environment is a ``.pth``
line naming its site-packages (the dependencies; ``.pth`` files there, such as the editable
install's finder, are not processed through such a line). ``PYTHONPATH`` is unset and the
commands run from a temporary directory, so nothing of the checkout can be imported or read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools (dev extra)")
    tmp = tmp_path_factory.mktemp("package")
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("nst_research-*.whl")
    env_dir = tmp / "env"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "NST_"))}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # --ignore-installed, no PYTHONPATH, cwd elsewhere: a checkout's nst_research.egg-info (left
    # by an editable install) must not pass for this package being installed already
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--ignore-installed", "-q", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300, cwd=tmp, env=env,
    )  # fmt: skip
    # the dependencies, after the install (pip would take the editable install's metadata there
    # for this package, already installed)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_nst_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    work = tmp / "elsewhere"
    work.mkdir()
    return {"wheel": wheel, "bin": env_dir / "bin", "site": Path(site), "env": env, "cwd": work}


def _run(installed: dict, *argv: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(argv), cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_the_wheel_carries_every_config_and_preset(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    confs = {
        f"nst_research/conf/{p.relative_to(REPO / 'conf')}" for p in (REPO / "conf").rglob("*.yaml")
    }
    presets = {
        f"nst_research/experiments/{p.relative_to(REPO / 'experiments')}"
        for sub in ("ablation", "search")
        for p in (REPO / "experiments" / sub).glob("*.yaml")
    }  # fmt: skip
    assert "nst_research/conf/config.yaml" in confs and len(presets) >= 10
    assert confs <= names, sorted(confs - names)
    assert presets <= names, sorted(presets - names)
    recipes = "nst_research/figures/recipes.py"
    assert recipes in names and "hydra_plugins/nst_optuna_sweeper/sweeper.py" in names


def test_the_installed_nst_runs_a_tiny_job_from_another_directory(installed, tmp_path):
    where = _run(installed, str(installed["bin"] / "python"), "-c",
                 "from nst_research.configs.compose import CONFIG_PATH, __file__ as f; print(f, CONFIG_PATH)")  # fmt: skip
    assert where.returncode == 0, where.stderr
    module, config_path = where.stdout.split()
    assert Path(module).is_relative_to(installed["site"]), module  # not the checkout
    assert config_path == "pkg://nst_research.conf"
    run_dir = tmp_path / "run"
    proc = _run(installed, str(installed["bin"] / "nst"), "size=32", "iterations=2", "logger=csv",
                "eval=[]", "trainer.progress_bar=false", f"hydra.run.dir={run_dir}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"completed: 2 iterations, result in {run_dir / 'final.png'}" in proc.stdout
    assert (run_dir / "final.png").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 2
    assert not (installed["cwd"] / "outputs").exists()  # hydra.run.dir was honoured


def test_the_installed_nst_finds_the_presets_and_the_sweeper(installed):
    nst = str(installed["bin"] / "nst")
    ablation = _run(installed, nst, "+ablation=pooling", "--cfg", "hydra")
    assert ablation.returncode == 0, ablation.stderr
    assert "model.pooling: max,avg" in ablation.stdout
    search = _run(installed, nst, "+search=style_tv", "--cfg", "hydra")
    assert search.returncode == 0, search.stderr
    assert "hydra_plugins.nst_optuna_sweeper.sweeper.NSTOptunaSweeper" in search.stdout


def test_a_user_config_dir_adds_and_overrides_options(installed, tmp_path):
    user = tmp_path / "my_conf"
    (user / "style_loss").mkdir(parents=True)
    (user / "style_loss" / "mine.yaml").write_text(
        "_target_: nst_research.loss.terms.GramLoss\nnorm: paper\nreduction: sum\n"
    )
    (user / "style_loss" / "gram.yaml").write_text(
        "_target_: nst_research.loss.terms.GramLoss\nnorm: hw\nreduction: mean\n"
    )
    nst = str(installed["bin"] / "nst")
    added = _run(installed, nst, "--config-dir", str(user), "style_loss=mine", "--cfg", "job")
    assert added.returncode == 0, added.stderr
    assert (
        "style_loss:\n  _target_: nst_research.loss.terms.GramLoss\n  norm: paper\n" in added.stdout
    )
    # --config-dir only adds (Hydra puts it after conf/); $NST_CONFIG_DIR adds and overrides.
    kept = _run(installed, nst, "--config-dir", str(user), "--cfg", "job")
    assert (
        "style_loss:\n  _target_: nst_research.loss.terms.GramLoss\n  norm: ${loss.gram_norm}\n"
        in kept.stdout
    )
    installed["env"]["NST_CONFIG_DIR"] = str(user)
    try:
        overridden = _run(installed, nst, "--cfg", "job")
        added_by_env = _run(installed, nst, "style_loss=mine", "--cfg", "job")
    finally:
        del installed["env"]["NST_CONFIG_DIR"]
    assert overridden.returncode == 0, overridden.stderr
    assert added_by_env.returncode == 0 and "norm: paper" in added_by_env.stdout
    assert (
        "style_loss:\n  _target_: nst_research.loss.terms.GramLoss\n  norm: hw\n"
        in overridden.stdout
    )
    unknown = _run(installed, nst, "style_loss=mine", "--cfg", "job")  # without the dir
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: unknown style_loss 'mine'; choose one of: gram,")
