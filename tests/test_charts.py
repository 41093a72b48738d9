"""The overview's charts (ndpmon.formats.charts, svgchart): the bars they count, the
wider bars of a long span, bad times skipped, hostile text kept out, a bounded size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from lxml import etree

from ndpmon.formats import charts, svgchart

SVG = f"{{{svgchart.SVG_NS}}}"
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
HOUR, DAY = 3600, 86400


def utc(_when: float) -> int:
    return 0


def alerts(*items: tuple[object, object]) -> etree._Element:
    """An <alerts> tree of (time, priority) alerts; None leaves the element out."""
    root = etree.Element("alerts")
    for when, priority in items:
        alert = etree.SubElement(root, "alert")
        etree.SubElement(alert, "message").text = "m"
        if priority is not None:
            etree.SubElement(alert, "priority").text = str(priority)
        if when is not None:
            etree.SubElement(alert, "time").text = str(when)
    return root


def cache(*neighbors: tuple[tuple[object, ...], object]) -> etree._Element:
    """A <neighbors> tree: per neighbour (address firstseen values, lastseen)."""
    root = etree.Element("neighbors")
    probe = etree.SubElement(root, "probe", name="eth0")
    for firsts, last in neighbors:
        nb = etree.SubElement(probe, "neighbor")
        etree.SubElement(nb, "lastseen").text = str(last)
        addresses = etree.SubElement(nb, "addresses")
        for first in firsts:
            etree.SubElement(addresses, "address", firstseen=str(first)).text = "2001:db8::1"
    return root


def bars(chart: etree._Element) -> list[etree._Element]:
    return chart.findall(f"{SVG}svg/{SVG}g")


def heights(bar: etree._Element) -> dict[str, float]:
    return {r.get("fill"): float(r.get("height")) for r in bar.iter(f"{SVG}rect")}


def caption(chart: etree._Element) -> str:
    return chart.findtext("caption") or chart.findtext("empty")


def test_one_alert_is_the_last_of_a_day_of_hourly_bars():
    chart = charts.alert_chart(alerts((T0 + 5 * HOUR + 59, 2)), utc)
    assert caption(chart) == ("1 alert at 2026-01-01 05:00, one bar per hour, stacked by "
                              "priority: 1 high (red, below), 0 low (amber, above).")
    svg = chart.find(f"{SVG}svg")
    assert svg.findtext(f"{SVG}title") == "Alerts per hour by priority"
    (bar,) = bars(chart)
    assert bar.findtext(f"{SVG}title") == "2026-01-01 05:00 to 06:00: 1 high, 0 low"
    assert heights(bar) == {charts.HIGH.colour: svgchart.PLOT_HEIGHT}
    rect = bar.find(f"{SVG}rect")
    width = svgchart.PLOT_WIDTH / charts.MIN_HOURLY_BARS  # the last of 24 bars
    assert float(rect.get("x")) + float(rect.get("width")) == pytest.approx(
        svgchart.LEFT + svgchart.PLOT_WIDTH - width * 0.1)
    assert [[c.text for c in row] for row in chart.iter("row")] == [
        ["2026-01-01 05:00 to 06:00", "1", "0"]]


def test_bars_are_stacked_high_below_and_scaled():
    """10 high in hour 1, 3 low in hour 5: two bars, heights 10:3 of an axis up to 10."""
    items = [(T0 + HOUR + i, 2) for i in range(10)] + [(T0 + 5 * HOUR + i, 1) for i in range(3)]
    chart = charts.alert_chart(alerts(*items), utc)
    first, second = bars(chart)
    assert heights(first) == {charts.HIGH.colour: 160.0}
    assert heights(second) == {charts.LOW.colour: 48.0}
    both = charts.alert_chart(alerts((T0, 2), (T0, 1), (T0, 1)), utc)
    high, low = bars(both)[0].findall(f"{SVG}rect")
    assert (high.get("fill"), low.get("fill")) == (charts.HIGH.colour, charts.LOW.colour)
    assert float(low.get("y")) + float(low.get("height")) == pytest.approx(float(high.get("y")))
    labels = [t.text for t in chart.find(f"{SVG}svg").iterchildren(f"{SVG}text")]
    assert labels[:6] == ["0", "2", "4", "6", "8", "10"]


def test_local_time_is_the_offset_passed_in():
    """An alert at 23:30 UTC is in the 01:00 bar of a zone two hours east (next day)."""
    chart = charts.alert_chart(alerts((T0 - HOUR // 2, 1)), lambda t: 2 * HOUR)
    assert bars(chart)[0].findtext(f"{SVG}title") == "2026-01-01 01:00 to 02:00: 0 high, 1 low"
    days = charts.neighbor_chart(cache(((T0 - HOUR // 2,), 0)), lambda t: 2 * HOUR)
    assert [c.text for c in days.find("row")] == ["2026-01-01", "1"]


@pytest.mark.parametrize("hours, width", [
    (719, HOUR), (720, 2 * HOUR), (3 * 720, 4 * HOUR), (90 * 24 - 6, 3 * HOUR),
    (90 * 24, 4 * HOUR), (400 * 24, DAY), (1000 * 24, 2 * DAY),
    (5000 * 24, 7 * DAY), (6000 * 24, 9 * DAY)])
def test_a_long_span_has_wider_bars(hours, width):
    """At most 720 hourly bars (30 days); past that 2, 3, 4 ... hours, then days."""
    points = [(T0 + h * HOUR, h % 2) for h in range(0, hours + 1, max(1, hours // 2000))]
    points.append((T0 + hours * HOUR, 0))
    bins = charts.bin_times(points, 2, HOUR, charts.MAX_HOURLY_BARS, charts.MIN_HOURLY_BARS)
    assert bins.width == width
    assert len(bins.counts) <= charts.MAX_HOURLY_BARS
    assert sum(map(sum, bins.counts)) == len(points)


def test_months_of_alerts_say_why_the_bars_are_wider():
    items = [(T0 + i * 6 * HOUR, 1 + i % 2) for i in range(4 * 90)]  # 90 days, 4 a day
    chart = charts.alert_chart(alerts(*items), utc)
    assert ("360 alerts from 2026-01-01 00:00 to 2026-03-31 18:00, one bar per 3 hours: "
            "they span 90 days, more than 720 hourly bars") in caption(chart)
    assert len(bars(chart)) == 360
    assert chart.get("heading") == "Alerts per 3 hours"
    assert chart.find(f"{SVG}svg").get("aria-label") == "Alerts per 3 hours by priority"
    assert chart.find("row/cell").text == "2026-01-01 00:00 to 03:00"


def test_a_huge_span_stays_bounded():
    """A time near 1970 and one far in the future: whole-day bars, at most 720."""
    items = [(1, 2), (2**35 - 1, 1)] + [(T0 + i, 2) for i in range(1000)]
    chart = charts.alert_chart(alerts(*items), utc)
    svg = chart.find(f"{SVG}svg")
    assert len(list(svg.iter())) < 100
    bins = charts.bin_times([(1, 0), (2**35 - 1, 0)], 1, HOUR, 720, 24)
    assert bins.width % DAY == 0 and len(bins.counts) <= 720
    assert "more than 720 hourly bars" in caption(chart)


def test_element_count_is_bounded_by_the_bars():
    """An alert in every hour of two years: 720 bars at most, a few elements each."""
    items = [(T0 + h * HOUR, 1 + h % 2) for h in range(2 * 365 * 24)]
    chart = charts.alert_chart(alerts(*items), utc)
    svg = chart.find(f"{SVG}svg")
    assert len(bars(chart)) <= charts.MAX_HOURLY_BARS
    assert len(list(svg.iter())) <= 4 * charts.MAX_HOURLY_BARS + 50
    assert len(chart.findall("row")) <= charts.MAX_HOURLY_BARS
    widths = {float(r.get("width")) for r in svg.iter(f"{SVG}rect") if r.get("y") != "8"}
    assert min(widths) >= 1  # every bar is at least a pixel wide


@pytest.mark.parametrize("bad", ["", "soon", "nan", "inf", "-inf", "-5", "0", "1e300",
                                 str(2**40), None])
def test_bad_or_missing_times_are_skipped_and_said(bad):
    chart = charts.alert_chart(alerts((bad, 2), (T0, 1)), utc)
    assert caption(chart).endswith(" 1 alert without a readable time is not counted.")
    assert "1 alert at 2026-01-01 00:00" in caption(chart)
    only_bad = charts.alert_chart(alerts((bad, 2), (bad, 1)), utc)
    assert caption(only_bad) == ("No alert has a readable time. 2 alerts without a "
                                 "readable time are not counted.")
    assert only_bad.find(f"{SVG}svg") is None


def test_no_alerts_yet():
    chart = charts.alert_chart(alerts(), utc)
    assert [(c.tag, c.text) for c in chart] == [("empty", "No alerts yet.")]
    assert charts.neighbor_chart(cache(), utc).findtext("empty") == "No neighbours yet."


def test_only_the_newest_alerts_are_counted_and_said():
    chart = charts.alert_chart(alerts((T0, 2), (T0 + 1, 2)), utc, total=12345)
    assert "The chart counts the newest 2 of the 12345 alerts." in caption(chart)


def test_neighbours_per_day_of_their_earliest_address():
    """First sight: the earliest address; without one, the last sight (said)."""
    chart = charts.neighbor_chart(cache(
        ((T0 + 3 * DAY, T0 + DAY + 5, "junk"), T0 + 9 * DAY),  # day 1
        ((T0 + DAY,), T0 + DAY),                                # day 1
        ((), T0 + 2 * DAY + 7),                                 # day 2, by its lastseen
        (("junk",), "junk"),                                    # no time at all
    ), utc)
    assert [[c.text for c in row] for row in chart.iter("row")] == [
        ["2026-01-02", "2"], ["2026-01-03", "1"]]
    assert caption(chart) == (
        "3 neighbours first seen from 2026-01-02 to 2026-01-03, one bar per day. A "
        "neighbour's first sight is its earliest address's. 1 neighbour without an "
        "address is counted on the day last seen, the only time the cache keeps of it. "
        "1 neighbour without a readable time is not counted.")
    assert len(bars(chart)) == 2 and len(chart.find(f"{SVG}svg")) > 10
    assert [c.text for c in chart.find("columns")] == ["Day", "Neighbours"]


def test_years_of_neighbours_have_wider_bars():
    chart = charts.neighbor_chart(cache(*[((T0 + i * DAY,), 0) for i in range(0, 800, 3)]),
                                  utc)
    assert ("one bar per 3 days: they span 798 days, more than 366 daily bars"
            in caption(chart))
    assert len(chart.findall("row")) <= charts.MAX_DAILY_BARS
    assert chart.get("heading") == "Neighbours first seen per 3 days"


HOSTILE = '<script>alert(1)</script><svg onload="x()">&amp;</svg>"\'javascript:'


def test_hostile_text_never_reaches_the_svg():
    """Only numbers and dates ndpmon wrote are in the SVG: text of the files, in any
    field, is read as a number or not at all."""
    root = alerts((T0, 2), (HOSTILE, HOSTILE), (f"{T0} {HOSTILE}", 1), (T0 + 1, HOSTILE))
    for alert in root:
        for tag in ("probe", "reason", "ethernet_address1", "ipv6_address"):
            etree.SubElement(alert, tag).text = HOSTILE
    neighbors = cache(((HOSTILE, T0), HOSTILE), ((), HOSTILE))
    for chart in (charts.alert_chart(root, utc, total=3), charts.neighbor_chart(neighbors, utc)):
        svg = chart.find(f"{SVG}svg")
        words = re.compile(r"^[-0-9A-Za-z :,]*$")
        assert all(words.match(t) for t in svg.itertext()), list(svg.itertext())
        values = re.compile(r"^[-#0-9A-Za-z .]*$")
        assert all(values.match(v) for e in svg.iter() for v in e.attrib.values())
        data = etree.tostring(chart, encoding="unicode")
        assert "script" not in data and "onload" not in data and "javascript" not in data


def test_svg_is_in_its_namespace_without_a_prefix():
    """HTML parsers know <svg>, not <svg:svg>: the element is unprefixed, in SVG's
    namespace, and has no script, link or style."""
    chart = charts.alert_chart(alerts((T0, 2)), utc)
    data = etree.tostring(chart.find(f"{SVG}svg"), encoding="unicode")
    assert data.startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
    tags = {etree.QName(e).localname for e in chart.find(f"{SVG}svg").iter()}
    assert tags <= {"svg", "title", "g", "rect", "line", "text"}


@pytest.mark.parametrize("top, step, axis", [(0, 1, 1), (1, 1, 1), (3, 1, 3), (5, 1, 5),
                                             (6, 2, 6), (10, 2, 10), (11, 5, 15),
                                             (99, 20, 100), (12345, 5000, 15000)])
def test_count_axis_scale(top, step, axis):
    assert svgchart.scale(top) == (step, axis)


@pytest.mark.parametrize("module", ["charts", "svgchart"])
def test_chart_modules_read_no_clock(module):
    """Pure: "now", the time zone and the files are the caller's (report.py's)."""
    path = Path(charts.__file__).with_name(f"{module}.py")
    tree = ast.parse(path.read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "math", "dataclasses", "datetime", "typing", "lxml",
                        "ndpmon.formats"}
    called = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not called & {"now", "today", "utcnow", "time", "localtime", "open"}


TRICKY_ALERTS = """<alerts>
  <alert><time>100</time><priority>2</priority><time>999</time></alert>
  <alert><message><time>5</time><alert><time>6</time></alert></message><priority>1</priority></alert>
  <alert><priority> 2 </priority><time> 300 </time><priority>1</priority></alert>
  <other><alert><time>7</time></alert></other>
  <alert/>
  <alert><time/><priority/></alert>
  <alert><time>4<x>5</x>6</time></alert>
</alerts>"""
TRICKY_CACHE = """<neighbors>
  <probe><neighbor><lastseen>50</lastseen><addresses><address firstseen="40"/>
    <address firstseen="30"/><address/></addresses><lastseen>1</lastseen>
    <old><addresses><address firstseen="2"/></addresses></old></neighbor>
    <neighbor><addresses/><x><lastseen>3</lastseen></x><lastseen>60</lastseen>
      <neighbor><lastseen>4</lastseen></neighbor></neighbor>
    <other><neighbor><lastseen>8</lastseen></neighbor></other></probe>
  <neighbor><lastseen>9</lastseen></neighbor>
  <probe><neighbor/><neighbor><addresses><address firstseen="x"/></addresses></neighbor></probe>
</neighbors>"""


def test_one_walk_reads_what_findtext_reads():
    """The single walk over the tree finds the fields ``findtext`` would: direct
    children only, the first of each, nested look-alikes ignored."""
    root = etree.fromstring(TRICKY_ALERTS)
    expected = [(a.findtext("time"), a.findtext("priority")) for a in root.iterfind("alert")]
    assert list(charts._alert_fields(root)) == expected
    assert charts.alert_points(root, utc) == ([(100, 0), (300, 0), (4, 1)], 3)
    cache = etree.fromstring(TRICKY_CACHE)
    expected = [([a.get("firstseen") for a in n.iterfind("addresses/address")],
                 n.findtext("lastseen")) for n in cache.iterfind("probe/neighbor")]
    assert list(charts._neighbor_fields(cache)) == expected
    assert charts.first_seen_points(cache, utc) == ([(30, 0), (60, 0)], 2, 1)
