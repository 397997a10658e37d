"""The labelled grid's text never overlaps: titles, scores under the images, row labels.

Found on the full-size Fig. 6: the scores under the first row's results were drawn over the second
row's titles (the height allowed for text had no margin). Probed over grids shaped like every paper
figure: 1-3 rows, titles of 1-2 lines, 0-2 lines under the images, inputs of different aspects.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nst_research.io.grid import draw_grid


def _boxes(fig):
    """Every drawn text's box on the canvas (titles, x labels, y labels, the suptitle)."""
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()
    texts = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
    return [t.get_window_extent(renderer) for t in texts if t is not None and t.get_text()]


def _overlaps(boxes) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
            if a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1]  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.integers(1, 3),
    cols=st.integers(2, 4),
    title_lines=st.lists(st.integers(1, 2), min_size=12, max_size=12),
    under_lines=st.lists(st.integers(0, 2), min_size=12, max_size=12),
    shapes=st.lists(
        st.sampled_from([(192, 256), (203, 256), (256, 200)]), min_size=12, max_size=12
    ),
)
def test_no_text_overlaps_in_a_grid(tmp_path, rows, cols, title_lines, under_lines, shapes):
    """Each tile its own title lines, lines under it and aspect (as the inputs and results of
    Fig. 6: two-line input titles, scores only under the results)."""
    k = lambda i, j: i * 4 + j  # noqa: E731
    images = [[np.zeros((*shapes[k(i, j)], 3), np.uint8) for j in range(cols)] for i in range(rows)]
    captions = [
        ["\n".join(["tile"] * title_lines[k(i, j)]) for j in range(cols)] for i in range(rows)
    ]
    under = [["\n".join(["style 0.16  content 0.57"] * under_lines[k(i, j)]) for j in range(cols)]
             for i in range(rows)]  # fmt: skip
    seen = []
    draw_grid(images, [tmp_path / "grid.png"], row_labels=["", "from noise", "row"][:rows],
              col_labels=["", "style"], captions=captions, under=under, title="title\nsecond line",
              on_figure=lambda fig: seen.append(_boxes(fig)))  # fmt: skip
    (boxes,) = seen
    assert len(boxes) >= rows * cols  # every title was drawn
    assert _overlaps(boxes) == []
