"""The web report as a person sees it: the pages opened in headless Chromium.

Debian's chromium, started by the test (``--dump-dom`` gives the page after its script
ran, ``--screenshot`` what is on the screen), on the report of a replay of
samples/demo.pcap: the router, its prefix, a neighbour, an alert with its priority
are on screen; the filter, pre-filled from the address's fragment, hides the other
rows; the screenshot holds text and the two priority colours. The overview's charts,
on a report of data of a known shape, are on the screenshot: bars of the right colours,
places and heights.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import lxml.html
import pytest

from ndpmon.commands import report
from ndpmon.commands.main import main
from ndpmon.formats import charts
from needs import need_tool
from test_report import outside_references

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config_ndpmon.xml")
DEMO = str(ROOT / "samples" / "demo.pcap")
TIMEOUT = 120
#: the row colours of common.xsl: high priority red-ish, low amber
HIGH_RGB, LOW_RGB = (0xF8, 0xC8, 0xC8), (0xFF, 0xE7, 0xA8)


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Path:
    """The report of a replay of samples/demo.pcap (10 alerts: 5 high, 5 low)."""
    tmp = tmp_path_factory.mktemp("report")
    cache, alerts = str(tmp / "neighbor_list.xml"), str(tmp / "alerts.xml")
    assert main(["-q", "-f", CONFIG, "-g", cache, "-r", DEMO, "--alerts-xml", alerts]) == 0
    assert main(["report", "-f", CONFIG, "-g", cache, "--alerts", alerts,
                 "--out", str(tmp / "web")]) == 0
    return tmp / "web"


def chromium(tmp_path: Path, url: str, *args: str) -> bytes:
    """Run headless Chromium on ``url`` with ``args``; its stdout.

    Chromium gets its own HOME and profile under ``tmp_path`` and its own process
    group, which is killed when it is done or after TIMEOUT seconds.
    """
    exe = need_tool("chromium")["chromium"]
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "TMPDIR": str(tmp_path), "LANG": "C.UTF-8"}
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--force-device-scale-factor=1",
           f"--user-data-dir={tmp_path / 'profile'}", *args, url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT} s: {url}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # helpers it may have left behind
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out


def dom(tmp_path: Path, web: Path, name: str, fragment: str = "") -> lxml.html.HtmlElement:
    """The page's DOM after its script ran."""
    url = (web / name).as_uri() + (f"#{fragment}" if fragment else "")
    html = chromium(tmp_path, url, "--dump-dom")
    assert html.strip(), f"chromium dumped no DOM for {url}"
    return lxml.html.fromstring(html)


def visible_text(element) -> str:
    """The words on screen: not in scripts or styles, not in hidden elements."""
    words = element.xpath(
        ".//text()[not(ancestor::script) and not(ancestor::style) and"
        " not(ancestor::*[@hidden]) and not(ancestor::*[contains(@style, 'display: none')])]")
    return " ".join(" ".join(words).split())


def shown_rows(page) -> list:
    return [r for r in page.xpath("//tr[@data-row]")
            if "display: none" not in (r.get("style") or "")]


def test_pages_show_routers_neighbours_alerts(tmp_path, web):
    """Each page shows what it is for; the filter's script ran (its counter is filled)."""
    config = visible_text(dom(tmp_path, web, "config.html"))
    assert "Router 0:0:5e:0:53:1 fe80::200:5eff:fe00:5301" in config
    assert "2001:db8:1::/64 192 (L A) 2592000 s (30 d)" in config
    neighbors = dom(tmp_path, web, "neighbors.html")
    assert "0:0:5e:0:53:66" in visible_text(neighbors)
    assert "3 of 3 shown" in visible_text(neighbors)
    alerts = dom(tmp_path, web, "alerts.html")
    text = visible_text(alerts)
    assert "10 of 10 shown" in text
    assert "high eth0 wrong prefix wrong prefix 2001:db8:bad:0" in text
    index = visible_text(dom(tmp_path, web, "index.html"))
    assert "10 alerts: 5 high, 5 low priority" in index


@pytest.mark.parametrize("fragment, shown, count", [
    ("wrong%20prefix", ["wrong prefix 2001:db8:bad:0"], "1 of 10 shown"),
    ("q=new+station&priority=low", ["new station 0:0:5e:0:53:b", "new station 0:0:5e:0:53:a",
                                    "new station 0:0:5e:0:53:1"], "3 of 10 shown"),
    ("priority=high", None, "5 of 10 shown"),
])
def test_filter_from_the_fragment(tmp_path, web, fragment, shown, count):
    """alerts.html#... fills the filter and hides every row that does not match."""
    page = dom(tmp_path, web, "alerts.html", fragment)
    rows = shown_rows(page)
    assert count in visible_text(page)
    assert len(rows) == int(count.split()[0])
    if shown is not None:
        assert [" ".join(r.xpath("td")[4].text_content().split()[:3]) for r in rows] == shown
    else:
        assert {r.get("data-priority") for r in rows} == {"high"}
    hidden = [r for r in page.xpath("//tr[@data-row]") if r not in rows]
    assert all("display: none" in r.get("style") for r in hidden)


def test_screenshot_is_not_blank(tmp_path, web):
    """The alerts page on screen has text and both priority colours."""
    png = tmp_path / "alerts.png"
    chromium(tmp_path, (web / "alerts.html").as_uri(), f"--screenshot={png}",
             "--window-size=1024,768")
    width, height, colours = png_colours(png.read_bytes())
    assert (width, height) == (1024, 768)
    assert HIGH_RGB in colours and LOW_RGB in colours
    assert len(colours) > 50  # text is drawn anti-aliased: many shades


# -- the overview's charts (issue 19, item 3) ------------------------------------------

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC; alerts fall in the first half of an hour
HOUR, DAY = 3600, 86400


def colour(hex_colour: str) -> tuple[int, int, int]:
    return tuple(bytes.fromhex(hex_colour.lstrip("#")))


def known_shape(tmp: Path) -> Path:
    """A report of 10 high alerts in hour 1, 3 low ones in hour 5, and neighbours first
    seen on three days: 1, then 2, then 3."""
    alerts = [(T0 + HOUR + 60 * i, 2) for i in range(10)] + [(T0 + 5 * HOUR + 60 * i, 1)
                                                             for i in range(3)]
    (tmp / "alerts.xml").write_text('<?xml version="1.0"?>\n<alerts>\n' + "".join(
        f"<alert><message>m</message><priority>{p}</priority><probe>eth0</probe>"
        f"<reason>wrong prefix</reason><time>{t}</time></alert>\n" for t, p in alerts)
        + "</alerts>\n")
    firsts = [T0 + 12 * HOUR + day * DAY for day in (0, 1, 1, 2, 2, 2)]
    (tmp / "neighbor_list.xml").write_text('<?xml version="1.0"?>\n<neighbors><probe name="eth0">'
        + "".join(f'<neighbor><mac>0:0:5e:0:53:{i}</mac><lastseen>{t}</lastseen><addresses>'
                  f'<address firstseen="{t}" lastseen="{t}">2001:db8::{i}</address>'
                  f"</addresses></neighbor>" for i, t in enumerate(firsts))
        + "</probe></neighbors>\n")
    out = tmp / "web"
    report.render(CONFIG, str(tmp / "neighbor_list.xml"), str(tmp / "alerts.xml"), str(out),
                  now=T0 + DAY)
    return out


def test_overview_charts_on_screen(tmp_path):
    """The overview's screenshot shows the alert bars (high 10/3 as tall as low, four
    hours to its left) and three neighbour bars of heights 1:2:3, each a solid block of
    its colour; its DOM holds no script and nothing fetched."""
    web = known_shape(tmp_path)
    page = dom(tmp_path, web, "index.html")
    assert outside_references(page) == []
    assert "10 high (red, below), 3 low (amber, above)" in visible_text(page)
    png = tmp_path / "index.png"
    chromium(tmp_path, (web / "index.html").as_uri(), f"--screenshot={png}",
             "--window-size=900,1300")
    (high,), (low,), days = bar_blocks(png.read_bytes(), [
        colour(s.colour) for s in (charts.HIGH, charts.LOW, charts.NEIGHBOR)])
    assert high.height == pytest.approx(low.height * 10 / 3, abs=2)
    assert high.height > 100 and high.width > 10
    assert low.bottom == high.bottom and low.width == high.width
    assert low.left - high.left == pytest.approx(4 * 720 / 24, abs=2)
    assert len(days) == 3 and days[0].bottom > high.bottom
    assert [d.height for d in days] == pytest.approx([days[2].height / 3 * n for n in (1, 2, 3)],
                                                    abs=2)
    assert days[2].height > 100


class Block:
    """A bar on screen: columns ``left..right`` where a colour runs ``height`` pixels
    down to the row ``bottom``."""

    def __init__(self, left: int, height: int, bottom: int) -> None:
        self.left, self.right, self.height, self.bottom = left, left, height, bottom

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    def __repr__(self) -> str:
        return f"Block(x {self.left}-{self.right}, height {self.height}, bottom {self.bottom})"


def bar_blocks(data: bytes, colours: list[tuple[int, int, int]],
               tallest: int = 12) -> list[list[Block]]:
    """Per colour, the bars of that colour on the PNG ``data``: neighbouring columns whose
    longest vertical run of it is over ``tallest`` pixels (a legend swatch is shorter)."""
    width, _, rows = png_rows(data)
    index = {c: i for i, c in enumerate(colours)}
    run = [[0] * width for _ in colours]
    best = [[(0, 0)] * width for _ in colours]  # (height, bottom row) of the longest run
    for y, pixels in enumerate(rows):
        for x, pixel in enumerate(pixels):
            i = index.get(pixel)
            for k in range(len(colours)):
                if k == i:
                    run[k][x] += 1
                    if run[k][x] > best[k][x][0]:
                        best[k][x] = (run[k][x], y)
                elif run[k][x]:
                    run[k][x] = 0
    found: list[list[Block]] = []
    for k in range(len(colours)):
        blocks: list[Block] = []
        for x, (height, bottom) in enumerate(best[k]):
            if height <= tallest:
                continue
            if blocks and blocks[-1].right == x - 1 and blocks[-1].height == height:
                blocks[-1].right = x
            else:
                blocks.append(Block(x, height, bottom))
        found.append(blocks)
    return found


# -- a minimal PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium writes) -----------


def png_colours(data: bytes) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the set of RGB colours of a PNG image."""
    width, height, rows = png_rows(data)
    colours: set[tuple[int, int, int]] = set()
    for pixels in rows:
        colours.update(pixels)
    return width, height, colours


def png_rows(data: bytes):
    """Width, height and the rows of a PNG image, each a list of RGB tuples (a generator:
    one row decoded at a time)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels

    def rows():
        previous = bytearray(stride)
        for y in range(height):
            start = y * (stride + 1)
            line = unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]),
                            previous, channels)
            yield list(zip(line[0::channels], line[1::channels], line[2::channels],
                           strict=True))
            previous = line

    return width, height, rows()


def unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    """Undo one scanline's PNG filter (PNG spec §9.2)."""
    if kind == 0:
        return line
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        else:
            up_left = prev[i - bpp] if i >= bpp else 0
            p = left + prev[i] - up_left
            pa, pb, pc = abs(p - left), abs(p - prev[i]), abs(p - up_left)
            pred = left if pa <= pb and pa <= pc else prev[i] if pb <= pc else up_left
            line[i] = (line[i] + pred) & 0xFF
    return line
