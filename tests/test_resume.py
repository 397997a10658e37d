"""Issue 14 item 2: a resumed run runs and records the configuration that ran, on the same files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from nst_research.engine.resume import ALLOWED
from nst_research.errors import ConfigError
from nst_research.run import run

NST = [sys.executable, "-m", "nst_research.cli"]
FAST = ["trainer.progress_bar=false", "layers.style=[relu1_1,relu2_1]", "layers.content=[relu2_1]",
        "logger=none", "eval=[]"]  # fmt: skip
PROVENANCE = ("inputs", "hashes", "image_size", "seed", "task")


def nst(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*NST, *args], capture_output=True, text=True, timeout=timeout)


def saved_config(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())


@pytest.mark.slow
def test_resume_of_a_resumed_run_is_the_same_run(tiny_images, tmp_path):
    """10 iterations, resumed to 15, the resumed run resumed to 20: each records the original
    config (iterations and resume aside) and runs on the original images."""
    content, style = tiny_images
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    done = nst(f"content={content}", f"style={style}", "size=64", "iterations=10", *FAST,
               "checkpoint=always", f"hydra.run.dir={first}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    done = nst(f"resume={first}", "iterations=15", f"hydra.run.dir={second}")
    assert done.returncode == 0, done.stderr[-2000:]
    done = nst(f"resume={second}", "iterations=20", f"hydra.run.dir={third}")
    assert done.returncode == 0, done.stderr[-2000:]

    configs = [saved_config(d) for d in (first, second, third)]
    assert [c["iterations"] for c in configs] == [10, 15, 20]
    assert [c["resume"] for c in configs] == [None, str(first), str(second)]
    for c in configs:
        c.pop("iterations"), c.pop("resume")
    assert configs[1] == configs[0] and configs[2] == configs[0]
    assert configs[0]["content"] == str(content) and configs[0]["size"] == 64

    records = [json.loads((d / "metrics.json").read_text()) for d in (first, second, third)]
    assert [r["iterations"] for r in records] == [10, 15, 20]
    assert all(r["status"] == "completed" for r in records)
    for key in PROVENANCE:
        assert records[2][key] == records[1][key] == records[0][key], key
    assert records[0]["inputs"]["content"] == str(content)
    assert records[2]["resumed_from"] == str(second / "checkpoint.ckpt")
    assert Image.open(third / "final.png").size == (64, 48)
    # the loss history goes on from the original run's: its 10 rows, then 10 more
    rows = [(d / "losses.csv").read_text().splitlines() for d in (first, third)]
    assert len(rows[1]) == 1 + 20 and rows[1][:11] == rows[0]


def test_resume_refuses_any_other_override_before_writing(tmp_path):
    old = tmp_path / "old"
    (old / ".hydra").mkdir(parents=True)
    (old / ".hydra" / "config.yaml").write_text("size: 64\n")
    (old / "checkpoint.ckpt").write_bytes(b"x")
    new = tmp_path / "new"
    proc = nst(f"resume={old}", "iterations=15", "size=128", f"hydra.run.dir={new}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: resume= ")
    assert "cannot change size" in proc.stderr and ", ".join(ALLOWED) in proc.stderr
    assert not new.exists()  # nothing written, not even Hydra's .hydra/
    proc = nst(f"resume={old}", "+style_loss.bins=4", f"hydra.run.dir={new}")
    assert proc.returncode == 2 and "cannot change style_loss.bins" in proc.stderr


@pytest.mark.slow
def test_resume_refuses_changed_or_unrecorded_inputs(compose, tiny_images, tmp_path):
    content, style = tiny_images
    base = [f"content={content}", f"style={style}", "size=32", *FAST, "checkpoint=always"]
    first = tmp_path / "first"
    run(compose([*base, "iterations=2"]), first)
    ckpt = first / "checkpoint.ckpt"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(content)  # the content file changed
    with pytest.raises(ConfigError) as e:
        run(compose([*base, "iterations=4"]), tmp_path / "again", resume_from=ckpt)
    message = str(e.value)
    assert "content image changed since that run" in message and "\n" not in message
    assert str(first) in message and not (tmp_path / "again").exists()
    (first / "metrics.json").unlink()  # no record of the hashes: nothing to check against
    with pytest.raises(ConfigError, match="hashes is missing or unreadable"):
        run(compose([*base, "iterations=4"]), tmp_path / "again", resume_from=ckpt)
    assert not (tmp_path / "again").exists()
