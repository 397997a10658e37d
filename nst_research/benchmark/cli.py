"""``nst-bench``: run methods x pairs, then write the method table; ``nst-bench report DIR``.

    nst-bench --contents DIR|FILE,... --styles DIR|FILE,... --methods gatys2016,mean_std \
        [--size 128 --iterations 100 --pairs N --seed S --out DIR --baseline gatys2016] \
        [-- hydra/launcher=joblib ...]

Re-running the same command on the same ``--out`` runs only the jobs not completed there.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from nst_research.benchmark.plan import (
    Plan,
    choose_pairs,
    image_files,
    load_plan,
    method_overrides,
    save_plan,
)
from nst_research.configs.compose import CONF_DIR
from nst_research.errors import ConfigError, NSTError


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nst-bench",
        description="Stylise every pair with every method (nst -m sweeps), then write the method "
        "table. `nst-bench report DIR` writes the table of an existing benchmark.",
    )
    p.add_argument(
        "--contents", required=True, help="content images: folders or files, comma-separated"
    )
    p.add_argument(
        "--styles", required=True, help="style images: folders or files, comma-separated"
    )
    p.add_argument(
        "--methods", default="gatys2016,mean_std,wasserstein", help="comma-separated method names"
    )
    p.add_argument(
        "--define",
        action="append",
        default=[],
        metavar="NAME=OVERRIDES",
        help="a method as nst overrides, e.g. --define 'avg=model.pooling=avg loss.style_weight=1e3'",
    )
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--pairs", type=int, default=None, help="sample this many pairs (default: all)")
    p.add_argument("--seed", type=int, default=0, help="the runs' seed and the pair sampling's")
    p.add_argument(
        "--out", default="benchmark", help="the benchmark directory (default: ./benchmark)"
    )
    p.add_argument(
        "--baseline", default=None, help="method to compare against (default: the first)"
    )
    p.add_argument("--no-report", action="store_true", help="only run the jobs")
    p.add_argument(
        "--wandb", action="store_true", help="also log the table as a W&B Table (offline)"
    )
    return p


def report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nst-bench report", description="Write the method table of a benchmark dir."
    )
    p.add_argument("dir")
    p.add_argument(
        "--baseline", default=None, help="method to compare against (default: the first)"
    )
    p.add_argument(
        "--style-metric", default=None, help="x of the plane (default eval/random_style_ratio)"
    )
    p.add_argument("--content-metric", default=None, help="y of the plane (default eval/cfsd)")
    p.add_argument("--to", default=None, help="write the report here (default: DIR itself)")
    p.add_argument(
        "--wandb", action="store_true", help="also log the table as a W&B Table (offline)"
    )
    return p


def make_plan(args: argparse.Namespace, extra: list[str]) -> Plan:
    defined = {}
    for d in args.define:
        name, _, overrides = d.partition("=")
        if not overrides and "=" not in d:
            raise ConfigError(f"--define {d!r}: write NAME=OVERRIDES")
        defined[name] = shlex.split(overrides)
    methods = {m: method_overrides(m, defined, CONF_DIR) for m in _csv(args.methods)}
    contents = image_files(_csv(args.contents), "contents")
    styles = image_files(_csv(args.styles), "styles")
    pairs = choose_pairs(contents, styles, args.pairs, args.seed)
    return Plan(
        [[str(c), str(s)] for c, s in pairs], methods, args.size, args.iterations, args.seed, extra
    )


def run_main(argv: list[str]) -> int:
    from nst_research.benchmark.runner import run_pending

    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    args = run_parser().parse_args(argv)
    out = Path(args.out)
    plan = make_plan(args, extra)
    old = load_plan(out)
    # the directory's plan grows by this command's pairs and methods; the command runs its own
    save_plan(plan.merged(old) if old is not None else plan, out)
    run_pending(plan, out)
    if args.no_report:
        return 0
    return report_main(
        [
            str(out),
            *(["--baseline", args.baseline] if args.baseline else []),
            *(["--wandb"] if args.wandb else []),
        ]
    )


def report_main(argv: list[str]) -> int:
    from nst_research.benchmark.report import write_report

    args = report_parser().parse_args(argv)
    to = Path(args.to) if args.to else None
    return write_report(
        Path(args.dir), args.baseline, args.style_metric, args.content_metric, args.wandb, to
    )


def report_cli(argv: list[str]) -> int:
    """``nst-report BENCHMARK_DIR ...``: the method table, errors as one line (exit code 2)."""
    try:
        return report_main(argv)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = report_main(argv[1:]) if argv[:1] == ["report"] else run_main(argv)
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("stopped: run the same command again to run the jobs not completed", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
