"""A systematic probe of the command line: every key of the composed config and the schema, with
bad values of every kind, through the function ``nst`` calls before it runs anything
(:func:`nst_research.validation.preflight.check_command`).

For every drawn command: no exception escapes (no traceback), a refusal is one line, nothing is
written (the run dir and the current dir stay empty), and the values that are never valid
(NaN, inf, negative or non-numbers for a number, typo'd keys, ``+`` additions nothing reads) are
refused. A few real ``nst`` processes show that the CLI takes this path (exit 2, one line).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from nst_research.configs.compose import compose
from nst_research.configs.schema import NSTSchema
from nst_research.validation.preflight import check_command

EXAMPLES = int(os.environ.get("NST_PROBE_EXAMPLES", "300"))


def _leaves(node, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if str(key).startswith("_"):
            continue
        if isinstance(value, dict):
            out.update(_leaves(value, name + "."))
        else:
            out[name] = value
    return out


DEFAULT = OmegaConf.to_container(compose([]), resolve=False)
LEAVES = _leaves(DEFAULT)
LEAVES.update({f.name: LEAVES.get(f.name) for f in NSTSchema.__dataclass_fields__.values()
               if not isinstance(DEFAULT.get(f.name), dict)})  # fmt: skip
KEYS = sorted(k for k in LEAVES if not k.startswith("masks."))  # masks: see test_masks.py
NUMBERS = sorted(
    k for k, v in LEAVES.items() if isinstance(v, int | float) and not isinstance(v, bool)
)
# numbers for which 0 or a negative value is a real setting (documented in their YAML)
SIGNED_OK = {"seed"}  # 0 only; negatives are refused, checked below

BAD = {
    "negative": ["-1", "-0.5", "-1e9"],
    "zero": ["0", "0.0"],
    "huge": ["1e308", "99999999999", "1e400"],
    "nan": ["nan", "inf", "-inf"],
    "wrong type": ["abc", "'12'", "[1,2]", "{a:1}", "true"],
    "empty": ["", "[]", "null", "''"],
    "non-ascii": ["é", "'日本'", "'caf\u00e9.jpg'"],
}
NEVER_VALID_FOR_NUMBERS = {"negative", "nan", "wrong type", "non-ascii"}


def _typo(key: str, i: int) -> str:
    head, _, last = key.rpartition(".")
    i = i % len(last)
    last = last[:i] + last[i + 1 :] if len(last) > 2 else last + "x"  # drop one letter
    return f"{head}.{last}" if head else last


def _probe(args: list[str]) -> str | None:
    """``check_command`` in an empty dir with an empty run dir; asserts nothing is written."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            run_dir = Path(tmp) / "run"
            problem = check_command([*args, f"hydra.run.dir={run_dir}"])
            assert sorted(os.listdir(tmp)) == [], f"{args} wrote {os.listdir(tmp)}"
        finally:
            os.chdir(cwd)
    if problem is not None:
        assert "\n" not in problem, f"{args}: more than one line: {problem!r}"
        assert "Traceback" not in problem and problem.strip(), problem
    return problem


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(key=st.sampled_from(KEYS), kind=st.sampled_from(sorted(BAD)), pick=st.integers(0, 9))
def test_bad_values(key, kind, pick):
    values = BAD[kind]
    value = values[pick % len(values)]
    problem = _probe([f"{key}={value}"])
    if key in NUMBERS and kind in NEVER_VALID_FOR_NUMBERS and value not in ("true",):
        assert problem is not None, f"{key}={value} ({kind}) was accepted"


@settings(max_examples=max(1, EXAMPLES // 3), deadline=None, derandomize=True)
@given(key=st.sampled_from(KEYS), pick=st.integers(0, 20), plus=st.booleans())
def test_typos_and_additions(key, pick, plus):
    typo = _typo(key, pick)
    if typo in LEAVES or typo in NSTSchema.__dataclass_fields__:
        return
    arg = f"{'+' if plus else ''}{typo}=1"
    problem = _probe([arg])
    assert problem is not None, f"{arg} was accepted"
    assert "+" + typo not in problem.replace(arg, ""), f"advice names the + form: {problem}"


@pytest.mark.parametrize(
    "args",
    [
        ["optimizer=adam", "optimizer.beta1=1.5"],
        ["+ablaton=pooling"],
        ["-m", "optimizer=adam", "optimizer.lr=1,-1"],
    ],
)
def test_the_cli_takes_this_path(tmp_path, args):
    """The real command refuses what the probe refuses, with the same line and exit code 2."""
    expected = check_command([*args, f"hydra.run.dir={tmp_path / 'run'}",
                              f"hydra.sweep.dir={tmp_path / 'sweep'}"])  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", *args, f"hydra.run.dir={tmp_path / 'run'}",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],  # fmt: skip
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines == [f"error: {line}" for line in expected.splitlines()]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- Hydra's own keys: `+hydra.<node>.<new key>` is read by nothing unless the node takes any key


def _hydra_nodes() -> tuple[list[str], list[str]]:
    """(schema nodes, free-form nodes) of the composed ``hydra`` config: a dataclass node reads
    only its fields; a plain dict (``job.env_set``, ``callbacks``, logging) takes any key."""
    from nst_research.validation.jobs import composer

    with composer() as comp:
        hydra = comp.base([]).hydra
    schema, free = [], []

    def walk(node, path: str) -> None:
        (free if OmegaConf.get_type(node) is dict else schema).append(path)
        if OmegaConf.get_type(node) is dict:
            return
        for key in node:
            child = node._get_node(key)
            if (
                OmegaConf.is_dict(child)
                and not child._is_none()
                and key not in ("runtime", "overrides")
            ):
                walk(node[key], f"{path}.{key}")

    walk(hydra, "hydra")
    return schema, free


HYDRA_SCHEMA, HYDRA_FREE = _hydra_nodes()


@settings(max_examples=max(1, EXAMPLES // 3), deadline=None, derandomize=True)
@given(
    node=st.sampled_from(HYDRA_SCHEMA),
    name=st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True),
    deep=st.booleans(),
)
def test_unknown_hydra_keys_added_with_plus_are_refused(node, name, deep):
    from nst_research.validation.jobs import composer

    with composer() as comp:
        existing = OmegaConf.select(comp.base([]), node)
    if name in existing:
        return
    key = f"{node}.{name}.sub" if deep else f"{node}.{name}"
    problem = _probe([f"+{key}=1"])
    assert problem is not None, f"+{key}=1 was accepted"
    assert key in problem or f"{node}.{name}" in problem, problem  # names the key


@pytest.mark.parametrize("node", HYDRA_FREE)
def test_hydra_nodes_that_take_any_key_still_take_one(node):
    if node == "hydra.callbacks":  # a callback needs a _target_: tests/test_hydra_keys.py
        return
    assert _probe([f"+{node}.nst_probe_key=1"]) is None


def test_the_cli_refuses_an_unknown_hydra_key_added_with_plus(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "nst_research.cli", "+hydra.foo=1", "logger=none",
         f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == [
        "error: '+hydra.foo=1' adds a key Hydra does not read; hydra's keys are: run, sweep, "
        "launcher, sweeper, help, hydra_help, hydra_logging, job_logging, env, mode, searchpath, "
        "callbacks, output_subdir, overrides, job, runtime, verbose"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
