"""Issue 22 (3-4) and 23 (2): every value and every job checked before anything runs or is written,
in one line with a fix that runs; the environment honoured or refused.

In-process through :func:`check_command`, the function ``nst`` calls first (``test_probe.py``
shows the CLI takes that path); one real run shows that the quoted form an error advises runs.
"""

from __future__ import annotations

import os
import pickle
import shlex
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest

from nst_research.validation.preflight import check_command


def refuse(args: list[str], tmp_path) -> str:
    """The one line ``nst <args>`` is refused with; nothing written."""
    run_dir = tmp_path / "run"
    problem = check_command([*args, f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={run_dir}"])
    assert problem is not None, f"{args} was accepted"
    assert not run_dir.exists()
    return problem


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["optimizer=adam", "optimizer.beta1=1.5"],
            "optimizer.beta1=1.5 must be a number in [0, 1)",
        ),
        (
            ["optimizer=sgd", "optimizer.momentum=-1"],
            "optimizer.momentum=-1 must be a finite number >= 0",
        ),
        (["trainer.threads=-1"], "trainer.threads=-1 must be an integer >= 0"),
        (["init=image"], "init.path must be set"),
        (["init=image", "init.path=/no/such.png"], "init image not found: /no/such.png"),
        (["style_blend=[0.5]"], "style_blend=[0.5] weights the styles of a list, and there is one"),
        (["+loss.style_wieght=0"], "(did you mean loss.style_weight?)"),
        (["loss.style_wieght=0"], "(did you mean loss.style_weight?)"),
        (["eval=[]", "objective=eval/style_ratio"], "(e.g. objective=loss/total)"),
        (["+ablaton=pooling"], "(did you mean +ablation=pooling?); the presets are: +ablation="),
        (["+seach=style_tv"], "(did you mean +search=style_tv?)"),
        (["+experiment=foo"], "unknown preset or key '+experiment=foo'; the presets are"),
        (["+ablation=poolin"], "(did you mean +ablation=pooling?)"),
        (["style_loss=mrf", "size=24", "layers.style=[relu1_1,relu5_1]"], "fewer than style_loss"),
        (["+search=style_tv", "loss.style_weight=interval(10,1)"], "needs low < high"),
        (["optimizer.lr=1,2"], "is a sweep (several values): add -m"),
        (["eval.colour.projections=0"], "eval.colour.projections=0 must be an integer >= 1"),
        (["trainer.devices=-1"], "trainer.devices=-1 must be an integer >= 1"),
    ],
)
def test_refused_in_one_line(args, expected, tmp_path):
    problem = refuse(args, tmp_path)
    assert expected in problem and "\n" not in problem
    assert "+loss.style_wieght" not in problem.replace("'+loss.style_wieght=0'", "")


def test_garbage_weights_files(tmp_path):
    text, evil = tmp_path / "text.pth", tmp_path / "evil.pth"
    text.write_text("hello, not a torch file")
    evil.write_bytes(pickle.dumps({"a": OrderedDict}))
    for path in (text, evil):
        problem = refuse([f"model.weights={path}"], tmp_path)
        assert problem.startswith(f"could not read weights file {path}: it is not a state dict")
        assert "weights_only" not in problem and "\n" not in problem


def test_broken_yaml_in_the_user_config_dir(tmp_path, monkeypatch):
    (tmp_path / "conf" / "optimizer").mkdir(parents=True)
    (tmp_path / "conf" / "optimizer" / "mine.yaml").write_text("lr: [1, 2\n  bad: :\n")
    monkeypatch.setenv("NST_CONFIG_DIR", str(tmp_path / "conf"))
    problem = refuse([], tmp_path)
    assert problem.endswith("is not valid YAML (expected ',' or ']', but got ':' at line 2, "
                            "column 6); fix or remove it")  # fmt: skip


def test_every_job_of_a_sweep_is_checked_first(tmp_path):
    problem = refuse(["-m", "optimizer=adam", "optimizer.lr=1,-1,-2"], tmp_path)
    lines = problem.splitlines()
    assert lines[0].startswith("job 1 (optimizer.lr=-1): optimizer.lr=-1 must be a number > 0")
    assert lines[1].startswith("job 2 (") and lines[2] == "2 of 3 jobs are invalid; nothing was run"
    # a preset's own sweep (hydra.sweeper.params) is expanded too
    problem = refuse(["+ablation=pooling", "init=image"], tmp_path)
    assert problem.splitlines()[-1] == "2 of 2 jobs are invalid; nothing was run"


@pytest.mark.parametrize("name", ["a=b.png", "é x.png", "it's(1)#.png"])
def test_lexer_errors_advise_a_quoted_form_that_works(tmp_path, tiny_images, name):
    path = tmp_path / name
    path.write_bytes(tiny_images[0].read_bytes())
    problem = check_command([f"content={path}", "size=32"])
    if problem is None:  # spaces are fine unquoted
        return
    assert "\n" not in problem and "quote the value for Hydra, e.g. " in problem
    advice = shlex.split(problem.split("e.g. ", 1)[1])  # as the shell hands it to nst
    assert len(advice) == 1
    assert check_command([*advice, "size=32"]) is None


def test_the_advised_command_runs(tmp_path, tiny_images):
    path = tmp_path / "a=b.png"
    path.write_bytes(tiny_images[0].read_bytes())
    base = [sys.executable, "-m", "nst_research.cli", "size=32", "iterations=1", "logger=none",
            "eval=[]", f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    first = subprocess.run([*base, f"content={path}"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 2 and len(first.stderr.strip().splitlines()) == 1
    advice = first.stderr.split("e.g. ", 1)[1].strip()
    shell = " ".join(shlex.quote(a) for a in base) + " " + advice  # run as the user would
    ok = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert (tmp_path / "run" / "final.png").is_file()


def test_wandb_mode_from_the_environment(tmp_path, monkeypatch, compose):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert compose().logger.mode == "disabled"
    assert compose(["logger.mode=offline"]).logger.mode == "offline"  # the command line wins
    monkeypatch.setenv("WANDB_MODE", "sometimes")
    refused = refuse([], tmp_path)
    assert "unknown logger.mode='sometimes'" in refused and "$WANDB_MODE='sometimes'" in refused


def test_missing_home_is_one_line_with_wandb(tmp_path, monkeypatch):
    monkeypatch.delenv("HOME", raising=False)
    for key in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    assert refuse([], tmp_path).startswith("HOME is not set, and W&B keeps its cache")
    assert check_command(["logger=csv", f"hydra.run.dir={tmp_path / 'r'}"]) is None


def test_threads_checked_before_they_are_applied(compose, tmp_path):
    import torch

    from nst_research.errors import ConfigError
    from nst_research.run import run

    before = torch.get_num_threads()
    with pytest.raises(ConfigError, match="trainer.threads=-1"):
        run(compose(["trainer.threads=-1", "logger=none"]), tmp_path / "run")
    assert torch.get_num_threads() == before and not (tmp_path / "run").exists()


def test_nothing_in_the_environment_is_changed(tmp_path):
    env = dict(os.environ)
    refuse(["optimizer=adam", "optimizer.beta1=2"], tmp_path)
    assert dict(os.environ) == env


def test_wandb_dir_is_honoured_and_an_unwritable_one_refused(tmp_path, monkeypatch, capsys):
    """WANDB_DIR takes the W&B files (the run dir otherwise), without a warning; one that cannot
    be written is refused in one line. (A whole offline run: tests/test_wandb_dir.py.)"""
    import wandb

    from nst_research.tracking.loggers import WandbLog

    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("WANDB_MODE", "offline")  # the logger sets it (a run restores it)
    logger = WandbLog(mode="offline")(tmp_path / "run", "x", None, "stylize")
    try:
        assert Path(logger.experiment.dir).is_relative_to(tmp_path / "elsewhere" / "wandb")
    finally:
        logger.experiment.finish()
        wandb.finish()
    assert "WANDB_DIR" not in capsys.readouterr().err
    assert not (tmp_path / "run" / "wandb").exists()
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "a_file"))
    problem = refuse(["logger=wandb"], tmp_path)
    assert problem == (
        f"{tmp_path / 'a_file'} is a file, not a directory; choose another WANDB_DIR (or unset "
        "it: W&B's files then go into the run dir)"
    )
