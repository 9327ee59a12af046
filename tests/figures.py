"""Checks on what a reader sees of a matplotlib figure (shared by the analysis tests of plots and
reports): nothing cut off at the figure's edge, no two boxes overlapping."""

from __future__ import annotations

from typing import Any


def drawn(fig: Any) -> Any:
    """Draw ``fig`` on an Agg canvas and return its renderer (for extents)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def assert_text_inside(fig: Any) -> None:
    """Everything drawn (tick labels, titles, legends, annotations) lies inside the figure, so
    nothing is cut off when it is saved without a tight bounding box."""
    renderer = drawn(fig)
    box = fig.get_tightbbox(renderer)
    width, height = fig.get_size_inches()
    tolerance = 0.01  # inches
    assert box.x0 >= -tolerance and box.y0 >= -tolerance, box
    assert box.x1 <= width + tolerance and box.y1 <= height + tolerance, (box, width, height)


def overlap(a: Any, b: Any) -> bool:
    """Whether two bounding boxes overlap."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1
