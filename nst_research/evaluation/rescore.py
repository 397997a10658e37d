"""Score finished runs again with other evaluation metrics: ``python -m nst_research.evaluation.rescore``.

A run scores itself with its ``eval=`` metrics. To compare runs on metrics they did not compute
(the neutral ones: ``random``, ``histogram``, ``cfsd``, which no method optimises), this scores
each run's ``final.png`` against the images the run recorded, at the run's size, with the same
:class:`~nst_research.evaluation.metrics.Scorer` a run uses. The images are checked against the
run's recorded hashes first: a changed input is refused, never scored.

The output is the 8-bit ``final.png``, so a metric the run also computed may differ from its
``metrics.json`` value in the last digits (the run scores the float image).

    python -m nst_research.evaluation.rescore RUN_DIR [RUN_DIR ...] [--metrics random,histogram]
        [--csv scores.csv]

A sweep or figure folder may be given: every run dir below it (a folder with ``metrics.json``
and ``final.png``) is scored. Prints a markdown table; nothing is written into the run dirs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from nst_research.errors import ConfigError, InputImageError, NSTError

NEUTRAL = ("random", "histogram", "cfsd")


def run_dirs(paths: Sequence[Path]) -> list[Path]:
    """The run dirs at or below ``paths`` (with ``metrics.json`` and ``final.png``), in order."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise ConfigError(f"{path} is not a folder")
        here = [path] if (path / "metrics.json").is_file() else []
        below = sorted(p.parent for p in path.rglob("metrics.json") if p.parent != path)
        runs = [d for d in [*here, *below] if (d / "final.png").is_file()]
        if not runs:
            raise ConfigError(f"{path} holds no run (a folder with metrics.json and final.png)")
        found += [d for d in runs if d not in found]
    return found


def metrics(names: Sequence[str]) -> dict[str, Any]:
    """The ``eval=`` metrics ``names``, built from their YAMLs (conf/eval, a user's config dir)."""
    from nst_research.configs.checks import instantiate_choice
    from nst_research.configs.compose import compose, group_options

    known = group_options("eval")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown eval metric {unknown[0]!r}; choose from: {', '.join(known)}")
    cfg = compose([f"eval=[{','.join(names)}]", "logger=none"])
    return {str(k): instantiate_choice(v, f"eval.{k}") for k, v in cfg.eval.items()}


def _recorded_image(record: dict[str, Any], role: str) -> Path:
    """The run's recorded input image ``role``, checked against its recorded hash."""
    from nst_research.io.images import file_sha256

    paths = record.get("inputs") or {}
    value = paths.get(role)
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        raise InputImageError(f"the run records no {role} image (metrics.json 'inputs')")
    path = Path(value)
    if not path.is_file():
        raise InputImageError(f"the run's {role} image {path} is gone")
    want = (record.get("hashes") or {}).get(role)
    if want and file_sha256(path) != want:
        raise InputImageError(f"the run's {role} image {path} changed since the run (sha256)")
    return path


def score_run(run_dir: Path, chosen: dict[str, Any]) -> dict[str, float]:
    """The ``eval/...`` scores of ``run_dir/final.png`` with the metrics ``chosen``."""
    from omegaconf import OmegaConf

    from nst_research.engine.inputs import shown_images, texture_canvas
    from nst_research.evaluation.metrics import Scorer
    from nst_research.io.images import image_to_tensor, load_image

    record = json.loads((run_dir / "metrics.json").read_text())
    saved = run_dir / ".hydra" / "config.yaml"  # absent for runs of the Python API's run()
    cfg = OmegaConf.load(saved) if saved.is_file() else OmegaConf.create({})
    texture = str(record.get("task") or OmegaConf.select(cfg, "task.kind")) == "texture"
    style = load_image(_recorded_image(record, "style"), role="style image")
    content = (
        texture_canvas(style)
        if texture
        else load_image(_recorded_image(record, "content"), role="content image")
    )
    if not record.get("image_size"):
        raise InputImageError("the run records no image_size (metrics.json)")
    size, scale = max(record["image_size"]), float(cfg.get("style_scale") or 1.0)
    shown_content, shown_styles = shown_images(content, [style], size, scale)
    if texture:  # no content: its metrics mean nothing (as in a texture run)
        chosen = {k: m for k, m in chosen.items() if not getattr(m, "needs_content", False)}
    final = load_image(run_dir / "final.png", role="final image")
    output = image_to_tensor(final, max(final.size))
    if tuple(output.shape[-2:]) != tuple(shown_content.shape[-2:]):
        raise InputImageError(
            f"{run_dir}/final.png is {final.width}x{final.height} px, not the run's "
            f"{shown_content.shape[-1]}x{shown_content.shape[-2]} (a stage of a schedule?)"
        )
    with torch.no_grad():
        return Scorer(shown_content, shown_styles[0], chosen)(output)


def table(rows: list[tuple[Path, dict[str, float] | str]], root: Path | None) -> str:
    """A markdown table: a row per run, a column per score (a run's error in its first cell)."""
    keys = list(dict.fromkeys(k for _, r in rows if isinstance(r, dict) for k in r))
    lines = ["| run | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for run_dir, scores in rows:
        name = str(run_dir.relative_to(root)) if root and run_dir != root else str(run_dir)
        if isinstance(scores, str):
            lines.append(f"| {name} | {scores} |" + " |" * (len(keys) - 1))
        else:
            lines.append(
                f"| {name} | "
                + " | ".join(f"{scores[k]:.4g}" if k in scores else "" for k in keys)
                + " |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nst_research.evaluation.rescore",
        description="Score finished runs' final.png with other eval metrics (default: the "
        "neutral ones, which no method optimises).",
    )
    parser.add_argument("runs", nargs="+", type=Path, help="run dirs, or folders holding them")
    parser.add_argument(
        "--metrics", default=",".join(NEUTRAL), help=f"eval options (default {','.join(NEUTRAL)})"
    )
    parser.add_argument("--csv", type=Path, help="also write the scores to this CSV file")
    args = parser.parse_args(argv)
    try:
        dirs = run_dirs(args.runs)
        chosen = metrics([m.strip() for m in args.metrics.split(",") if m.strip()])
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows: list[tuple[Path, dict[str, float] | str]] = []
    for run_dir in dirs:
        try:
            rows.append((run_dir, score_run(run_dir, chosen)))
        except (NSTError, OSError, ValueError) as e:  # this run alone: the others are scored
            rows.append((run_dir, f"error: {' '.join(str(e).split())}"))
    root = args.runs[0] if len(args.runs) == 1 else None
    print(table(rows, root))
    if args.csv:
        from nst_research.io.files import write_text

        keys = list(dict.fromkeys(k for _, r in rows if isinstance(r, dict) for k in r))
        out = [["run", *keys, "error"]]
        for run_dir, scores in rows:
            if isinstance(scores, str):
                out.append([str(run_dir), *([""] * len(keys)), scores])
            else:
                out.append([str(run_dir), *(scores.get(k, "") for k in keys), ""])
        buffer = io.StringIO()
        csv.writer(buffer).writerows(out)
        write_text(args.csv, buffer.getvalue())
    return 1 if any(isinstance(r, str) for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
