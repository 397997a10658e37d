"""The command line as Hydra will read it: overrides parsed, presets and config files checked.

Every problem is one line with a fix that runs: a value Hydra's override lexer rejects (a space is
fine, but ``=``, ``~``, ``(``, ``'``, ``#`` or a non-ASCII letter are not) gets the quoted form to
paste; an unknown ``+group=`` names the presets; a broken YAML file names its line.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from nst_research.errors import ConfigError

# nst's flags that take a value (the next argument), and those that take none
_FLAGS_WITH_VALUE = {"-cd", "--config-dir", "-cn", "--config-name", "-cp", "--config-path"}
_FLAGS = {"-m", "--multirun", "--run", "-r", "--resolve"}
_SWEEP_FUNCTIONS = {"choice", "range", "interval", "tag", "glob", "shuffle", "sort"}


def split_argv(argv: Sequence[str]) -> tuple[list[str], bool, bool]:
    """``(overrides, multirun, other_primary)``: the overrides of ``nst <argv>``, whether it is a
    sweep (``-m``), and whether it names another primary config (``-cn``/``-cp``)."""
    overrides: list[str] = []
    multirun = other_primary = False
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.partition("=")[0]
        if arg in _FLAGS_WITH_VALUE:
            skip = True
            other_primary = other_primary or arg in ("-cn", "--config-name", "-cp", "--config-path")
        elif name in _FLAGS_WITH_VALUE:
            other_primary = other_primary or name in ("--config-name", "--config-path")
        elif arg in ("-m", "--multirun"):
            multirun = True
        elif arg in _FLAGS:
            pass
        elif not arg.startswith("-"):
            overrides.append(arg)
    multirun = multirun or "hydra.mode=MULTIRUN" in overrides
    return overrides, multirun, other_primary


def quoted(key: str, value: str) -> str:
    """The override ``key=value`` with the value quoted for Hydra, quoted again for the shell."""
    quote = "'" if "'" not in value else '"'
    inner = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    text = f"{key}={quote}{inner}{quote}"
    if quote == "'" and not any(c in text for c in '"$`\\!'):
        return f'"{text}"'  # readable: "content='/a=b.jpg'"
    return shlex.quote(text)


def parse(overrides: Sequence[str], loader: Any = None) -> list:
    """Hydra's parsed overrides; a lexer or grammar error is one line with the quoted fix.

    ``loader``: Hydra's config loader, which ``glob(...)`` sweeps of a config group need to list
    their options (without one, listing a glob sweep's jobs fails).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create(config_loader=loader)
    parsed = []
    for text in overrides:
        try:
            parsed += parser.parse_overrides([text])
        except HydraException as e:
            key, sep, value = text.partition("=")
            if not sep:
                raise ConfigError(
                    f"cannot read {text!r}: an override is key=value (e.g. size=256)"
                ) from None
            reason = str(e).splitlines()[0].removeprefix("LexerNoViableAltException: ")
            if value.split("(")[0].strip() in _SWEEP_FUNCTIONS and "(" in value:
                raise ConfigError(
                    f"cannot read the override {text!r} ({reason}); Hydra's sweep functions "
                    f"take values: {key}=choice(1,2), range(1,5), interval(0.1,1), "
                    "tag(log,interval(0.1,1)); quote the whole argument for the shell"
                ) from None
            if reason.strip() == text.strip():
                reason = "a character Hydra's override grammar does not allow unquoted"
            raise ConfigError(
                f"cannot read the override {text!r} ({reason}); quote the value for Hydra, "
                f"e.g. {quoted(key, value)}"
            ) from None
    return parsed


def preset_options(dirs: Sequence[Path]) -> dict[str, list[str]]:
    """``{group: [option, ...]}`` of every config group under ``dirs`` (presets and conf/)."""
    out: dict[str, set[str]] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for sub in d.iterdir():
            if sub.is_dir() and not sub.name.startswith(("_", ".")):
                names = {p.stem for p in sub.glob("*.yaml")}
                if names:
                    out.setdefault(sub.name, set()).update(names)
    return {k: sorted(v) for k, v in sorted(out.items())}


def check_presets(parsed: list, dirs: Sequence[Path], conf_keys: Sequence[str]) -> None:
    """``+name=value`` without a dot: ``name`` must be a config group (a preset such as
    ``+ablation=pooling``) or a new top-level key close to no existing one."""
    from nst_research.configs.schema import GROUPS

    groups = preset_options(dirs)
    skip = {*GROUPS, "hydra"}  # chosen with group=option, not added with +
    for ov in parsed:
        key = ov.key_or_group
        if not ov.is_add() or "." in key or "/" in key:
            continue
        value = ov.get_value_element_as_str() if not ov.is_sweep_override() else ""
        if key in groups:
            for choice in [c.strip() for c in value.strip("[]").split(",") if c.strip()]:
                if choice not in groups[key]:
                    raise ConfigError(
                        f"unknown {key} preset {choice!r}; choose one of: {', '.join(groups[key])}"
                        + _did_you_mean(choice, groups[key], f"+{key}=")
                    )
            continue
        presets = "; ".join(f"+{g}={'|'.join(o)}" for g, o in groups.items() if g not in skip)
        close = difflib.get_close_matches(key, [g for g in groups if g not in skip], n=1)
        hint = (
            f" (did you mean +{close[0]}={value}?)" if close else _did_you_mean(key, conf_keys, "")
        )
        raise ConfigError(
            f"unknown preset or key {ov.input_line!r}{hint}; the presets are: {presets}"
        )


def _did_you_mean(name: str, known: Sequence[str], prefix: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def did_you_mean(name: str, known: Sequence[str], prefix: str = "") -> str:
    """`` (did you mean PREFIXmatch?)`` for the closest of ``known``, or ``""``."""
    return _did_you_mean(name, known, prefix)


def check_yaml_files(dirs: Sequence[Path]) -> None:
    """Every ``*.yaml`` under the user's config dirs must parse (Hydra reads them lazily and
    prints 80 lines for a broken one, or silently skips it when unused)."""
    for d in dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.rglob("*.yaml")):
            stat = path.stat()
            key = (str(path), stat.st_mtime_ns, stat.st_size)
            if key in _PARSED:
                continue
            try:
                yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"cannot read config file {path}: {e}") from None
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                problem = getattr(e, "problem", None) or str(e).splitlines()[0]
                raise ConfigError(
                    f"config file {path} is not valid YAML ({problem} at{where}); fix or remove it"
                ) from None
            _PARSED.add(key)


_PARSED: set[tuple[str, int, int]] = set()  # files that parsed (path, mtime, size)
