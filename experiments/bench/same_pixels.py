"""Refactors keep behaviour: hash ``final.png`` and ``losses.csv`` of fixed 64 px runs.

Run it before and after a change and compare the two JSON files (same seed, same pixels)::

    git stash; .venv/bin/python experiments/bench/same_pixels.py /tmp/before.json; git stash pop
    .venv/bin/python experiments/bench/same_pixels.py /tmp/after.json
    .venv/bin/python experiments/bench/same_pixels.py --compare /tmp/before.json /tmp/after.json

The cases cover both loss presets, every init but ``image``, all three optimisers, the Gram
normalisations and reductions, TV kinds, layer weights, both tasks, a diverging run, L-BFGS with a
line search in every iteration, a style term that re-draws every iteration and a pyramid schedule,
and the weight sources offline: a VGG16 ``.pth`` file, torchvision's cached VGG19 file (a hub dir in
the temporary dir) and a VGG19 file with Caffe preprocessing (seeded random torchvision weights).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

CASES = {
    "default": [],
    "paper_noise_avg": ["loss=paper", "init=noise", "model.pooling=avg", "layers=paper_conv"],
    "adam_keras_tv": ["optimizer=adam", "loss.tv=keras", "loss.tv_weight=1e-4", "init=style"],
    "gram_hw_sum": [
        "loss.gram_norm=hw",
        "loss.style_reduction=sum",
        "loss.content_norm=paper",
        "loss.tv=l1",
    ],
    "recon_style": ["task=reconstruct_style", "layers.style=[conv1_1,conv2_1]"],
    "recon_content": ["task=reconstruct_content", "seed=3"],
    "sgd_weights": ["optimizer=sgd", "layers.style_weights=[1,2,3,4,5]"],  # diverges
    # L-BFGS with a line search in every iteration; a term that re-draws every iteration; stages
    "strong_wolfe": ["optimizer.line_search=strong_wolfe"],
    "sliced_wasserstein": ["style_loss=sliced_wasserstein"],
    "pyramid": ["schedule=pyramid"],
    # weight sources (files written by _weight_files; {tmp} is the temporary dir)
    "vgg16_file": ["model=vgg16", "model.weights={tmp}/vgg16.pth"],
    "vgg19_torchvision": ["model.weights=torchvision", "model.allow_download=false"],
    "vgg19_file_caffe_prep": [
        "model.weights={tmp}/vgg19.pth",
        "model.preprocessing=caffe",
        "model.pooling=avg",
    ],
}
BASE = ["size=64", "iterations=12", "logger=none", "trainer.progress_bar=false"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _weight_files(tmp: Path) -> None:
    """Seeded random torchvision VGG16/VGG19 state dicts: ``vgg16.pth``, ``vgg19.pth``, and the
    VGG19 as torchvision's cached file in a hub dir ``tmp/hub`` (made the process's hub dir)."""
    import torch
    import torchvision

    for seed, arch in enumerate(("vgg16", "vgg19")):
        torch.manual_seed(seed)
        state = getattr(torchvision.models, arch)(weights=None).features.state_dict()
        torch.save({f"features.{k}": v for k, v in state.items()}, tmp / f"{arch}.pth")
    (tmp / "hub" / "checkpoints").mkdir(parents=True)
    (tmp / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth").write_bytes(
        (tmp / "vgg19.pth").read_bytes()
    )
    torch.hub.set_dir(str(tmp / "hub"))


def measure(out: Path) -> dict[str, dict]:
    from nst_research.configs.compose import compose
    from nst_research.run import run

    tmp = Path(tempfile.mkdtemp(prefix="nst-pixels-"))
    _weight_files(tmp)
    results = {}
    for name, overrides in CASES.items():
        overrides = [o.replace("{tmp}", str(tmp)) for o in overrides]
        metrics = run(compose([*BASE, *overrides]), tmp / name)
        results[name] = {
            "png": sha256(tmp / name / "final.png"),
            "csv": sha256(tmp / name / "losses.csv"),
            "loss": metrics["final_losses"]["loss/total"],
            "status": metrics["status"],
        }
        print(name, results[name]["png"][:12], results[name]["status"], flush=True)
    out.write_text(json.dumps(results, indent=1))
    return results


def compare(a: Path, b: Path) -> int:
    before, after = json.loads(a.read_text()), json.loads(b.read_text())
    changed = [k for k in before if before[k] != after.get(k)]
    for name in before:
        print(f"{name}: {'CHANGED' if name in changed else 'same pixels and losses'}")
    return 1 if changed else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", type=Path, nargs="+", help="OUT.json, or two with --compare")
    p.add_argument("--compare", action="store_true", help="compare two JSON files")
    args = p.parse_args(argv)
    if args.compare:
        return compare(*args.paths[:2])
    measure(args.paths[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
