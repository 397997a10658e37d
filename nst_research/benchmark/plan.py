"""What a benchmark runs: images, pairs, methods and settings, kept in ``<dir>/benchmark.json``.

A *method* is a name for a list of ``nst`` overrides: ``gatys2016`` is the default config (no
override), ``mean_std`` is ``style_loss=mean_std``, and a method preset of ``conf/method/`` (when
the tree has that group) is ``method=<name>``. ``--define NAME=OVERRIDES`` names any other list.
A pair is one content and one style image; its name is ``<content stem>__<style stem>``.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nst_research.errors import ConfigError
from nst_research.io.files import write_text

PLAN_FILE = "benchmark.json"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
# Named override lists; other names are discovered: a method preset (conf/method/<name>.yaml:
# method=<name>), else a style loss (conf/style_loss/<name>.yaml: style_loss=<name>), or --define.
METHODS: dict[str, list[str]] = {
    "gatys2016": [],  # the defaults (method=gatys2016), with no override recorded
    "gatys2016_avgpool": ["model.pooling=avg"],
}


def all_metrics() -> list[str]:
    """The metrics every job computes: every option of ``conf/eval`` (and a user's config dir),
    the default four first; lpips skips itself without weights."""
    from nst_research.configs.compose import group_options

    default = ["style", "content", "ssim", "colour"]
    found = group_options("eval")
    return [m for m in default if m in found] + [m for m in found if m not in default]


_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def image_files(items: list[str], what: str) -> list[Path]:
    """Image files from paths: a folder gives its images (sorted), a file itself."""
    files: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise ConfigError(f"--{what}: {item} is neither an image file nor a folder")
    if not files:
        raise ConfigError(f"--{what}: no images in {', '.join(items)}")
    stems = [f.stem for f in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ConfigError(f"--{what}: two images named {dup[0]} (stems name the pairs)")
    return [f.resolve() for f in files]


def choose_pairs(
    contents: list[Path], styles: list[Path], n: int | None, seed: int
) -> list[tuple[Path, Path]]:
    """All content x style pairs, or ``n`` of them drawn without replacement with ``seed``."""
    pairs = [(c, s) for c in contents for s in styles]
    if n is not None and n < len(pairs):
        pairs = sorted(random.Random(seed).sample(pairs, n))
    return pairs


def pair_name(content: Path | str, style: Path | str) -> str:
    return f"{Path(content).stem}__{Path(style).stem}"


def method_overrides(name: str, defined: dict[str, list[str]], conf_dir: Path) -> list[str]:
    """The overrides of a method name (``--define`` first, then the table, then conf/method/)."""
    if not _NAME.match(name):
        raise ConfigError(f"method name {name!r}: use letters, digits, _ . -")
    if name in defined:
        return defined[name]
    if name in METHODS:
        return list(METHODS[name])
    if (conf_dir / "method" / f"{name}.yaml").is_file():
        return [f"method={name}"]
    if (conf_dir / "style_loss" / f"{name}.yaml").is_file():
        return [f"style_loss={name}"]
    found = [
        p.stem for group in ("method", "style_loss") for p in (conf_dir / group).glob("*.yaml")
    ]
    known = sorted({*METHODS, *defined, *found})
    raise ConfigError(
        f"unknown method {name!r}; known: {', '.join(known)} (or --define {name}=OVERRIDES)"
    )


@dataclass
class Plan:
    """A benchmark's settings. ``pairs``: [content path, style path]; ``methods``: name ->
    overrides; ``overrides``: applied to every job (after the benchmark's own, before the
    method's)."""

    pairs: list[list[str]]
    methods: dict[str, list[str]]
    size: int
    iterations: int
    seed: int = 0
    overrides: list[str] = field(default_factory=list)
    eval: list[str] = field(default_factory=all_metrics)

    @property
    def settings(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("pairs", "methods")}

    def merged(self, old: Plan) -> Plan:
        """This plan joined with one already in the directory: the settings must match; methods
        and pairs are the union (a benchmark can grow)."""
        if self.settings != old.settings:
            diff = [k for k in self.settings if self.settings[k] != old.settings[k]]
            raise ConfigError(
                f"this benchmark dir was made with other settings ({', '.join(diff)}: "
                f"{', '.join(str(old.settings[k]) for k in diff)}); use another --out"
            )
        for name, ov in self.methods.items():
            if name in old.methods and old.methods[name] != ov:
                raise ConfigError(
                    f"method {name} was run here as {old.methods[name]}, now {ov}: rename it"
                )
        pairs = old.pairs + [p for p in self.pairs if p not in old.pairs]
        return Plan(pairs, {**old.methods, **self.methods}, **self.settings)


def load_plan(out: Path) -> Plan | None:
    path = out / PLAN_FILE
    if not path.is_file():
        return None
    return Plan(**json.loads(path.read_text()))


def save_plan(plan: Plan, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / PLAN_FILE, json.dumps(asdict(plan), indent=2))
