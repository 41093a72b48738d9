"""A bar chart as an SVG element tree, for the web report's overview (index.html).

Built with lxml elements whose text and attributes lxml escapes, from numbers and from
labels ndpmon wrote (dates, series names): no value of a file is pasted into markup.
The chart is self-contained: no script, no link, no style sheet, no font fetched; the
browser draws it from the page alone. Bars are stacked, the first series at the
bottom, each bar a ``<g>`` whose ``<title>`` is its hover text; a few labelled ticks on
each axis, a legend when there is more than one series.

Its size is fixed (``WIDTH`` x ``HEIGHT`` user units, scaled down by the page's style
on a narrow screen) and its element count is linear in the bars: ``charts`` gives at
most 720, so each bar is at least a pixel wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from lxml import etree

__all__ = ["Series", "bar_chart", "SVG_NS", "PLOT_WIDTH", "PLOT_HEIGHT"]

SVG_NS = "http://www.w3.org/2000/svg"
#: The plot area (user units = CSS pixels at full size) and its margins.
PLOT_WIDTH, PLOT_HEIGHT = 720, 160
LEFT, RIGHT, TOP, BOTTOM = 48, 40, 28, 30
WIDTH, HEIGHT = LEFT + PLOT_WIDTH + RIGHT, TOP + PLOT_HEIGHT + BOTTOM
#: At most this many labelled ticks on the time axis, and on the count axis.
X_TICKS, Y_TICKS = 6, 5
_INK, _GRID = "#444", "#ddd"


@dataclass(frozen=True)
class Series:
    """One kind of count: its name (legend, hover text) and its bar colour."""

    name: str
    colour: str


def _el(parent: etree._Element, tag: str, text: str | None = None,
        **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}",
                               {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def scale(top: int) -> tuple[int, int]:
    """(tick step, axis maximum) for counts up to ``top``: a step of 1, 2 or 5 times a
    power of ten, at most ``Y_TICKS`` steps, the maximum a multiple of it."""
    top = max(top, 1)
    power = 1
    while True:
        for step in (power, 2 * power, 5 * power):
            if -(-top // step) <= Y_TICKS:
                return step, -(-top // step) * step
        power *= 10


def bar_chart(title: str, counts: Sequence[Sequence[int]], series: Sequence[Series],
              labels: Sequence[str], ticks: Sequence[str],
              centred: bool = False) -> etree._Element:
    """An ``<svg>`` of one stacked bar per item of ``counts`` (a count per series),
    ``labels[i]`` naming bar i in its hover text, ``ticks[i]`` on the time axis at its
    left edge (a time), or ``centred`` under it (a day); a few of them.  ``title`` is
    the chart's accessible name."""
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS}, width=str(WIDTH),
                        height=str(HEIGHT), viewBox=f"0 0 {WIDTH} {HEIGHT}", role="img")
    svg.set("aria-label", title)
    svg.set("font-family", "sans-serif")
    svg.set("font-size", "11")
    _el(svg, "title", title)
    step, top = scale(max((sum(c) for c in counts), default=0))
    _count_axis(svg, step, top)
    _bars(svg, counts, series, labels, top)
    _time_axis(svg, ticks, centred)
    if len(series) > 1:
        _legend(svg, series)
    return svg


def _count_axis(svg: etree._Element, step: int, top: int) -> None:
    """Grid lines and labels at 0, step, ..., top."""
    for value in range(0, top + 1, step):
        y = TOP + PLOT_HEIGHT - value * PLOT_HEIGHT / top
        _el(svg, "line", x1=str(LEFT), x2=str(LEFT + PLOT_WIDTH), y1=_num(y), y2=_num(y),
            stroke=_GRID if value else _INK)
        _el(svg, "text", str(value), x=str(LEFT - 6), y=_num(y + 4), text_anchor="end",
            fill=_INK)


def _bars(svg: etree._Element, counts: Sequence[Sequence[int]], series: Sequence[Series],
          labels: Sequence[str], top: int) -> None:
    """One ``<g>`` per non-empty bar: its hover text and a rect per non-zero series."""
    width = PLOT_WIDTH / max(len(counts), 1)
    gap = width * 0.2 if width >= 4 else 0
    for i, values in enumerate(counts):
        if not any(values):
            continue
        group = _el(svg, "g", shape_rendering="crispEdges")
        _el(group, "title", f"{labels[i]}: " + ", ".join(
            f"{value} {s.name}" for value, s in zip(values, series, strict=True)))
        bottom = TOP + PLOT_HEIGHT
        for value, s in zip(values, series, strict=True):
            if value:
                height = value * PLOT_HEIGHT / top
                bottom -= height
                _el(group, "rect", x=_num(LEFT + i * width + gap / 2), y=_num(bottom),
                    width=_num(width - gap), height=_num(height), fill=s.colour)


def _time_axis(svg: etree._Element, ticks: Sequence[str], centred: bool) -> None:
    """At most X_TICKS labelled ticks at evenly spaced bars (edges, or middles if
    ``centred``), the last bar (the newest) among them."""
    width = PLOT_WIDTH / max(len(ticks), 1)
    every = max(1, -(-len(ticks) // X_TICKS))
    base = TOP + PLOT_HEIGHT
    for i in range((len(ticks) - 1) % every, len(ticks), every):
        x = _num(LEFT + (i + 0.5 if centred else i) * width)
        _el(svg, "line", x1=x, x2=x, y1=str(base), y2=str(base + 4), stroke=_INK)
        _el(svg, "text", ticks[i], x=x, y=str(base + 16), text_anchor="middle", fill=_INK)


def _legend(svg: etree._Element, series: Sequence[Series]) -> None:
    """A swatch and a name per series, above the plot."""
    x = LEFT
    for s in series:
        _el(svg, "rect", x=str(x), y="8", width="10", height="10", fill=s.colour)
        _el(svg, "text", s.name, x=str(x + 14), y="17", fill=_INK)
        x += 24 + 7 * len(s.name)
