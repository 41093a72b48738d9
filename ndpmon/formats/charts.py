"""The charts of the web report's overview: alerts per hour by priority, and neighbours
first seen per day, counted from the trees of alerts.xml and neighbor_list.xml.

``ndpmon report`` puts them on index.html as inline SVG (drawn by
:mod:`ndpmon.formats.svgchart`) with a text alternative, so the page needs no script
and fetches nothing. This module only counts: each value is read as a number (a value
that is not a time is counted as skipped, never shown), each time is put on the local
wall clock by the ``offset`` function passed in (seconds east of UTC at that time: the
module reads no clock and no time zone), and the times fall into bars of one hour (one
day for neighbours), or wider ones when the data spans more than ``MAX_HOURLY_BARS``
hours (``MAX_DAILY_BARS`` days); on the night clocks go back, the repeated hour is one
bar. One pass over the values, and a bounded number of bars,
whatever the files hold.

The result is a small ``<chart>`` element for index.xsl: a heading, a caption saying
what the bars are, the SVG, and the same numbers as table rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, Sequence

from lxml import etree

from ndpmon.formats import svgchart

__all__ = ["Bins", "Offset", "alert_chart", "neighbor_chart", "bin_times", "alert_points",
           "first_seen_points", "MAX_HOURLY_BARS", "MAX_DAILY_BARS", "HIGH", "LOW",
           "NEIGHBOR"]

#: Seconds east of UTC of the local time at an epoch time (``time.localtime(t).tm_gmtoff``).
Offset = Callable[[float], int]

HOUR, DAY = 3600, 86400
#: The most bars a chart has: hourly bars for 30 days, daily ones for a year.
MAX_HOURLY_BARS, MAX_DAILY_BARS = 720, 366
#: The fewest bars shown (earlier empty ones are added): a day of hours, two weeks of days.
MIN_HOURLY_BARS, MIN_DAILY_BARS = 24, 14
#: The widths tried, in multiples of the base width, before a whole number of days.
_HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168)
_DAY_STEPS = (1, 2, 3, 7, 14, 28)
#: Times ndpmon can show: after 1970, before the year 4000 (a hostile 1e300 is skipped).
_MAX_TIME = 2**35

#: The series: (name, bar colour). Strong colours, unlike the pages' pale row colours.
HIGH = svgchart.Series("high", "#c62828")
LOW = svgchart.Series("low", "#f0a30a")
NEIGHBOR = svgchart.Series("neighbours", "#2f6fb0")


@dataclass(frozen=True)
class Bins:
    """Counts per bar and series: bar ``i`` covers the wall-clock seconds
    ``[start + i * width, start + (i + 1) * width)`` (local time written as UTC)."""

    start: int
    width: int
    counts: tuple[tuple[int, ...], ...]
    first: int  # the wall-clock times of the first and last value counted
    last: int

    def label(self, i: int) -> str:
        """What bar ``i`` covers: ``2026-01-01 10:00 to 11:00``, ``2026-01-01``."""
        return span_text(self.start + i * self.width, self.width)


# -- reading the trees --------------------------------------------------------


def epoch(text: str | None) -> float | None:
    """An epoch time in a file, or None if it is not one ndpmon can show."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if 0 < value < _MAX_TIME else None  # also False for NaN


def _wall(value: float, offset: Offset) -> int:
    return int(value) + int(offset(value))


def alert_points(root: etree._Element, offset: Offset) -> tuple[list[tuple[int, int]], int]:
    """((wall-clock time, 0 for high or 1 for low) of each ``<alert>`` of ``root``, the
    number of alerts without a usable ``<time>``).  Priority 2 is high, anything else
    low, as the overview counts them."""
    points, skipped = [], 0
    for when, priority in _alert_fields(root):
        value = epoch(when)
        if value is None:
            skipped += 1
        else:
            points.append((_wall(value, offset), int((priority or "").strip() != "2")))
    return points, skipped


def _alert_fields(root: etree._Element) -> Iterator[tuple[str | None, str | None]]:
    """The text of the first ``<time>`` and ``<priority>`` of each ``<alert>`` child of
    ``root`` (None: missing), as ``findtext`` gives them, in one walk of the tree (a
    ``findtext`` per field takes ten times longer)."""
    alert, fields = None, [None, None]
    for element in root.iter("alert", "time", "priority"):
        parent = element.getparent()
        if element.tag == "alert":
            if parent is root:
                if alert is not None:
                    yield fields[0], fields[1]
                alert, fields = element, [None, None]
        elif alert is not None and parent is alert:
            i = 0 if element.tag == "time" else 1
            if fields[i] is None:
                fields[i] = element.text or ""
    if alert is not None:
        yield fields[0], fields[1]


def first_seen_points(root: etree._Element,
                      offset: Offset) -> tuple[list[tuple[int, int]], int, int]:
    """((wall-clock time, 0) of each neighbour of the cache ``root``, the number of
    neighbours without a usable time, the number counted at their last sight).

    A neighbour's first sight is its earliest address's ``firstseen``; the cache keeps
    no other first-seen time, so one without an address (a router, a host seen only by
    its link-local address) is counted at its ``<lastseen>``, the only time it has."""
    points, skipped, at_last = [], 0, 0
    for firsts, lastseen in _neighbor_fields(root):
        known = [t for t in map(epoch, firsts) if t is not None]
        if not known:
            last = epoch(lastseen)
            if last is None:
                skipped += 1
                continue
            known, at_last = [last], at_last + 1
        points.append((_wall(min(known), offset), 0))
    return points, skipped, at_last


def _neighbor_fields(root: etree._Element) -> Iterator[tuple[list[str | None], str | None]]:
    """(the ``firstseen`` of each ``addresses/address``, the text of the first
    ``lastseen``) of each ``probe/neighbor`` of ``root``, in one walk of the tree."""
    neighbor, firsts, last = None, [], None
    for element in root.iter("neighbor", "address", "lastseen"):
        parent = element.getparent()
        if element.tag == "neighbor":
            if parent is not None and parent.tag == "probe" and parent.getparent() is root:
                if neighbor is not None:
                    yield firsts, last
                neighbor, firsts, last = element, [], None
        elif neighbor is None:
            continue
        elif element.tag == "address":
            if parent.tag == "addresses" and parent.getparent() is neighbor:
                firsts.append(element.get("firstseen"))
        elif parent is neighbor and last is None:
            last = element.text or ""
    if neighbor is not None:
        yield firsts, last


# -- binning ------------------------------------------------------------------


def _width(first: int, last: int, base: int, max_bars: int) -> int:
    """The narrowest bar width (a listed multiple of ``base``, else whole days) that
    covers ``first`` to ``last`` in at most ``max_bars`` bars."""
    steps = _HOUR_STEPS if base == HOUR else _DAY_STEPS
    for step in steps:
        width = base * step
        if last // width - first // width < max_bars:
            return width
    days = math.ceil((last - first) / (DAY * (max_bars - 2)))
    return DAY * max(days, steps[-1] * base // DAY)


def bin_times(points: Sequence[tuple[int, int]], series: int, base: int, max_bars: int,
              min_bars: int) -> Bins | None:
    """The (wall-clock time, series) ``points`` counted in bars ``base`` seconds wide,
    or wider so that there are at most ``max_bars``; at least ``min_bars`` bars, empty
    ones added before the first.  None without points."""
    if not points:
        return None
    first = min(t for t, _ in points)
    last = max(t for t, _ in points)
    width = _width(first, last, base, max_bars)
    end = last // width
    begin = min(first // width, end - min_bars + 1)
    counts = [[0] * series for _ in range(end - begin + 1)]
    for t, s in points:
        counts[t // width - begin][s] += 1
    return Bins(begin * width, width, tuple(map(tuple, counts)), first, last)


# -- words --------------------------------------------------------------------


def _clock(wall: int, fmt: str) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).strftime(fmt)


def span_text(start: int, width: int) -> str:
    """``2026-01-01 10:00 to 11:00``, ``2026-01-01 00:00 to 06:00``, ``2026-01-01``,
    ``2026-01-01 to 2026-01-07``: the wall-clock seconds ``[start, start + width)``."""
    if width < DAY:
        return f"{_clock(start, '%Y-%m-%d %H:%M')} to {_clock(start + width, '%H:%M')}"
    if width == DAY:
        return _clock(start, "%Y-%m-%d")
    return f"{_clock(start, '%Y-%m-%d')} to {_clock(start + width - DAY, '%Y-%m-%d')}"


def duration(seconds: int) -> str:
    """``hour``, ``6 hours``, ``day``, ``14 days`` (after "per")."""
    number, unit = (seconds // DAY, "day") if seconds >= DAY else (seconds // HOUR, "hour")
    return unit if number == 1 else f"{number} {unit}s"


def _between(bins: Bins, fmt: str) -> str:
    """``from 2026-01-01 to 2026-01-03``, or ``on 2026-01-01`` (``at`` a time)."""
    first, last = _clock(bins.first, fmt), _clock(bins.last, fmt)
    if first == last:
        return f"{'at' if ':' in first else 'on'} {first}"
    return f"from {first} to {last}"


def plural(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _bars_text(bins: Bins, base: int, max_bars: int) -> str:
    """``one bar per hour``, or why the bars are wider."""
    if bins.width == base:
        return f"one bar per {duration(base)}"
    unit = "hourly" if base == HOUR else "daily"
    return (f"one bar per {duration(bins.width)}: they span "
            f"{plural(max(1, math.ceil((bins.last - bins.first) / DAY)), 'day')}, more than "
            f"{max_bars} {unit} bars")


def _skipped_text(skipped: int, what: str) -> str:
    if not skipped:
        return ""
    return (f" {plural(skipped, what)} without a readable time "
            f"{'is' if skipped == 1 else 'are'} not counted.")


# -- the charts -----------------------------------------------------------------


def alert_chart(root: etree._Element, offset: Offset, total: int | None = None) -> etree._Element:
    """The ``<chart>`` of the alerts of ``root`` per hour by priority.  ``total``: the
    alerts of the file, when ``root`` holds only its newest."""
    points, skipped = alert_points(root, offset)
    chart = etree.Element("chart", id="alerts-chart", heading="Alerts per hour")
    bins = bin_times(points, 2, HOUR, MAX_HOURLY_BARS, MIN_HOURLY_BARS)
    shown = len(points) + skipped
    more = (f" The chart counts the newest {shown} of the {total} alerts."
            if total and total > shown else "")
    if bins is None:
        text = "No alerts yet." if not skipped else "No alert has a readable time."
        etree.SubElement(chart, "empty").text = text + more + _skipped_text(skipped, "alert")
        return chart
    high = sum(c[0] for c in bins.counts)
    caption = (f"{plural(len(points), 'alert')} {_between(bins, '%Y-%m-%d %H:%M')}, "
               f"{_bars_text(bins, HOUR, MAX_HOURLY_BARS)}, stacked by priority: "
               f"{high} high (red, below), {len(points) - high} low (amber, above)."
               + more + _skipped_text(skipped, "alert"))
    chart.set("heading", f"Alerts per {duration(bins.width)}")
    _fill(chart, caption, bins, (HIGH, LOW), f"Alerts per {duration(bins.width)} by priority")
    return chart


def neighbor_chart(root: etree._Element, offset: Offset) -> etree._Element:
    """The ``<chart>`` of the neighbours of the cache ``root`` by the day first seen."""
    points, skipped, at_last = first_seen_points(root, offset)
    chart = etree.Element("chart", id="neighbors-chart", heading="Neighbours first seen per day")
    bins = bin_times(points, 1, DAY, MAX_DAILY_BARS, MIN_DAILY_BARS)
    if bins is None:
        text = "No neighbours yet." if not skipped else "No neighbour has a readable time."
        etree.SubElement(chart, "empty").text = text + _skipped_text(skipped, "neighbour")
        return chart
    listed = (f" {plural(at_last, 'neighbour')} without an address "
              f"{'is' if at_last == 1 else 'are'} counted on the day last seen, the only "
              f"time the cache keeps of {'it' if at_last == 1 else 'them'}." if at_last else "")
    caption = (f"{plural(len(points), 'neighbour')} first seen "
               f"{_between(bins, '%Y-%m-%d')}, {_bars_text(bins, DAY, MAX_DAILY_BARS)}. "
               f"A neighbour's first sight is its earliest address's." + listed
               + _skipped_text(skipped, "neighbour"))
    chart.set("heading", f"Neighbours first seen per {duration(bins.width)}")
    _fill(chart, caption, bins, (NEIGHBOR,), chart.get("heading"))
    return chart


def _fill(chart: etree._Element, caption: str, bins: Bins,
          series: tuple[svgchart.Series, ...], title: str) -> None:
    """The caption, the SVG and the table of the non-empty bars."""
    etree.SubElement(chart, "caption").text = caption
    labels = [bins.label(i) for i in range(len(bins.counts))]
    ticks = [_clock(bins.start + i * bins.width,
                    "%m-%d %H:%M" if bins.width < DAY else "%Y-%m-%d")
             for i in range(len(bins.counts))]
    chart.append(svgchart.bar_chart(title, bins.counts, series, labels, ticks,
                                    centred=bins.width >= DAY))
    _table(chart, bins.counts, series, labels)


def _table(chart: etree._Element, counts: Iterable[tuple[int, ...]],
           series: tuple[svgchart.Series, ...], labels: list[str]) -> None:
    columns = etree.SubElement(chart, "columns")
    for name in ("Time" if len(series) > 1 else "Day", *(s.name for s in series)):
        etree.SubElement(columns, "column").text = name.capitalize()
    for label, values in zip(labels, counts, strict=True):
        if any(values):
            row = etree.SubElement(chart, "row")
            etree.SubElement(row, "cell").text = label
            for value in values:
                etree.SubElement(row, "cell").text = str(value)
