"""The environment record of a run (environment.txt + metrics.json) and the lock (make lock)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata

import pytest
import torch

from nst_research.api import stylize
from nst_research.provenance import environment as env
from nst_research.provenance.lock import LockError, lock_lines, parse_pins
from tests.conftest import REPO

FREEZE = """\
numpy==2.0.1
# Editable Git install with no remote (nst-research==0.1.0)
-e /work/main
nst-research==0.1.0
pip==26.3
PyYAML==6.0.4
mylocal @ file:///tmp/mylocal-1.0.tar.gz
torch==2.14.1
torchvision==0.29.1
setuptools==84.2.1
""".splitlines()


def test_lock_keeps_pins_drops_project_pip_editable_and_local_entries():
    pins = parse_pins("torch==2.14.1 torchvision==0.29.1")
    assert pins == {"torch": "2.14.1", "torchvision": "0.29.1"}
    assert lock_lines(FREEZE, pins) == [
        "numpy==2.0.1", "PyYAML==6.0.4", "setuptools==84.2.1", "torch==2.14.1",
        "torchvision==0.29.1",
    ]  # fmt: skip
    with pytest.raises(
        LockError, match=r"TORCH_PINS says torch==2.4.0 but the venv has torch==2.14.1"
    ):
        lock_lines(FREEZE, parse_pins("torch==2.4.0"))
    with pytest.raises(LockError, match="not name==version"):
        parse_pins("torch>=2.4")


def test_committed_lock_agrees_with_the_makefile_torch_pins():
    makefile = (REPO / "Makefile").read_text()
    (line,) = [x for x in makefile.splitlines() if x.startswith("TORCH_PINS ?=")]
    lock = (REPO / "constraints.txt").read_text().splitlines()
    pins = {x.split("==")[0].lower(): x.split("==")[1] for x in lock if "==" in x}
    for name, version in parse_pins(line.partition("?=")[2]).items():
        assert pins[name] == version
    assert "nst-research" not in pins and "pip" not in pins
    assert all(x.startswith("#") or x.count("==") == 1 for x in lock if x)


def test_distributions_are_every_installed_one_sorted_and_hashed():
    env.distributions.cache_clear()  # read once per process: earlier tests may change sys.path
    lines = env.distributions()
    names = [x.split("==")[0] for x in lines]
    assert names == sorted(names, key=env._canonical)
    assert f"torch=={metadata.version('torch')}" in lines
    assert len(lines) == len({env._canonical(d.metadata["Name"]) for d in metadata.distributions()})
    text = env.packages_text(("a==1", "b==2"))
    assert text == "a==1\nb==2\n"
    assert env.packages_sha256(("a==1", "b==2")) == hashlib.sha256(text.encode()).hexdigest()


def test_numerics_flags_follow_the_process_settings():
    before = env.numerics_flags()
    assert before["threads"] == torch.get_num_threads()
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("high")
        assert env.numerics_flags()["float32_matmul_precision"] == "high"
    finally:
        torch.set_float32_matmul_precision(old)
    cpu = env.device_info("cpu")
    assert cpu["type"] == "cpu" and cpu["cpu"] and "name" not in cpu


def test_a_run_writes_environment_txt_and_its_hash(tmp_path, tiny_images):
    content, style = tiny_images
    overrides = [f"content={content}", f"style={style}", "size=32", "iterations=1",
                 "logger=none", "eval=[]", "trainer.progress_bar=false"]  # fmt: skip
    _, metrics, run_dir = stylize(overrides, run_dir=tmp_path / "run")
    record = metrics["environment"]
    listed = (run_dir / "environment.txt").read_bytes()
    assert record["packages_sha256"] == hashlib.sha256(listed).hexdigest()
    assert record["packages"] == len(listed.decode().splitlines()) == len(env.distributions())
    assert record["device"]["type"] == "cpu" and record["torch"] == torch.__version__
    assert record["numerics"]["deterministic_algorithms"] is False
    assert json.loads((run_dir / "metrics.json").read_text())["environment"] == record


def _with_environment(job, packages: tuple[str, ...], threads: int = 2) -> None:
    metrics = json.loads((job / "metrics.json").read_text())
    metrics["environment"] = {
        "packages_sha256": env.packages_sha256(packages),
        "python": "CPython 3.11.7",
        "device": {"type": "cpu", "cpu": "AMD EPYC"},
        "numerics": {"threads": threads, "matmul_tf32": False},
    }
    (job / "metrics.json").write_text(json.dumps(metrics))
    (job / "environment.txt").write_text(env.packages_text(packages))


def test_report_names_the_packages_and_flags_where_jobs_differ(tmp_path):
    from nst_research.report import write_report
    from tests.test_report import make_job

    sweep = tmp_path / "sweep"
    same = ("numpy==2.0.1", "torch==2.14.1")
    for num in range(3):
        _with_environment(make_job(sweep, num, {"seed": num}), same)
    report = write_report(sweep)["md"]
    assert "environments" not in report.read_text()  # one environment: no line

    _with_environment(make_job(sweep, 3, {"seed": 3}), ("numpy==2.4.6", "scipy==1.17.1",
                                                        "torch==2.14.1"), threads=1)  # fmt: skip
    (line,) = [x for x in write_report(sweep)["md"].read_text().splitlines() if "environ" in x]
    assert line == (
        "- **environments differ** (2 among 4 jobs; results may not be comparable): packages: "
        "`numpy` 2.0.1 / 2.4.6, `scipy` absent / 1.17.1; numerics: threads 2 / 1"
    )
