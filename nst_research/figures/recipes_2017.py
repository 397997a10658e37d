"""Figures for Gatys, Ecker, Bethge, Hertzmann & Shechtman (CVPR 2017), "Controlling Perceptual
Factors in Neural Style Transfer": colour control (Fig. 3 of the paper: plain, luminance-only,
histogram-matched) and spatial control (guided Gram matrices, one style per region of a mask).

Same labelled-grid style and settings as the 2016 recipes; the controls are Hydra overrides of
the tiles (``colour=...``, ``masks....``, a style list). Registered in ``recipes.FIGURES``.
"""

from __future__ import annotations

from nst_research.figures.specs import FigureSpec, Tile

SKY_MASK = "builtin:tubingen_sky"  # nst_research/assets/tubingen_sky.png: sky blue, the rest red
SKY, REST = "[0,0,255]", "[255,0,0]"  # label colours of the map, as [r,g,b]


def colour_figure(titles: dict[str, str]) -> FigureSpec:
    """Neckarfront in The Starry Night: plain, luminance only, style colours matched first."""
    content, style = "tubingen.jpg", "starry_night.jpg"
    runs = (
        ("plain", "plain", ()),
        ("luminance only", "keep_luminance", ("colour=keep_luminance",)),
        ("histogram matched", "match_histogram", ("colour=match_histogram",)),
    )
    tiles = [
        Tile(0, 0, f"{titles[content]}\n(content)", image=content),
        Tile(0, 1, f"{titles[style]}\n(style)", image=style),
        *(
            Tile(0, j, label, task="stylize", key=key, init="content", overrides=ov)
            for j, (label, key, ov) in enumerate(runs, start=2)
        ),
    ]
    return FigureSpec(
        name="gatys2017_colour",
        title="Gatys et al. 2017, colour control",
        shows="Neckarfront in The Starry Night (alpha/beta = 1e-3, from the content image): the "
        "plain transfer takes the painting's colours; colour=keep_luminance transfers the style "
        "on luminance only and keeps the photograph's colours exactly (YIQ); "
        "colour=match_histogram first maps the painting's colours to the photograph's mean and "
        "covariance (Cholesky), so the strokes come in the photograph's palette.",
        content=content,
        style=style,
        ratio=1e-3,
        row_labels=("",),
        col_labels=("", "", "", "", ""),
        tiles=tuple(tiles),
    )


def space_figure(titles: dict[str, str]) -> FigureSpec:
    """Neckarfront with a sky mask: a style in the sky only, two styles by region, and a blend."""
    content, a, b = "tubingen.jpg", "starry_night.jpg", "the_scream.jpg"
    mask = (f"masks.content={SKY_MASK}",)
    runs = (
        (f"sky: {titles[a]}\nrest: the photograph", "sky-starry", (a,), (*mask, f"masks.colours=[{SKY}]")),
        (f"sky: {titles[a]}\nrest: {titles[b]}", "sky-starry-rest-scream", (a, b), (*mask, f"masks.colours=[{SKY},{REST}]")),
        (f"sky: {titles[b]}\nrest: {titles[a]}", "sky-scream-rest-starry", (b, a), (*mask, f"masks.colours=[{SKY},{REST}]")),
        ("no mask: both styles\nblended 0.5 / 0.5", "blend-starry-scream", (a, b), ("style_blend=[0.5,0.5]",)),
    )  # fmt: skip
    tiles = [
        Tile(0, 0, f"{titles[content]}\n(content)", image=content),
        Tile(0, 1, "label map\n(sky / rest)", image=SKY_MASK),
        Tile(0, 2, f"{titles[a]}\n(style)", image=a),
        Tile(0, 3, f"{titles[b]}\n(style)", image=b),
        *(
            Tile(1, j, label, task="stylize", key=key, init="content", styles=s, overrides=ov)
            for j, (label, key, s, ov) in enumerate(runs)
        ),
    ]
    return FigureSpec(
        name="gatys2017_space",
        title="Gatys et al. 2017, spatial control",
        shows="Guided Gram matrices: the sky of Neckarfront (a shipped label map) gets one painting "
        "and the rest keeps the photograph or gets another painting; last, both paintings "
        "everywhere, blended 0.5/0.5 (style=[a,b] style_blend=[0.5,0.5]). alpha/beta = 1e-3 per "
        "style, from the content image.",
        content=content,
        style=a,
        ratio=1e-3,
        row_labels=("inputs", "results"),
        col_labels=("", "", "", ""),
        tiles=tuple(tiles),
    )
