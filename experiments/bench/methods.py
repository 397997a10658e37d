"""Seconds per ``method=`` preset at several sizes, side by side, in one process on one machine.

For each size and each preset (gatys2016, gatys2017, strotss, nnst, ck, ghiasi2017), one ordinary
harness run, ``nst method=NAME content=... style=... size=S iterations=N`` (W&B off, no eval, no
snapshots), from ``metrics.json``: the whole run's wall seconds (inputs, weights, every stage of
a schedule), the optimisation seconds (``fit_time_s``), the median seconds per iteration and the
peak memory. The presets run their own schedules, so ``s/it`` of strotss, nnst and ck is a median
over all their scales (most iterations are below ``size``). ghiasi2017 runs no iterations: its
seconds are one pass of the network.

Standalone (from the repository root)::

    python experiments/bench/methods.py --sizes 256 512 --iters 200 --out bench_results
    python experiments/bench/methods.py --sizes 64 --iters 3 --methods gatys2016 ck   # a smoke run

or from ``bench.py``: ``methods.measure(sizes, iters, compose_cfg, tmp)`` and
``methods.markdown(result)``, as ``pyramid.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def all_methods() -> list[str]:
    """Every ``method=`` preset (conf/method and a user's config dir), gatys2016 first."""
    from nst_research.configs.compose import group_options

    return sorted(group_options("method"), key=lambda m: (m != "gatys2016", m))


PAIR = ("tubingen.jpg", "starry_night.jpg")
QUIET = ["logger=none", "eval=[]", "snapshot_every=0", "trainer.progress_bar=false"]


def measure(
    sizes: Sequence[int],
    iterations: int,
    compose_cfg: Callable[[int, int, list[str]], Any],
    tmp: Path,
    methods: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    log: Callable[[str], object] = print,
) -> dict[str, Any]:
    """One run per (size, method); ``compose_cfg(size, iterations, overrides)`` gives its config."""
    from nst_research.io.data import find_image
    from nst_research.run import run

    content, style = (find_image(n).resolve() for n in PAIR)
    methods = list(methods) if methods else all_methods()
    rows = []
    for size in sizes:
        for method in methods:
            overrides = [f"method={method}", f"content={content}", f"style={style}", *QUIET]
            row: dict[str, Any] = {"size": size, "method": method, "label": method}
            try:  # one method that fails is a row saying why; the others are still measured
                cfg = compose_cfg(size, iterations, [*overrides, *extra])
                row["label"] = cfg.method.get("label") or method
                m = run(cfg, tmp / f"methods_{size}_{method}")
            except Exception as e:  # noqa: BLE001 - any error of one run, recorded
                row.update(status="failed", error=f"{type(e).__name__}: {' '.join(str(e).split())}")
                log(f"[methods] {size} px {method}: failed ({row['error'][:200]})")
                rows.append(row)
                continue
            row.update(
                status=m["status"],
                iterations=m["iterations"],
                wall_s=m["wall_time_s"],
                fit_s=m.get("fit_time_s"),
                s_per_iter=m.get("s_per_iter"),
                peak_memory_mb=m.get("peak_memory_mb"),
            )
            log(f"[methods] {size} px {method}: {row['wall_s']:.1f} s ({row['status']})")
            rows.append(row)
    return {"pair": list(PAIR), "iterations": iterations, "sizes": list(sizes), "rows": rows}


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "- | -"
    if row.get("status") == "failed":
        return "failed | -"
    sit = f"{row['s_per_iter']:.3f}" if row.get("s_per_iter") else "-"
    return f"{row['wall_s']:.1f} | {sit}"


def markdown(result: dict[str, Any]) -> list[str]:
    """The report's section: one row per method, seconds and s/it per size side by side."""
    sizes = result["sizes"]
    by = {(r["method"], r["size"]): r for r in result["rows"]}
    methods = list(dict.fromkeys(r["method"] for r in result["rows"]))
    head = " | ".join(f"{s} px: s | {s} px: s/it" for s in sizes)
    lines = [
        "## Seconds per method= preset",
        "",
        f"- {result['pair'][0]} x {result['pair'][1]}, iterations={result['iterations']} "
        "(each preset's own schedule); seconds are the whole run's wall time",
        "",
        f"| method | {head} |",
        "|---|" + "---:|---:|" * len(sizes),
    ]
    for method in methods:
        label = by[(method, sizes[0])]["label"] if (method, sizes[0]) in by else method
        cells = " | ".join(_cell(by.get((method, s))) for s in sizes)
        lines.append(f"| `{method}` ({label}) | {cells} |")
    lines += [
        "",
        "- s/it: median seconds per iteration over the whole run (strotss, nnst and ck spend "
        "most iterations below the size); ghiasi2017 runs no iterations (one network pass).",
        "",
    ]
    for row in result["rows"]:
        if row.get("status") == "failed":
            lines.append(f"- `{row['method']}` at {row['size']} px failed: {row.get('error')}")
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--methods-sizes",
        type=int,
        nargs="+",
        help="sizes of the seconds per method= preset (default: 256 512 on GPU; on CPU none: "
        "STROTSS on hypercolumns takes minutes per run there; 0: skip)",
    )
    p.add_argument("--methods-iters", type=int, default=200, help="iterations= of those runs")


def step(ctx: Any) -> dict[str, Any]:
    """``bench.py``'s seconds per method preset at ``--methods-sizes``, side by side."""
    default = [256, 512] if ctx.device == "cuda" else []
    sizes = [s for s in (ctx.args.methods_sizes or default) if s > 0]
    if not sizes:
        return {"methods": {}}
    print(f"[bench] every method= preset at {sizes} ...", file=sys.stderr, flush=True)
    cfg = _compose_for(ctx.device)
    return {"methods": measure(sizes, ctx.args.methods_iters, cfg, ctx.tmp, None, ctx.args.set)}


def _compose_for(device: str) -> Callable[[int, int, list[str]], Any]:
    from nst_research.configs.compose import compose

    def compose_cfg(size: int, iterations: int, extra: list[str]) -> Any:
        gpu = ["trainer=gpu"] if device == "cuda" else []
        return compose([f"size={size}", f"iterations={iterations}", *gpu, *extra])

    return compose_cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="long sides, px")
    p.add_argument("--iters", type=int, default=200, help="iterations= of every run")
    p.add_argument("--methods", nargs="+", default=None, help="method= presets (default: all)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--set", action="append", default=[], help="a further override of every run")
    p.add_argument("--out", type=Path, default=REPO / "bench_results", help="output folder")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.sizes, args.iters, _compose_for(args.device), Path(tmp),
                         args.methods, args.set)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "methods.json").write_text(json.dumps(result, indent=2))
    text = "\n".join(markdown(result))
    (args.out / "methods.md").write_text(text)
    print(text)
    return 0 if all(r["status"] == "completed" for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
