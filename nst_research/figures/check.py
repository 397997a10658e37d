"""``make figures-check``: re-render every figure recipe in quick mode, compare the bytes.

``python -m nst_research.figures.check [NAME ...] [--update]`` renders each figure as
``python -m nst_research.figures NAME --quick`` does (48 px, 5 iterations, paper settings unless
the recipe pins its own; no logger) into a temporary folder, and compares the sha256 of the
grid (``<name>.png``) and of every tile's ``final.png`` with those committed in
``nst_research/figures/hashes.json``. It names each figure whose bytes changed (and which tiles)
and exits 1 then; ``--update`` rewrites the hashes of the figures rendered.

The quick renders are byte-identical run to run on one machine and environment (CPU; the
tiles' pixels do not depend on the order figures are made in). Another torch, CPU kind or
matplotlib may change them: ``hashes.json`` keeps the environment that recorded it, and a
failing check says whether the environment differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nst_research.engine.status import RunStatus
from nst_research.errors import NSTError
from nst_research.figures.cli import QUICK_ITERATIONS, QUICK_SIZE
from nst_research.figures.recipes import FIGURES, get_figure
from nst_research.figures.running import Options, make_figure
from nst_research.io.files import write_text

HASHES = Path(__file__).with_name("hashes.json")
ABOUT = (
    "sha256 of each figure's quick render (grid png and tiles' final.png); "
    "make figures-check compares, python -m nst_research.figures.check --update rewrites"
)


# A figure that prints each tile's wall seconds under it (methods) has a grid that differs run to
# run: its tiles' images are compared, its grid is not.
UNHASHED_GRID = "not hashed: the grid shows each tile's wall seconds"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quick_options(size: int = QUICK_SIZE, iterations: int = QUICK_ITERATIONS) -> Options:
    """The options of ``--quick`` (no logger: W&B files would only slow the check)."""
    return Options(settings="paper", size=size, iterations=iterations, quick=True, logger="none")


def _inputs_sha(tile_dirs: Sequence[Path]) -> str:
    """One sha256 over the input and weight hashes the tiles' metrics.json recorded."""
    seen = []
    for run_dir in tile_dirs:
        try:
            metrics = json.loads((run_dir / "metrics.json").read_text())
        except (OSError, ValueError):
            continue
        seen.append(json.dumps(metrics.get("hashes") or {}, sort_keys=True))
    return hashlib.sha256("\n".join(sorted(seen)).encode()).hexdigest()


def render(name: str, opts: Options, out: Path) -> dict[str, Any]:
    """Make one figure into ``out``; its hashes: ``{"png", "tiles": {tile: sha or status},
    "inputs"}``."""
    grid, results = make_figure(name, opts, out, log=lambda _: None)
    if any(r.status == RunStatus.INTERRUPTED for r in results):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM stopped a tile: stop the check there
    tiles = {}
    for res in results:
        key = res.run_dir.name if res.run_dir else res.tile.key
        ok = res.image is not None and res.image.is_file()
        tiles[key] = sha256(res.image) if ok else f"{res.status}: {res.error or 'no image'}"
    png = next(p for p in grid.files if p.suffix == ".png")
    dirs = [r.run_dir for r in results if r.run_dir is not None]
    grid_hash = UNHASHED_GRID if get_figure(name).show_seconds else sha256(png)
    return {"png": grid_hash, "tiles": tiles, "inputs": _inputs_sha(dirs)}


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """What changed between two hash records of a figure (empty when nothing did)."""
    out = []
    old, new = expected.get("tiles", {}), got["tiles"]
    changed = [k for k in sorted({*old, *new}) if old.get(k) != new.get(k)]
    if changed:
        out.append(f"tiles {', '.join(changed)}")
    if expected.get("png") != got["png"]:
        out.append("grid png")
    if out and expected.get("inputs") != got["inputs"]:
        out.append("(their input images or weights differ too)")
    return out


def _environment() -> dict[str, Any]:
    from nst_research.provenance import environment_record

    record = environment_record("cpu")
    keep = ("packages_sha256", "python", "torch", "platform")
    return {**{k: record[k] for k in keep}, "cpu": record["device"]["cpu"]}


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"about": ABOUT, "figures": {}}
    return json.loads(path.read_text())


def check(
    names: Sequence[str], opts: Options, hashes: Path, update: bool = False, out: Path | None = None
) -> int:
    """Render ``names``, compare with (or, ``update``, write into) ``hashes``; the exit code."""
    committed = load(hashes)
    wanted = {"settings": opts.settings, "size": opts.size, "iterations": opts.iterations}
    if not update and committed.get("options", wanted) != wanted:
        print(f"error: {hashes} holds hashes of {committed['options']}, not {wanted}; "
              "rerun with --update", file=sys.stderr)  # fmt: skip
        return 2
    bad, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="figures-check-") as tmp:
        folder = out or Path(tmp)
        for name in names:
            t0 = time.perf_counter()
            got = render(name, opts, folder)
            seconds = f"{time.perf_counter() - t0:.1f} s"
            if update:
                committed.setdefault("figures", {})[name] = got
                print(f"{name}: recorded ({len(got['tiles'])} run tiles, {seconds})", flush=True)
                continue
            expected = committed.get("figures", {}).get(name)
            if expected is None:
                bad.append(name)
                print(f"{name}: NO HASHES in {hashes} (--update records them)")
                continue
            diff = differences(expected, got)
            if diff:
                bad.append(name)
            n = len(got["tiles"])
            what = f"CHANGED: {'; '.join(diff)}" if diff else f"ok ({n} tile{'s' * (n != 1)})"
            print(f"{name}: {what} ({seconds})", flush=True)
    total = f"{time.perf_counter() - start:.0f} s"
    if update:
        committed.update(about=ABOUT, options=wanted, environment=_environment())
        write_text(hashes, json.dumps(committed, indent=2, sort_keys=True) + "\n")
        print(f"wrote {hashes} ({len(names)} figures, {total})")
        return 0
    if not bad:
        print(f"figures-check: all {len(names)} figures byte-identical ({total})")
        return 0
    print(f"figures-check: pixels changed in {', '.join(bad)} ({total})")
    recorded, now = committed.get("environment"), _environment()
    if recorded and recorded != now:
        keys = ", ".join(k for k in now if recorded.get(k) != now[k])
        print(f"note: the hashes were recorded in another environment ({keys} differ)")
    return 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nst_research.figures.check",
        description="Re-render figures in quick mode and compare their bytes with hashes.json.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help=f"default: all ({', '.join(FIGURES)})")
    p.add_argument("--update", action="store_true", help="rewrite the hashes of these figures")
    p.add_argument("--hashes", type=Path, default=HASHES, help=f"default: {HASHES}")
    p.add_argument("--out", type=Path, help="keep the renders here (default: a temporary folder)")
    p.add_argument("--size", type=int, default=QUICK_SIZE, help=argparse.SUPPRESS)
    p.add_argument("--iterations", type=int, default=QUICK_ITERATIONS, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = list(args.names) or list(FIGURES)
    try:
        for name in names:
            get_figure(name)
        return check(names, quick_options(args.size, args.iterations), args.hashes, args.update,
                     args.out)  # fmt: skip
    except NSTError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("figures-check: interrupted (hashes unchanged)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
