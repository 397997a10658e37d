"""The project's comparison of style statistics (``style_losses``): every ``style_loss=`` option
(discovered from the config group) on the same features, optimiser and images."""

from __future__ import annotations

from pathlib import Path

from nst_research.figures.specs import FigureSpec, Tile

MRF_LI_WAND = ("layers.style=[relu3_1,relu4_1]", "style_loss.scale=0.02")
# style_loss= option -> (column label, the tile's overrides). mrf runs on Li & Wand's layers
# (relu3_1, relu4_1): dense patch matching on relu1_1 costs about 20x gram per iteration at 256 px
# (experiments/bench), and those are the paper's layers; its scale is set for them
# (conf/layers/li_wand2016.yaml).
STYLE_LOSS_LABELS = {
    "gram": ("gram\n(Gatys et al.)", ()),
    "mean_std": ("mean_std\n(Li et al.)", ()),
    "mmd": ("mmd, gaussian\n(Li et al.)", ()),
    "wasserstein": ("wasserstein\n(Gaussian W2)", ()),
    "sliced_wasserstein": ("sliced_wasserstein\n(Heitz et al.)", ()),
    "mrf": ("mrf, relu3_1+4_1\n(Li & Wand)", MRF_LI_WAND),
    "remd": ("remd, per layer\n(Kolkin et al.)", ()),
    "histogram": ("histogram\n(Risser et al.)", ()),
}


def style_loss_tiles() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(option, column label, extra overrides) of every ``style_loss=`` option, gram first."""
    from nst_research.configs.compose import group_options

    options = sorted(group_options("style_loss"), key=lambda o: (o != "gram", o))
    return tuple((o, *STYLE_LOSS_LABELS.get(o, (o, ()))) for o in options)


STYLE_LOSS_PAIRS = (
    ("tubingen.jpg", "starry_night.jpg"),
    ("golden_gate.jpg", "the_scream.jpg"),
)


def style_losses_figure(titles: dict[str, str]) -> FigureSpec:
    """Every style_loss= option on the same features, optimiser and images, two pairs."""
    tiles, options = [], style_loss_tiles()
    for i, (content, style) in enumerate(STYLE_LOSS_PAIRS):
        tiles.append(Tile(i, 0, "content", image=content))
        tiles.append(Tile(i, 1, "style", image=style))
        for j, (option, _, extra) in enumerate(options, start=2):
            tiles.append(
                Tile(
                    i,
                    j,
                    "",
                    task="stylize",
                    key=f"{Path(content).stem}-{option}",
                    content=content,
                    style=style,
                    overrides=(f"style_loss={option}", *extra),
                )
            )
    return FigureSpec(
        name="style_losses",
        title=f"What is style? {len(options)} style statistics on the same VGG19 features",
        shows=f"Each style_loss= option ({', '.join(o for o, _, _ in options)}) at its default "
        "weight, with the project's reference settings (relu taps, max "
        "pooling, content init, L-BFGS), on Neckarfront x The Starry Night and Golden Gate x The "
        "Scream; the evaluation scores under each tile.",
        content="tubingen.jpg",
        style="starry_night.jpg",
        ratio=1e-3,
        row_labels=tuple(
            f"{titles.get(c, Path(c).stem)}\n× {titles[s]}" for c, s in STYLE_LOSS_PAIRS
        ),
        col_labels=("", "", *(label for _, label, _ in options)),
        tiles=tuple(tiles),
        settings="reference",
    )
