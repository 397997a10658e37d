"""``nst --help``, generated from the config files: Hydra's help template, filled by a resolver.

``conf/config.yaml`` sets ``hydra.help.template: ${nst_help:}``; :func:`register` makes
``nst_help`` the resolver that writes the text from the files on the search path, so a new option
or key shows in the help without editing it:

- every config group with its options, each with the first sentence of its file's leading
  comment (the default marked ``*``), and the group's comment in ``conf/config.yaml``'s defaults;
- the presets of ``experiments/`` (``+ablation=NAME``, ``+search=NAME``) the same way;
- the top-level keys of ``conf/config.yaml`` with their defaults and comments;
- three example commands and Hydra's flags (``$FLAGS_HELP``, which Hydra fills in).

Plain text reading only (no YAML parsing, no torch): ``nst --help`` stays well under a second
after Hydra's own start-up.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from nst_research.configs.compose import (
    CONF_DIR,
    EXPERIMENTS_DIR,
    group_files,
    user_config_dirs,
)
from nst_research.configs.schema import GROUPS

EXAMPLES = (
    ("stylise a photo", "nst content=photo.jpg style=painting.jpg size=512 iterations=500"),
    (
        "another style statistic and optimiser",
        "nst content=photo.jpg style=painting.jpg style_loss=mmd optimizer=adam logger=csv",
    ),
    ("an ablation preset (a sweep)", "nst +ablation=pooling size=128 iterations=100"),
)
PRESETS = ("ablation", "search")
_KEY_LINE = re.compile(r"^([a-z_]+):\s*(.*?)\s*(?:#\s*(.*))?$")
_SUBKEY_LINE = re.compile(r"^  ([a-z_]+):\s*(.*?)\s*(?:#\s*(.*))?$")
_DEFAULT_LINE = re.compile(r"^\s*-\s*([a-z_]+):\s*(\[[^\]]*\]|\S+)\s*(?:#\s*(.*))?$")


def describe(path: Path, width: int = 90) -> str:
    """The first sentence of the file's leading comment (``# @package`` lines skipped)."""
    words: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("# @package"):
            continue
        if not line.startswith("#"):
            break
        words += line.lstrip("#").split()
    text = " ".join(words)
    end = re.search(r"[.?](?=\s+[A-Z])", text)  # "Gatys et al. 2016" is not an end
    return shorten(text[: end.start() + 1] if end else text, width)


def shorten(text: str, width: int) -> str:
    """``text``, cut at a word boundary to at most ``width`` characters (``...`` marking a cut)."""
    if len(text) <= width:
        return text
    return text[: width - 3].rsplit(" ", 1)[0].rstrip(",;:(") + "..."


def config_defaults(config: Path) -> dict[str, tuple[str, str]]:
    """``{group: (default option(s), comment)}`` from the defaults list of ``config.yaml``."""
    out = {}
    for line in config.read_text().split("\nhydra:")[0].splitlines():
        m = _DEFAULT_LINE.match(line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3) or "")
    return out


def top_level_keys(config: Path) -> list[tuple[str, str, str]]:
    """``(key, default, comment)`` for the top-level keys of ``config.yaml``; a key holding a
    mapping (``masks:``) is listed as ``masks={content,...}``, then each of its keys dotted."""
    keys: list[tuple[str, str, str]] = []
    parent, children = None, []
    for line in config.read_text().splitlines():
        m, sub = _KEY_LINE.match(line), _SUBKEY_LINE.match(line)
        if parent is not None and sub:
            children.append((f"{parent[0]}.{sub.group(1)}", sub.group(2), sub.group(3) or ""))
            continue
        if parent is not None:
            names = ",".join(k.split(".", 1)[1] for k, _, _ in children)
            keys += [(parent[0], "{" + names + "}", parent[1]), *children]
            parent, children = None, []
        if m and m.group(1) not in ("defaults", "hydra") and m.group(2):
            keys.append((m.group(1), m.group(2), m.group(3) or ""))
        elif m and m.group(1) not in ("defaults", "hydra"):
            parent = (m.group(1), m.group(3) or "")
    return keys


def _option_lines(opts: dict[str, Path], chosen: set[str]) -> list[str]:
    width = max(len(o) for o in opts) + 2
    return [
        f"    {o + (' *' if o in chosen else ''):<{width}}  {describe(p)}" for o, p in opts.items()
    ]


def render(argv: Sequence[str] = ()) -> str:
    """The help text (with Hydra's ``$FLAGS_HELP`` placeholder left in)."""
    dirs = user_config_dirs(argv)
    defaults = config_defaults(CONF_DIR / "config.yaml")
    lines = [
        "nst: neural style transfer by optimisation (Gatys, Ecker & Bethge), one run or a sweep.",
        "",
        "Usage: nst [group=option ...] [key=value ...] [group.key=value ...] [-m: a sweep]",
        "",
        "== Config groups (group=option; * = default) ==",
    ]
    for group in GROUPS:
        opts = group_files(group, dirs)
        if not opts:
            continue
        default, comment = defaults.get(group, ("", ""))
        chosen = set(default.strip("[]").replace(" ", "").split(","))
        lines.append(f"  {group}" + (f"  ({comment})" if comment else ""))
        lines += _option_lines(opts, chosen)
    lines += ["", "== Presets (+ablation=NAME, +search=NAME: sweeps of the options above) =="]
    for group in PRESETS:
        opts = group_files(group, [*dirs[:1], EXPERIMENTS_DIR])
        if opts:
            lines.append(f"  +{group}")
            lines += _option_lines(opts, set())
    keys = top_level_keys(CONF_DIR / "config.yaml")
    width = max(len(f"{k}={v}") for k, v, _ in keys) + 2
    lines += ["", "== Top-level keys (key=value; shown with the default) =="]
    lines += [f"  {f'{k}={v}':<{width}}  {shorten(c, 100)}".rstrip() for k, v, c in keys]
    lines += ["", "== Examples =="]
    for what, cmd in EXAMPLES:
        lines += [f"  {cmd}", f"      {what}"]
    lines += [
        "",
        "Any key by its dotted path: nst loss.style_weight=1e4 model.pooling=avg. The full config:",
        "nst --cfg job (one group: nst --cfg job --package loss). Own configs: NST_CONFIG_DIR=DIR.",
        "",
    ]
    text = "\n".join(lines).replace("$", "$$")  # string.Template: a literal $ is $$
    return text + "\n== Hydra flags ==\n$FLAGS_HELP"


def register() -> None:
    """The ``nst_help`` resolver, read by ``hydra.help.template`` (``nst --help``)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("nst_help"):
        OmegaConf.register_new_resolver("nst_help", lambda: render(sys.argv[1:]))
