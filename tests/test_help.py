"""``nst --help``: generated from the config files (every group, option, preset and top-level key)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from nst_research.cli import check_group_choices, check_group_keys, check_top_level_values
from nst_research.configs import help as nst_help
from nst_research.configs.compose import CONF_DIR, EXPERIMENTS_DIR, compose
from nst_research.configs.schema import GROUPS, NSTSchema
from tests.conftest import REPO


def _help(env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", "--help"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_describe_is_the_first_sentence_of_the_leading_comment(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text(
        "# @package _global_\n# Gatys et al. 2016 did this, e.g. here. More text.\nkey: 1\n"
    )
    assert nst_help.describe(f) == "Gatys et al. 2016 did this, e.g. here."
    f.write_text("# Which layers? A question.\n# @package _global_\n")
    assert nst_help.describe(f) == "Which layers?"
    f.write_text("# one two three four\nkey: 1  # not the leading comment\n")
    assert nst_help.describe(f, width=12) == "one two..."
    f.write_text("key: 1\n")
    assert nst_help.describe(f) == ""


def test_every_option_and_preset_has_a_description():
    files = [p for g in GROUPS for p in (CONF_DIR / g).glob("*.yaml")]
    files += [p for g in nst_help.PRESETS for p in (EXPERIMENTS_DIR / g).glob("*.yaml")]
    assert len(files) > 40
    missing = [str(p.relative_to(REPO)) for p in files if not nst_help.describe(p)]
    assert missing == [], f"give these a leading comment (nst --help shows it): {missing}"


def _sections(lines: list[str]) -> dict[str, list[str]]:
    """``{group: its option lines}``: a group line has 2 spaces of indent, its options 4."""
    out: dict[str, list[str]] = {}
    for ln in lines:
        if ln.startswith("  ") and not ln.startswith("   ") and "=" not in ln.split()[0]:
            current = out.setdefault(ln.split()[0], [])
        elif ln.startswith("    ") and out:
            current.append(ln)
    return out


def test_help_lists_every_group_option_preset_and_key():
    text = _help()
    lines = text.splitlines()
    sections = _sections(lines)
    for group, prefix in [*((g, "") for g in GROUPS), *((g, "+") for g in nst_help.PRESETS)]:
        where = EXPERIMENTS_DIR if prefix else CONF_DIR
        paths = sorted((where / group).glob("*.yaml"))
        rows = sections[prefix + group]
        assert [r.split()[0] for r in rows] == [p.stem for p in paths], group
        for row, path in zip(rows, paths, strict=True):
            assert row.endswith("  " + nst_help.describe(path)), row
    assert any(ln.split()[:2] == ["vgg19", "*"] for ln in lines)  # the default, marked
    assert any(ln.split()[:2] == ["lbfgs", "*"] for ln in lines)
    assert sum(ln.split()[1:2] == ["*"] for ln in lines) == len(GROUPS) - 1 + 4  # eval: 4
    for field in dataclasses.fields(NSTSchema):
        if field.name not in GROUPS:
            assert any(ln.startswith(f"  {field.name}=") for ln in lines), field.name
    assert "  size=256 " in text and "  iterations=300 " in text and "  content=builtin:" in text
    examples = [ln for ln in lines if ln.startswith("  nst ")]
    assert len(examples) == 3
    assert "--multirun,-m : Run multiple jobs" in text  # Hydra's flags, filled in by Hydra


def test_help_shows_an_option_of_the_users_config_dir(tmp_path):
    (tmp_path / "style_loss").mkdir()
    (tmp_path / "style_loss" / "mine.yaml").write_text(
        "# My statistic: the mean costs $5.\n_target_: nst_research.loss.terms.GramLoss\n"
    )
    env = {**os.environ, "NST_CONFIG_DIR": str(tmp_path)}
    line = [ln for ln in _help(env).splitlines() if ln.split()[:1] == ["mine"]]
    assert line == ["    mine                  My statistic: the mean costs $5."]


@pytest.mark.parametrize("example", [cmd for _, cmd in nst_help.EXAMPLES])
def test_the_examples_pass_the_checks_and_compose(example):
    argv = example.split()[1:]
    checks = (check_group_choices, check_top_level_values, check_group_keys)
    assert [check(argv) for check in checks] == [None, None, None]
    cfg = compose(argv)
    assert cfg.content == "photo.jpg" or "+ablation=pooling" in argv
