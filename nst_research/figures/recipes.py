"""The recipes of Gatys, Ecker & Bethge (CVPR 2016), Fig. 1, 3, 4, 5 and 6, as figure specs, the
project's own comparison figures (``style_losses``), and the 2017 controls' colour and
spatial figures (from :mod:`.recipes_2017`).

:data:`FIGURES` is the one place that defines them: for each figure, its tiles (grid position,
label, task, images, layers, ratio, init, seed). ``experiments/README.md`` describes each one.
"""

from __future__ import annotations

from pathlib import Path

from nst_research.errors import ConfigError
from nst_research.figures.recipes_2017 import colour_figure, space_figure
from nst_research.figures.recipes_losses import style_losses_figure
from nst_research.figures.recipes_methods import methods_figure
from nst_research.figures.specs import FigureSpec, Tile, fmt_ratio, layer_key, layer_range

# The paper's CVPR 2016 names of the classic images (see nst_research/io/data.py).
TITLES = {
    "tubingen.jpg": "Neckarfront",
    "starry_night.jpg": "The Starry Night",
    "shipwreck.jpg": "The Shipwreck of the Minotaur",
    "the_scream.jpg": "The Scream",
    "seated-nude.jpg": "Femme nue assise",
    "woman-with-hat-matisse.jpg": "Woman with a Hat\n(for Composition VII)",
    "golden_gate.jpg": "Golden Gate",
}

CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CUMULATIVE_STYLE = tuple(STYLE_LAYERS[: k + 1] for k in range(len(STYLE_LAYERS)))


def _fig1() -> FigureSpec:
    """Fig. 1: content reconstructions (top) and style reconstructions (bottom) from noise."""
    content, style = "tubingen.jpg", "starry_night.jpg"
    tiles = [
        Tile(0, 0, f"{TITLES[content]} (input)", image=content),
        Tile(1, 0, f"{TITLES[style]} (input)", image=style),
    ]
    for j, layer in enumerate(CONTENT_LAYERS, start=1):
        tiles.append(
            Tile(
                0,
                j,
                layer,
                task="reconstruct_content",
                key=f"content-{layer}",
                content_layers=(layer,),
            )
        )
    for j, layers in enumerate(CUMULATIVE_STYLE, start=1):
        # content = the painting only sets the canvas (its aspect); the content loss is off.
        tiles.append(
            Tile(
                1,
                j,
                layer_range(layers),
                task="reconstruct_style",
                key=f"style-{layer_key(layers)}",
                content=style,
                style_layers=layers,
            )
        )
    return FigureSpec(
        name="gatys2016_fig1",
        title="Gatys et al. 2016, Fig. 1: image representations in VGG19",
        shows="Reconstructions from white noise of the content representation of Neckarfront in "
        "conv1_2 ... conv5_2 (detail is lost with depth, the layout stays) and of the style "
        "representation (Gram matrices) of The Starry Night in conv1_1, conv1_1-conv2_1, ..., "
        "conv1_1-conv5_1 (ever larger structures of the painting).",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("content\nreconstruction", "style\nreconstruction"),
        col_labels=("", "", "", "", "", ""),
        tiles=tuple(tiles),
    )


FIG3_STYLES = (
    ("shipwreck.jpg", 1e-3),
    ("starry_night.jpg", 8e-4),
    ("the_scream.jpg", 5e-3),
    ("seated-nude.jpg", 5e-4),
    ("woman-with-hat-matisse.jpg", 5e-4),
)


def _fig3() -> FigureSpec:
    """Fig. 3: Neckarfront in five styles, each at the paper's ratio."""
    content = "tubingen.jpg"
    tiles = [Tile(0, 0, f"{TITLES[content]}\n(content)", image=content)]
    for j, (style, ratio) in enumerate(FIG3_STYLES, start=1):
        tiles.append(Tile(0, j, TITLES[style], image=style))
        tiles.append(
            Tile(
                1,
                j,
                f"α/β = {fmt_ratio(ratio)}",
                task="stylize",
                key=f"{Path(style).stem}-{fmt_ratio(ratio)}",
                style=style,
                ratio=ratio,
            )
        )
    return FigureSpec(
        name="gatys2016_fig3",
        title="Gatys et al. 2016, Fig. 3: Neckarfront in the styles of five paintings",
        shows="The same photograph rendered in five styles, each at the paper's ratio alpha/beta.",
        content=content,
        style="starry_night.jpg",
        ratio=1e-3,
        row_labels=("style", "result"),
        col_labels=("",) * 6,
        tiles=tuple(tiles),
    )


FIG4_RATIOS = (1e-5, 1e-4, 1e-3, 1e-2)


def _fig4() -> FigureSpec:
    """Fig. 4: rows of ratios alpha/beta x columns of cumulative style layers."""
    tiles = [
        Tile(
            i,
            j,
            "",
            task="stylize",
            key=f"ratio{fmt_ratio(r)}-style-{layer_key(layers)}",
            ratio=r,
            style_layers=layers,
        )
        for i, r in enumerate(FIG4_RATIOS)
        for j, layers in enumerate(CUMULATIVE_STYLE)
    ]
    return FigureSpec(
        name="gatys2016_fig4",
        title="Gatys et al. 2016, Fig. 4: content/style ratio x style layers",
        shows="Rows: the ratio alpha/beta from 1e-5 (texture of the painting) to 1e-2 (mostly the "
        "photograph). Columns: the style matched on conv1_1 alone, then conv1_1-conv2_1, ..., "
        "conv1_1-conv5_1 (ever larger structures of the painting). Woman with a Hat stands in "
        "for Kandinsky's Composition VII.",
        content="tubingen.jpg",
        style="woman-with-hat-matisse.jpg",
        ratio=1e-3,
        row_labels=tuple(f"α/β = {fmt_ratio(r)}" for r in FIG4_RATIOS),
        col_labels=tuple(layer_range(s) for s in CUMULATIVE_STYLE),
        tiles=tuple(tiles),
    )


def _fig5() -> FigureSpec:
    """Fig. 5: the content matched at conv2_2 vs conv4_2."""
    content, style = "tubingen.jpg", "starry_night.jpg"
    tiles = [
        Tile(0, 0, f"{TITLES[content]}\n(content)", image=content),
        Tile(0, 1, f"{TITLES[style]}\n(style)", image=style),
        *(
            Tile(
                0,
                j,
                f"content at {layer}",
                task="stylize",
                key=f"content-{layer}",
                content_layers=(layer,),
            )
            for j, layer in enumerate(("conv2_2", "conv4_2"), start=2)
        ),
    ]
    return FigureSpec(
        name="gatys2016_fig5",
        title="Gatys et al. 2016, Fig. 5: the content layer",
        shows="Content matched at conv2_2 (the photograph's fine structure kept, the texture laid "
        "over it) vs conv4_2 (photograph and painting merge). alpha/beta = 1e-3; The Starry Night "
        "stands in for the paper's Jesuiten III (Feininger).",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("",),
        col_labels=("", "", "", ""),
        tiles=tuple(tiles),
    )


FIG6_SEEDS = (1, 2, 3, 4)


def _fig6() -> FigureSpec:
    """Fig. 6: the same loss from the content, the style and four noise images."""
    content, style = "tubingen.jpg", "starry_night.jpg"
    tiles = [
        Tile(0, 0, f"{TITLES[content]}\n(content)", image=content),
        Tile(0, 1, f"{TITLES[style]}\n(style)", image=style),
        Tile(0, 2, "init: content", task="stylize", key="init-content", init="content"),
        Tile(0, 3, "init: style", task="stylize", key="init-style", init="style"),
        *(
            Tile(
                1,
                j,
                f"init: noise, seed {s}",
                task="stylize",
                key=f"init-noise-seed{s}",
                init="noise",
                seed=s,
            )
            for j, s in enumerate(FIG6_SEEDS)
        ),
    ]
    return FigureSpec(
        name="gatys2016_fig6",
        title="Gatys et al. 2016, Fig. 6: the initialisation",
        shows="The same loss (alpha/beta = 1e-3) optimised from the content image, from the style "
        "image and from four white-noise images (seeds 1-4): different local optima, the noise "
        "ones alike in quality but different in detail.",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("", "from noise"),
        col_labels=("", "", "", ""),
        tiles=tuple(tiles),
    )


FIGURES: dict[str, FigureSpec] = {
    f.name: f
    for f in (
        _fig1(),
        _fig3(),
        _fig4(),
        _fig5(),
        _fig6(),
        style_losses_figure(TITLES),
        colour_figure(TITLES),
        space_figure(TITLES),
        methods_figure(TITLES),
    )
}


def get_figure(name: str) -> FigureSpec:
    """The figure called ``name``; a ConfigError listing the figures if there is none."""
    if name not in FIGURES:
        raise ConfigError(f"unknown figure {name!r}; choose one of: {', '.join(FIGURES)}, all")
    return FIGURES[name]
