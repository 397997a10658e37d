"""The ``methods`` figure: the optimisation-based methods that followed Gatys et al., each as its
``method=`` preset (conf/method/), on the classic pairs, with the evaluation scores and the wall
seconds under every tile.

Each run tile is ``nst method=NAME content=... style=... size=... iterations=... seed=...``: the
preset's own layers, weights, init, optimiser and schedule (the figure's settings are not
applied), so every method runs as it is defined, at the same size and iteration budget.
Registered in ``recipes.FIGURES``.
"""

from __future__ import annotations

from pathlib import Path

from nst_research.figures.specs import FigureSpec, Tile

# method preset -> column label (the presets' labels say which are on our VGG19 in place of VGG16)
METHODS = (
    ("gatys2016", "gatys2016\n(Gatys et al. 2016)"),
    ("gatys2017", "gatys2017\n(paper settings)"),
    ("strotss", "strotss\n(VGG19 layers)"),
    ("nnst", "nnst\n(VGG19 layers)"),
    ("ck", "ck\n(crowsonkb recipe)"),
    ("ghiasi2017", "ghiasi2017\n(one network pass)"),
)
PAIRS = (
    ("tubingen.jpg", "starry_night.jpg"),
    ("golden_gate.jpg", "the_scream.jpg"),
    ("tubingen.jpg", "woman-with-hat-matisse.jpg"),
)


def methods_figure(titles: dict[str, str]) -> FigureSpec:
    """Three classic pairs (rows) x content, style and the method presets (columns)."""
    tiles = []
    for i, (content, style) in enumerate(PAIRS):
        tiles.append(Tile(i, 0, "content", image=content))
        tiles.append(Tile(i, 1, "style", image=style))
        for j, (method, _) in enumerate(METHODS, start=2):
            key = f"{Path(content).stem}-{Path(style).stem}-{method}"
            tiles.append(
                Tile(i, j, "", task="stylize", key=key, content=content, style=style, method=method)
            )
    return FigureSpec(
        name="methods",
        title="Methods beyond Gatys: each method= preset on the classic pairs",
        shows="Each method as its preset defines it (nst method=NAME; conf/method/NAME.yaml says "
        "what is faithful to the paper and what is approximated): Gatys et al. 2016 (the "
        "project's reference settings), Gatys et al. 2017 (the paper's settings), STROTSS, "
        "NNST-Opt and crowsonkb's recipe on our Caffe VGG19 (STROTSS and NNST with their VGG16 "
        "layers mapped by name), and Ghiasi et al.'s one pass of a pre-trained network; all at "
        "the same size, iterations and seed. Under each tile: the evaluation scores and the "
        "run's wall seconds.",
        content=PAIRS[0][0],
        style=PAIRS[0][1],
        ratio=1e-3,
        row_labels=tuple(f"{titles.get(c, Path(c).stem)}\n× {titles[s]}" for c, s in PAIRS),
        col_labels=("", "", *(label for _, label in METHODS)),
        tiles=tuple(tiles),
        settings="reference",
        show_seconds=True,
    )
