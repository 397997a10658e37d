"""Issue 22: a sweep's ``multirun.yaml`` is written atomically and by one sweep only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import yaml
from omegaconf import OmegaConf

from nst_research.io import hydra_files, locks

NST = [sys.executable, "-m", "nst_research.cli"]
TINY = ["size=32", "trainer.progress_bar=false", "logger=none", "eval=[]",
        "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]"]  # fmt: skip

FULL_AT_MULTIRUN_YAML = textwrap.dedent(
    """
    import errno, sys
    from nst_research import cli
    from nst_research.io import files

    real = files._write_file

    def write_file(tmp, data):
        if "multirun.yaml" not in tmp.name:
            return real(tmp, data)
        tmp.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    files._write_file = write_file
    sys.argv = ["nst", *sys.argv[1:]]
    cli.main()
    """
)


def test_the_basic_sweeper_saves_multirun_yaml_through_the_atomic_writer(tmp_path):
    import hydra._internal.core_plugins.basic_sweeper as basic_sweeper

    hydra_files.install()
    cfg = OmegaConf.create({"hydra": {"sweep": {"dir": "${oc.env:HOME}"}}, "size": 32})
    basic_sweeper.OmegaConf.save(cfg, tmp_path / "multirun.yaml")
    assert yaml.safe_load((tmp_path / "multirun.yaml").read_text()) == {
        "hydra": {"sweep": {"dir": "${oc.env:HOME}"}}, "size": 32}  # fmt: skip
    assert os.listdir(tmp_path) == ["multirun.yaml"]  # no temp file left
    assert basic_sweeper.OmegaConf.is_config(cfg)  # the rest of OmegaConf, as it was


def test_a_full_disk_at_multirun_yaml_is_one_line_and_leaves_no_part_file(tmp_path):
    sweep = tmp_path / "sweep"
    script = tmp_path / "full.py"
    script.write_text(FULL_AT_MULTIRUN_YAML)
    proc = subprocess.run([sys.executable, str(script), "-m", *TINY, "seed=1,2",
                           f"hydra.sweep.dir={sweep}"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert f"no space left in {sweep}: writing multirun.yaml" in lines[0]
    assert lines[0].endswith("the sweep did not start")
    assert not sweep.exists()  # no half file, no temp file, no job: the dir the claim made, gone


@pytest.mark.slow
def test_two_sweeps_into_one_dir_leave_one_whole_multirun_yaml(tiny_images, tmp_path):
    content, style = tiny_images
    sweep = tmp_path / "sweep"
    procs = [
        subprocess.Popen([*NST, "-m", f"content={content}", f"style={style}", *TINY,
                          "iterations=1", f"seed={seed}", f"hydra.sweep.dir={sweep}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in ("1", "2")
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    refused = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 2)
    assert refused.strip().count("\n") == 0 and refused.startswith("error: "), refused
    assert "in use by another run" in refused or "already holds a sweep" in refused
    recorded = yaml.safe_load((sweep / "multirun.yaml").read_text())  # whole, parseable
    job = OmegaConf.load(sweep / "0" / ".hydra" / "config.yaml")
    assert recorded["seed"] == job.seed  # the sweep's record and its one job are one sweep's
    assert f"seed={job.seed}" in recorded["hydra"]["overrides"]["task"]
    assert sorted(os.listdir(sweep)) == ["0", "multirun.yaml"]
    assert not (sweep / locks.LOCK_NAME).exists()
