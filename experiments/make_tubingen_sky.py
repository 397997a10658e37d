"""Draw the label map of tubingen.jpg used by the spatial-control figure: sky vs. the rest.

    python experiments/make_tubingen_sky.py [/work/shared/images/tubingen.jpg]

Writes ``nst_research/assets/tubingen_sky.png`` (``builtin:tubingen_sky``; 256x192, the photo's
4:3): sky ``#0000ff``, the
rest ``#ff0000``. The sky is thresholded (blue > 150 and blue - red > 10 at 256 px) and then, in
each column, taken as the run of sky pixels that starts at the top row, so roofs and reflections
in the river never count as sky. The output's sha256 is in ``nst_research/assets/SHA256SUMS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ASSETS = Path(__file__).resolve().parents[1] / "nst_research" / "assets"
SKY, REST = (0, 0, 255), (255, 0, 0)


def sky_labels(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 photo -> (H, W, 3) uint8 label map (sky blue, the rest red)."""
    c = rgb.astype(int)
    skyish = (c[..., 2] > 150) & (c[..., 2] - c[..., 0] > 10)
    from_top = np.cumprod(skyish, axis=0).astype(bool)  # the run that starts at the top row
    out = np.empty_like(rgb)
    out[...] = REST
    out[from_top] = SKY
    return out


def main(source: str = "/work/shared/images/tubingen.jpg") -> Path:
    photo = Image.open(source).convert("RGB").resize((256, 192), Image.Resampling.LANCZOS)
    path = ASSETS / "tubingen_sky.png"
    Image.fromarray(sky_labels(np.asarray(photo))).save(path, optimize=False)
    return path


if __name__ == "__main__":
    print(main(*sys.argv[1:]))
