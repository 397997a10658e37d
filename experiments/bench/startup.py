"""Start-up: the ``nst`` command against a plain PyTorch script, whole process, and where the
imports go. Used by ``bench.py`` (``make bench``); see README.md beside this file.

- :func:`whole_process`: ``nst content=C style=S size=N iterations=K logger=csv eval=[]`` and
  ``plain_script.py C S`` (the same work, torch + PIL only) as subprocesses, alternating, each
  timed from launch to exit (wall, and CPU seconds of the process); start-up = wall time - K x
  its median seconds per iteration (so the first, slower iterations count as start-up in both);
  and the forward + backward passes each ran (the plain script prints them, ``nst``'s
  ``metrics.json`` has ``loss_evaluations``), so the table says whether both did the same work.
- :func:`import_profile`: ``python -X importtime`` of what a run imports (``nst_research.cli`` and
  ``nst_research.run``): seconds per top-level package and the chain that pulls in each heavy
  module nobody asked for (``torch._dynamo``, ``torchmetrics``, ``matplotlib``, ``wandb``).
"""

from __future__ import annotations

import json
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WATCHED = ("torch._dynamo", "torchmetrics", "torchvision", "matplotlib", "sympy", "wandb")
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(text: str) -> list[tuple[int, str, int, int]]:
    """``-X importtime`` lines -> ``(depth, module, self_us, cumulative_us)`` in output order."""
    rows = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            rows.append((len(m.group(3)) // 2, m.group(4), int(m.group(1)), int(m.group(2))))
    return rows


def chain(rows: list[tuple[int, str, int, int]], module: str) -> list[tuple[str, int]]:
    """The importers of ``module``'s first import, innermost first: ``[(name, cumulative_us)]``;
    the head is the outermost line of ``module`` or its submodules (``-X importtime`` leaves out
    a package's own line when it is imported from inside a frozen importlib call).

    ``-X importtime`` prints a module after everything it imported, one level deeper, so a
    module's importer is the next line with a smaller depth.
    """

    def inside(name: str) -> bool:
        return name == module or name.startswith(module + ".")

    for i, (depth, name, _, cum) in enumerate(rows):
        if inside(name):
            out, level = [(name, cum)], depth
            for depth2, name2, _, cum2 in rows[i + 1 :]:
                if depth2 < level:
                    out.append((name2, cum2))
                    level = depth2
            while len(out) > 1 and inside(out[1][0]):
                out.pop(0)
            return out
    return []


def crossings(found: list[tuple[str, Any]]) -> list[str]:
    """The importers in a chain where the top-level package changes (``torch._dynamo <-
    torchvision.ops.roi_align <- torchmetrics... <- lightning_fabric... <- ...``)."""
    out, package = [], found[0][0].split(".")[0] if found else ""
    for name, _ in found[1:]:
        if name.split(".")[0] != package:
            out.append(name)
            package = name.split(".")[0]
    return out


def by_package(rows: list[tuple[int, str, int, int]]) -> Counter:
    """Self time (us) summed per top-level package."""
    total: Counter = Counter()
    for _, name, self_us, _ in rows:
        total[name.split(".")[0]] += self_us
    return total


def import_profile(env: dict[str, str]) -> dict[str, Any]:
    code = "import nst_research.cli, nst_research.run"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = parse_importtime(proc.stderr)
    packages = by_package(rows)
    chains = {}
    for module in WATCHED:
        found = chain(rows, module)
        if found and found[0][0] != module:  # no line of its own: the self times of its modules
            own = sum(r[2] for r in rows if r[1] == module or r[1].startswith(module + "."))
            found[0] = (module, own)
        chains[module] = [(name, us / 1e6) for name, us in found]
    return {
        "total_s": sum(packages.values()) / 1e6,
        "packages_s": {k: v / 1e6 for k, v in packages.most_common(12)},
        "chains": chains,
    }


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system, the child and its children) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return wall, cpu, proc.stdout


def whole_process(
    nst: str, images: tuple[Path, Path], size: int, iters: int, repeats: int, tmp: Path,
    env: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """Alternate ``plain_script.py`` and ``nst`` on the same images; wall and start-up seconds."""
    content, style = images
    out: dict[str, Any] = {"size": size, "iterations": iters, "plain": [], "nst": []}
    for r in range(repeats):
        wall, cpu, stdout = _timed(
            [sys.executable, str(HERE / "plain_script.py"), str(content), str(style),
             str(tmp / f"plain_{r}.png"), "--size", str(size), "--iters", str(iters)],
            env, tmp,
        )  # fmt: skip
        printed = json.loads(stdout.strip().splitlines()[-1])
        out["plain"].append(
            {"wall_s": wall, "cpu_s": cpu, "s_per_iter": printed["s_per_iter"],
             "evaluations": printed.get("evaluations")}
        )  # fmt: skip
        run_dir = tmp / f"nst_{size}_{r}"
        wall, cpu, _ = _timed(
            [nst, f"content={content}", f"style={style}", f"size={size}",
             f"iterations={iters}", "logger=csv", "eval=[]", f"hydra.run.dir={run_dir}"],
            env, tmp,
        )  # fmt: skip
        metrics = json.loads((run_dir / "metrics.json").read_text())
        out["nst"].append(
            {"wall_s": wall, "cpu_s": cpu, "s_per_iter": metrics["s_per_iter"],
             "evaluations": metrics.get("loss_evaluations", {}).get("computed")}
        )  # fmt: skip
    for key in ("plain", "nst"):
        for x in out[key]:
            x["startup_s"] = x["wall_s"] - iters * x["s_per_iter"]
        out[f"{key}_min_wall_s"] = min(x["wall_s"] for x in out[key])
        out[f"{key}_min_startup_s"] = min(x["startup_s"] for x in out[key])
        out[f"{key}_min_cpu_s"] = min(x["cpu_s"] for x in out[key])
    out["ratio_min_wall"] = out["nst_min_wall_s"] / out["plain_min_wall_s"]
    out["ratio_min_cpu"] = out["nst_min_cpu_s"] / out["plain_min_cpu_s"]
    return out


def _evaluations(runs: list[dict[str, Any]]) -> str:
    """The loss evaluations (forward + backward passes) of the runs: one number if they agree."""
    counts = sorted({x.get("evaluations") for x in runs} - {None})
    return "/".join(str(c) for c in counts) or "-"


def _whole_markdown(w: dict[str, Any]) -> list[str]:
    """The whole-process table: the plain script against ``nst``, and their ratios."""
    lines = [
        "",
        f"### Whole process: {w['iterations']} iterations at {w['size']} px "
        "(launch to exit; min over repeats)",
        "",
        "| command | wall s (min) | all wall s | start-up s (min) | s/iteration | CPU s (min) "
        "| loss evaluations |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for key, label in (
        ("plain", "plain PyTorch script (`plain_script.py`)"),
        ("nst", "`nst ... logger=csv eval=[]`"),
    ):
        runs = w[key]
        walls = ", ".join(f"{x['wall_s']:.2f}" for x in runs)
        lines.append(
            f"| {label} | {w[f'{key}_min_wall_s']:.2f} | "
            f"{walls} | "
            f"{w[f'{key}_min_startup_s']:.2f} | "
            f"{statistics.median(x['s_per_iter'] for x in runs):.3f} | "
            f"{w.get(f'{key}_min_cpu_s', float('nan')):.2f} | "
            f"{_evaluations(runs)} |"
        )
    plain, nst = _evaluations(w["plain"]), _evaluations(w["nst"])
    if plain != "-" and nst != "-":
        lines += [
            "",
            f"- Same work: both ran {nst} forward + backward passes of the image."
            if plain == nst
            else f"- **Not the same work**: the plain script ran {plain} forward + backward "
            f"passes, nst {nst}; the ratio compares different amounts of arithmetic.",
        ]
    verdict = "within" if w["ratio_min_wall"] <= 1.15 else "not within"
    lines += ["", f"- nst / plain (min wall): {w['ratio_min_wall']:.2f} ({verdict} 15%)."]
    if "ratio_min_cpu" in w:
        lines.append(
            f"- nst / plain (min CPU seconds, user + system): {w['ratio_min_cpu']:.2f}: "
            "CPU time hardly depends on other processes, wall time does."
        )
    return lines


def _imports_markdown(imports: dict[str, Any]) -> list[str]:
    """Import seconds per package and the chain that pulls in each watched module."""
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(imports["packages_s"].items())[:8])
    lines = [
        "",
        f"### Imports of a run: {imports['total_s']:.2f} s (`-X importtime`, self time)",
        "",
        f"- by package (s): {top}",
    ]
    for module, found in imports["chains"].items():
        if not found:
            lines.append(f"- `{module}`: not imported")
            continue
        path = " <- ".join(f"`{name}`" for name in crossings(found))
        lines.append(f"- `{module}` ({found[0][1]:.2f} s with what it imports) <- {path}")
    return lines


def markdown(whole: dict[str, Any], imports: dict[str, Any]) -> list[str]:
    """The whole-process and import sections (each only when measured)."""
    return (_whole_markdown(whole) if whole else []) + (
        _imports_markdown(imports) if imports else []
    )
