"""Paints the project's own default style image: brush strokes along swirling flow lines.

``python -m nst_research.io.paint nst_research/assets/swirls.jpg`` regenerates the shipped file
(deterministic), so ``make run`` needs no downloaded artwork.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PALETTE = [  # night blues, ultramarine, ochre and lemon yellow, a little white
    (16, 32, 84),
    (28, 58, 132),
    (44, 88, 170),
    (70, 120, 190),
    (18, 40, 60),
    (232, 196, 60),
    (246, 222, 110),
    (200, 150, 40),
    (236, 236, 210),
    (120, 160, 200),
]


def _flow(x: np.ndarray, y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Angle of a flow made of a few vortices plus a gentle horizontal drift."""
    vx = np.full_like(x, 0.6)
    vy = 0.25 * np.sin(x * 6.0)
    for cx, cy, strength in centres:
        dx, dy = x - cx, y - cy
        r2 = dx * dx + dy * dy + 1e-3
        vx += -strength * dy / r2 * np.exp(-r2 * 8)
        vy += strength * dx / r2 * np.exp(-r2 * 8)
    return np.arctan2(vy, vx)


def paint(size: int = 512, strokes: int = 9000, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), PALETTE[0])
    draw = ImageDraw.Draw(img)
    centres = np.array([[0.3, 0.3, 0.9], [0.72, 0.42, -0.7], [0.5, 0.8, 0.8], [0.15, 0.75, -0.5]])
    for _ in range(strokes):
        x, y = rng.random(), rng.random()
        near = min(np.hypot(x - c[0], y - c[1]) for c in centres)
        warm = near < 0.12 or y < 0.15 and rng.random() < 0.3
        colour = PALETTE[rng.integers(5, 9)] if warm else PALETTE[rng.integers(0, 5)]
        if rng.random() < 0.06:
            colour = PALETTE[9]
        jitter = tuple(int(np.clip(c + rng.normal(0, 12), 0, 255)) for c in colour)
        width = int(rng.integers(3, 8))
        points = [(x * size, y * size)]
        for _ in range(int(rng.integers(4, 10))):
            a = _flow(np.array(x), np.array(y), centres)
            x, y = x + 0.012 * np.cos(a), y + 0.012 * np.sin(a)
            points.append((x * size, y * size))
        draw.line(points, fill=jitter, width=width, joint="curve")
    return img.filter(ImageFilter.SMOOTH)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "swirls.jpg")
    paint().save(out, quality=92)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
