"""The feed-forward network (Ghiasi et al. 2017) as a baseline and as a warm start.

Three measurements, each made of ordinary harness runs (``nst_research.run.run``):

- **time to quality** (``measure``): at each size, the default Gatys run from ``init=content``
  and from ``init=feedforward``, scored every ``every`` iterations; the first scored iteration
  meeting the bench's target (``quality.py``) and the seconds to it. For ``init=feedforward`` the
  seconds include the network's forward pass (``metrics.json``'s ``feedforward.forward_s``),
  which the optimisation's ``time_s`` does not;
- **the forward pass alone** (``method=ghiasi2017``): its seconds and eval scores at each size;
- **classic pairs** (``--pairs``): ``method=ghiasi2017`` and Gatys at 100 and 300 iterations
  (one 300-iteration run scored at 100 and 300) on Neckarfront x Starry Night, Golden Gate x
  The Scream and Neckarfront x Woman with a Hat.

Used by ``bench.py`` (``--feedforward-sizes``); also runs alone:
``python experiments/bench/feedforward.py --sizes 256 512`` or ``... --pairs --size 256``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (beside this file)

if TYPE_CHECKING:
    from common import Context  # beside this file

REPO = Path(__file__).resolve().parents[2]
IMAGES = Path(os.environ.get("NST_SHARED_IMAGES", REPO.parent / "shared" / "images"))
ARMS = (("content", ["init=content"]), ("feedforward", ["init=feedforward"]))
PAIRS = (
    ("tubingen.jpg", "starry_night.jpg"),
    ("golden_gate.jpg", "the_scream.jpg"),
    ("tubingen.jpg", "woman-with-hat-matisse.jpg"),
)
ANY = "eval/style_ratio>=0"  # a target every scored row meets
SCORES = ("eval/style_ratio", "eval/content_ratio", "eval/ssim", "eval/colour_distance")


def _metrics(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "metrics.json").read_text())


def forward_only(cfg, run_dir: Path, log: Path | None) -> dict[str, Any]:
    """One ``method=ghiasi2017`` run: its forward seconds and eval scores."""
    quality.time_to_quality(cfg, run_dir, ANY, log)  # the bench's quiet runner; no target
    m = _metrics(run_dir)
    return {"size": int(cfg.size), "eval": m["eval"], **m["feedforward"],
            "wall_time_s": m["wall_time_s"]}  # fmt: skip


def measure(
    sizes: list[int], iterations: int, every: int, target: str, compose_cfg, tmp: Path,
    log: Path | None, extra: list[str],
) -> dict[str, Any]:  # fmt: skip
    """``compose_cfg(size, iterations, overrides)`` gives each run's config."""
    rows, forward = [], []
    for size in sizes:
        cfg = compose_cfg(size, 1, ["method=ghiasi2017", *extra])
        forward.append(forward_only(cfg, tmp / f"ff_{size}_forward", log))
        for arm, overrides in ARMS:
            cfg = compose_cfg(size, iterations, [f"snapshot_every={every}", *extra, *overrides])
            run_dir = tmp / f"ff_{size}_{arm}"
            result = quality.time_to_quality(cfg, run_dir, target, log)
            start_s = _metrics(run_dir).get("feedforward", {}).get("forward_s", 0.0)
            result.update(init=arm, start_s=start_s, first=_first(run_dir))
            if result["reached"]:
                result["total_s"] = result["time_s"] + start_s
            rows.append(result)
    return {"target": target, "iterations": iterations, "every": every, "rows": rows,
            "forward": forward}  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``bench.py``'s flag (the iterations, scoring and target are ``--quality``'s)."""
    p.add_argument("--feedforward-sizes", type=int, nargs="+",
                   help="init=content vs init=feedforward (feedforward.py); default 256 CPU, 256 512 GPU; 0 skips")  # fmt: skip


def step(ctx: Context) -> dict[str, Any]:
    """``bench.py``'s time to quality from ``init=content`` and ``init=feedforward``."""
    args = ctx.args
    default = [256, 512] if ctx.device == "cuda" else [256]
    sizes = [s for s in (args.feedforward_sizes or default) if s > 0]
    result = sizes and args.quality and measure(
        sizes, args.quality_iters, args.quality_every, args.quality, ctx.cfg, ctx.tmp, ctx.log,
        args.set)  # fmt: skip
    return {"feedforward": result or {}}


def _first(run_dir: Path) -> dict[str, float] | None:
    """The scores at step 0 (the start image) and at the first scored iteration after it."""
    rows = sorted(quality.read_eval_csv(run_dir / "eval.csv"), key=lambda r: r["step"])
    return {"start": rows[0], "next": rows[1] if len(rows) > 1 else None} if rows else None


def _ratios(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    return " / ".join(f"{row[k]:.3f}" for k in SCORES[:2] if k in row)


def markdown(result: dict[str, Any]) -> list[str]:
    """The time-to-quality table (init=content vs init=feedforward) and the forward pass."""
    lines = [
        "## The feed-forward network: warm start and baseline (Ghiasi et al. 2017)",
        "",
        f"- target: `{result['target']}`; default Gatys settings, at most "
        f"{result['iterations']} iterations, scored every {result['every']}; seconds are "
        "optimisation time (scoring excluded) plus, for init=feedforward, its forward pass",
        "",
        "| size | init | style / content ratio at the start | at iteration "
        f"{result['every']} | reached at iteration | seconds to target | at the end |",
        "|---:|---|---|---|---:|---:|---|",
    ]
    for row in result["rows"]:
        first = row.get("first") or {}
        step = row["step"] if row["reached"] else "not reached"
        secs = f"{row['total_s']:.1f}" if row["reached"] else "-"
        if row["reached"] and row["start_s"]:
            secs += f" ({row['start_s']:.1f} forward)"
        lines.append(
            f"| {row['size']} | {row['init']} | {_ratios(first.get('start'))} "
            f"| {_ratios(first.get('next'))} | {step} | {secs} | {_ratios(row['last'])} |"
        )
    lines += ["", "The forward pass alone (`method=ghiasi2017`):", "",
              "| size | backend | tiles | forward s | " + " | ".join(SCORES) + " |",
              "|---:|---|---:|---:|" + "---:|" * len(SCORES)]  # fmt: skip
    for f in result["forward"]:
        scores = " | ".join(f"{f['eval'].get(k, float('nan')):.3f}" for k in SCORES)
        lines.append(f"| {f['size']} | {f['backend']} | {f['tiles']} | {f['forward_s']:.2f} "
                     f"| {scores} |")  # fmt: skip
    return [*lines, ""]


def pairs(size: int, compose_cfg, tmp: Path, log: Path | None, extra: list[str]) -> list[dict]:
    """``method=ghiasi2017`` and Gatys (scored at 100 and 300 iterations) on the classic pairs."""
    out = []
    for content, style in PAIRS:
        images = [f"content={IMAGES / content}", f"style={IMAGES / style}"]
        name = f"{Path(content).stem}_{Path(style).stem}"
        cfg = compose_cfg(size, 1, ["method=ghiasi2017", *images, *extra])
        f = forward_only(cfg, tmp / f"pair_{name}_ff", log)
        out.append({"pair": name, "method": "ghiasi2017", "forward_s": f["forward_s"], **f["eval"]})
    return out


def gatys_pairs(size: int, compose_cfg, tmp: Path, log: Path | None, extra: list[str]):
    """The default Gatys run on the classic pairs, 300 iterations, scored at 100 and 300."""
    out = []
    for content, style in PAIRS:
        images = [f"content={IMAGES / content}", f"style={IMAGES / style}"]
        name = f"{Path(content).stem}_{Path(style).stem}"
        cfg = compose_cfg(size, 300, ["snapshot_every=100", *images, *extra])
        quality.time_to_quality(cfg, tmp / f"pair_{name}_gatys", ANY, log)
        for row in quality.read_eval_csv(tmp / f"pair_{name}_gatys" / "eval.csv"):
            if int(row["step"]) in (100, 300):
                out.append({"pair": name, "method": f"gatys2016 {int(row['step'])} it", **row})
    return out


def pairs_markdown(rows: list[dict], size: int) -> list[str]:
    lines = [f"| pair ({size} px) | method | " + " | ".join(SCORES) + " |",
             "|---|---|" + "---:|" * len(SCORES)]  # fmt: skip
    for r in rows:
        scores = " | ".join(f"{r.get(k, float('nan')):.3f}" for k in SCORES)
        lines.append(f"| {r['pair']} | {r['method']} | {scores} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256], help="time-to-quality sizes")
    p.add_argument("--iters", type=int, default=300, help="iterations at most per Gatys run")
    p.add_argument("--every", type=int, default=10, help="score every N iterations")
    p.add_argument("--quality", default=quality.DEFAULT_TARGET, help="the target")
    p.add_argument("--pairs", action="store_true", help="the classic pairs instead")
    p.add_argument("--gatys", action="store_true", help="with --pairs: Gatys at 100/300 its too")
    p.add_argument("--size", type=int, default=256, help="with --pairs: the size")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", type=Path, default=REPO / "bench_results")
    args = p.parse_args(argv)
    from common import compose_cfg  # beside this file

    def cfg(size, n, extra):
        return compose_cfg(size, n, args.device, extra)

    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "feedforward.log"
    with tempfile.TemporaryDirectory(prefix="nst-bench-ff-") as tmp:
        os.environ.setdefault("WANDB_DIR", tmp)
        if args.pairs:
            rows = pairs(args.size, cfg, Path(tmp), log, args.set)
            if args.gatys:
                rows += gatys_pairs(args.size, cfg, Path(tmp), log, args.set)
            text = "\n".join(pairs_markdown(rows, args.size))
            (args.out / "feedforward_pairs.json").write_text(json.dumps(rows, indent=2))
        else:
            result = measure(args.sizes, args.iters, args.every, args.quality, cfg, Path(tmp),
                             log, args.set)  # fmt: skip
            text = "\n".join(markdown(result))
            (args.out / "feedforward.json").write_text(json.dumps(result, indent=2))
    (args.out / ("feedforward_pairs.md" if args.pairs else "feedforward.md")).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
