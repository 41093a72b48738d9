"""The web report (ndpmon report): pages from the original's files and from ours,
hostile input, missing files, the alert order and cap, and the command line."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import lxml.html
import pytest
from conftest import GOLDEN
from lxml import etree

from ndpmon.codec.addr import shorten_addresses
from ndpmon.commands import report
from ndpmon.commands.main import main
from ndpmon.errors import ConfigError, WriteError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "config_ndpmon.xml")
DEMO = str(ROOT / "samples" / "demo.pcap")
needs_golden = pytest.mark.skipif(not GOLDEN.is_dir(), reason=f"no golden outputs at {GOLDEN}")

CACHE = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<neighbors>
  <probe name="eth0" mac="0:0:0:0:0:0">
    <neighbor>
      <mac vendor="{vendor}">0:0:5e:0:53:1</mac>
      <first_mac_seen>0:0:5e:0:53:1</first_mac_seen>
      <lla>fe80::1</lla>
      <lastseen lastseenstr="x">1767225600</lastseen>
      <addresses/>
      <old_macs/>
    </neighbor>
  </probe>
</neighbors>
"""


def alert_xml(time_: int, message: str, priority: int = 2) -> str:
    """One <alert> block as ndpmon.formats.alertsxml writes it."""
    return (f"  <alert>\n    <ethernet_address1>0:0:5e:0:53:1</ethernet_address1>\n"
            f"    <ethernet_address2>0:0:0:0:0:0</ethernet_address2>\n"
            f"    <ipv6_address>fe80::1</ipv6_address>\n    <message>{message}</message>\n"
            f"    <priority>{priority}</priority>\n    <probe>eth0</probe>\n"
            f"    <reason>wrong prefix</reason>\n    <time>{time_}</time>\n"
            f"    <time_str>whenever</time_str>\n  </alert>\n")


def alerts_file(tmp_path: Path, *blocks: str) -> str:
    path = tmp_path / "alerts.xml"
    path.write_text('<?xml version="1.0"?>\n<alerts>\n' + "".join(blocks) + "</alerts>\n")
    return str(path)


def cache_file(tmp_path: Path, vendor: str = "Acme") -> str:
    path = tmp_path / "neighbor_list.xml"
    path.write_text(CACHE.format(vendor=vendor), encoding="iso-8859-1")
    return str(path)


def page(out: Path, name: str) -> etree._Element:
    """The parsed HTML page."""
    return lxml.html.fromstring((out / name).read_bytes())


def text(element: etree._Element) -> str:
    """The words a reader sees in ``element`` (not the style sheet or the script)."""
    words = element.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]")
    return " ".join(" ".join(words).split())


def rows(out: Path, name: str) -> list[etree._Element]:
    return page(out, name).xpath("//tr[@data-row]")


def date(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


@needs_golden
def test_golden_files_of_the_original(tmp_path):
    """The original NDPMon 2.1's config, cache and alerts.xml render with their content."""
    gold = GOLDEN / "monitor"
    out = tmp_path / "web"
    result = report.render(str(gold / "config_ndpmon.xml"), str(gold / "neighbor_list.xml"),
                           str(gold / "alerts.xml"), str(out), now=1795348100)
    assert (result.routers, result.neighbors, result.alerts) == (1, 5, 35)
    assert sorted(os.listdir(out)) == ["alerts.html", "config.html", "index.html",
                                       "neighbors.html"]
    config = text(page(out, "config.html"))
    for shown in ("Probe pcap0", "0:11:22:33:44:55", "fe80::211:22ff:fe33:4455",
                  "2001:db8:1::/64", "192 (L A)", "2592000 s (30 d)", "2001:db8:1::53",
                  "example.com", "2001:db8:2::/48", "Hop limit 64", "MTU 1500"):
        assert shown in config, shown
    neighbors = rows(out, "neighbors.html")
    assert len(neighbors) == 5
    spoofed = next(r for r in neighbors if "0:cc:0:0:0:3" in text(r))
    assert "2001:db8:1::a" in text(spoofed)
    assert "0:aa:0:0:0:1" in text(spoofed) and "0:dd:0:0:0:4 (previous)" in text(spoofed)
    assert date(1795348064) in text(spoofed)
    alerts = rows(out, "alerts.html")
    assert len(alerts) == 35
    assert {r.get("data-priority") for r in alerts} == {"high", "low"}
    index = text(page(out, "index.html"))
    assert "35 alerts: 24 high, 11 low priority" in index


@needs_golden
def test_golden_alerts_newest_first(tmp_path):
    """The original's alerts (all of one second) are shown in the reverse of file order."""
    gold = GOLDEN / "monitor" / "alerts.xml"
    alerts = etree.parse(str(gold)).getroot()
    expected = sorted(enumerate(alerts), key=lambda p: (int(p[1].findtext("time")), p[0]),
                      reverse=True)
    out = tmp_path / "web"
    report.render(str(GOLDEN / "monitor" / "config_ndpmon.xml"),
                  str(GOLDEN / "monitor" / "neighbor_list.xml"), str(gold), str(out))
    shown = [r.xpath("td")[4].text_content() for r in rows(out, "alerts.html")]
    # addresses as the IPv6 column shows them (issue 18 item 8)
    assert shown == [shorten_addresses((a.findtext("message") or "").strip()) or "–"
                     for _, a in expected]


def test_alert_order(tmp_path):
    """Newest first by time; alerts of the same second in the reverse of file order."""
    blocks = [alert_xml(t, m) for t, m in ((1, "a"), (3, "b"), (3, "c"), (2, "d"))]
    out = tmp_path / "w"
    report.render(CONFIG, cache_file(tmp_path), alerts_file(tmp_path, *blocks), str(out))
    assert [text(r.xpath("td")[4]) for r in rows(out, "alerts.html")] == ["c", "b", "d", "a"]


@needs_golden
def test_learned_config_of_the_original_is_refused(tmp_path, capsys):
    """The original's learned config (raw DNSSL bytes) is one line and exit 2."""
    gold = GOLDEN / "learn"
    rc = main(["report", "-f", str(gold / "config_ndpmon.xml"), "-g",
               str(gold / "neighbor_list.xml"), "--out", str(tmp_path / "web")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"ndpmon: {gold / 'config_ndpmon.xml'}:") and err.count("\n") == 1
    assert "not well-formed XML" in err
    assert not (tmp_path / "web").exists()


def test_files_our_ndpmon_writes(tmp_path, capsys):
    """A replay of samples/demo.pcap, then ``ndpmon report`` on what it wrote."""
    cache, alerts, out = tmp_path / "neighbor_list.xml", tmp_path / "alerts.xml", tmp_path / "w"
    assert main(["-q", "-f", CONFIG, "-g", str(cache), "-r", DEMO,
                 "--alerts-xml", str(alerts)]) == 0
    capsys.readouterr()
    rc = main(["report", "-f", CONFIG, "-g", str(cache), "--alerts", str(alerts),
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0
    assert err == (f"ndpmon: wrote {out / 'index.html'} (1 routers, 3 neighbours, "
                   "10 alerts)\n")
    first = rows(out, "alerts.html")[0]
    assert first.get("class") == "low"
    assert text(first).startswith(f"{date(1767225609)} low eth0 malformed ND message")
    wrong_prefix = [r for r in rows(out, "alerts.html") if "wrong prefix 2001:db8:bad:0" in
                    text(r)]
    assert len(wrong_prefix) == 1 and wrong_prefix[0].get("class") == "high"
    neighbors = text(page(out, "neighbors.html"))
    assert "0:0:5e:0:53:66" in neighbors and "0:0:5e:0:53:a (previous)" in neighbors
    assert "2001:db8:1::/64" in text(page(out, "config.html"))


def test_alerts_default_beside_the_cache(tmp_path, capsys):
    """Without --alerts, alerts.xml beside the cache is used."""
    cache = cache_file(tmp_path)
    alerts_file(tmp_path, alert_xml(1767225600, "found beside the cache"))
    assert main(["report", "-f", CONFIG, "-g", cache, "--out", str(tmp_path / "w")]) == 0
    assert "found beside the cache" in text(page(tmp_path / "w", "alerts.html"))


def test_missing_alerts_file_is_a_note(tmp_path):
    """No alerts.xml: the pages are written, the alerts page says why it is empty."""
    out = tmp_path / "w"
    missing = str(tmp_path / "nope.xml")
    result = report.render(CONFIG, cache_file(tmp_path), missing, str(out))
    assert result.alerts == 0
    alerts = page(out, "alerts.html")
    assert alerts.xpath("//tr[@data-row]") == []
    assert f"No alerts file {missing}" in text(alerts)
    assert "0 alerts" in text(alerts)
    assert f"No alerts file {missing}" in text(page(out, "index.html"))


@pytest.mark.parametrize("which", ["-f", "-g"])
def test_missing_config_or_cache(tmp_path, capsys, which):
    """A missing config or cache is one line and exit 2, and nothing is written."""
    args = {"-f": CONFIG, "-g": cache_file(tmp_path)}
    args[which] = str(tmp_path / "missing.xml")
    rc = main(["report", "-f", args["-f"], "-g", args["-g"], "--out", str(tmp_path / "w")])
    assert rc == 2
    assert capsys.readouterr().err == f"ndpmon: {tmp_path / 'missing.xml'}: no such file\n"
    assert not (tmp_path / "w").exists()


def test_files_swapped(tmp_path):
    """A cache given as the config is named as such, with its line."""
    cache = cache_file(tmp_path)
    with pytest.raises(ConfigError, match="the root element is <neighbors>, not "
                                          "<config_ndpmon>"):
        report.render(cache, cache, cache, str(tmp_path / "w"))


def test_out_is_a_file(tmp_path):
    """An output directory that cannot be made is a WriteError naming it."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WriteError, match=f"^{blocker}: cannot create: "):
        report.render(CONFIG, cache_file(tmp_path), "/nonexistent", str(blocker))


def test_out_is_replaced(tmp_path):
    """A second render replaces the pages and leaves no temporary files."""
    out = tmp_path / "w"
    cache = cache_file(tmp_path)
    report.render(CONFIG, cache, alerts_file(tmp_path, alert_xml(1, "first")), str(out))
    report.render(CONFIG, cache, alerts_file(tmp_path, alert_xml(1, "second")), str(out))
    assert "second" in text(page(out, "alerts.html"))
    assert sorted(os.listdir(out)) == ["alerts.html", "config.html", "index.html",
                                       "neighbors.html"]


def test_vendor_is_shown(tmp_path):
    """mac_resolv's vendor attribute is rendered beside the MAC."""
    out = tmp_path / "w"
    report.render(CONFIG, cache_file(tmp_path, vendor="Acme"), "/nonexistent", str(out))
    cells = [text(td) for td in rows(out, "neighbors.html")[0].xpath("td")]
    assert cells[:3] == ["0:0:5e:0:53:1", "Acme", "fe80::1"]
    assert cells[5] == date(1767225600)


def test_hostile_values_are_text(tmp_path):
    """Markup in every field stays text: no element, script or handler gets in."""
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    escaped = evil.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    out = tmp_path / "w"
    report.render(CONFIG, cache_file(tmp_path, vendor=escaped),
                  alerts_file(tmp_path, alert_xml(1, escaped)), str(out))
    for name in ("neighbors.html", "alerts.html"):
        html = page(out, name)
        assert html.xpath("//img") == []
        assert len(html.xpath("//script")) == 1  # the filter, and only it
        assert "alert(1)" not in html.xpath("string(//script)")
        assert evil in text(html)


def test_entities_are_not_expanded(tmp_path):
    """An external entity in the cache is neither fetched nor expanded (XXE)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    cache = tmp_path / "neighbor_list.xml"
    cache.write_text(CACHE.replace('<?xml version="1.0" encoding="ISO-8859-1"?>\n',
                                   f'<?xml version="1.0"?>\n<!DOCTYPE neighbors [\n'
                                   f'<!ENTITY e SYSTEM "file://{secret}">]>\n')
                     .replace("<lla>fe80::1</lla>", "<lla>&e;</lla>"))
    out = tmp_path / "w"
    report.render(CONFIG, str(cache), "/nonexistent", str(out))
    assert b"TOP-SECRET" not in (out / "neighbors.html").read_bytes()


def test_alerts_are_capped_to_the_newest(tmp_path):
    """Past max_alerts only the newest are shown, and the page says how many there are."""
    blocks = [alert_xml(t, f"alert at {t}", 1 + t % 2) for t in (5, 1, 4, 2, 3)]
    out = tmp_path / "w"
    result = report.render(CONFIG, cache_file(tmp_path), alerts_file(tmp_path, *blocks),
                           str(out), max_alerts=2)
    assert result.alerts == 5
    shown = [text(r.xpath("td")[4]) for r in rows(out, "alerts.html")]
    assert shown == ["alert at 5", "alert at 4"]
    assert "The file holds 5; older ones are not shown." in text(page(out, "alerts.html"))
    assert "5 alerts: 3 high, 2 low priority" in text(page(out, "index.html"))


def test_broken_times_are_shown_raw(tmp_path):
    """A time that is not a number sorts last and shows the file's own time string."""
    out = tmp_path / "w"
    report.render(CONFIG, cache_file(tmp_path),
                  alerts_file(tmp_path, alert_xml("junk", "broken"), alert_xml(7, "fine")),
                  str(out))
    first, second = rows(out, "alerts.html")
    assert text(first).startswith(date(7))
    assert text(second).startswith("whenever")


def test_empty_cache_and_alerts_files(tmp_path):
    """Blank cache and alerts files are empty, as for the monitor itself."""
    (tmp_path / "c.xml").write_text("")
    (tmp_path / "a.xml").write_text("\n")
    out = tmp_path / "w"
    result = report.render(CONFIG, str(tmp_path / "c.xml"), str(tmp_path / "a.xml"), str(out))
    assert (result.neighbors, result.alerts) == (0, 0)
    assert "0 neighbours on 0 probes" in text(page(out, "neighbors.html"))


@pytest.mark.parametrize("name", ["config.xsl", "neighbor.xsl", "alerts.xsl", "index.xsl",
                                  "common.xsl"])
def test_xsl_dir_holds_the_packaged_stylesheets(name):
    """xsl/ shows the stylesheets the package uses (links to ndpmon/data)."""
    assert (ROOT / "xsl" / name).read_bytes() == (ROOT / "ndpmon" / "data" / name).read_bytes()
    if name != "common.xsl":
        assert isinstance(report.stylesheet(name), etree.XSLT)


def test_generated_time_in_footer(tmp_path):
    """The footer says when the report was made and in which time zone."""
    out = tmp_path / "w"
    report.render(CONFIG, cache_file(tmp_path), "/nonexistent", str(out), now=1767225600)
    footer = text(page(out, "index.html").xpath("//footer")[0])
    assert footer.startswith(f"Made by ndpmon on {date(1767225600)}; times are the "
                             "monitor's local time (UTC")


# -- the overview's charts (issue 19, item 3) ------------------------------------------

#: Attributes whose value a browser may fetch or run.
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "data", "poster",
                  "background", "ping", "cite", "manifest"}
#: Elements that run or fetch something.
ACTIVE = {"script", "link", "iframe", "frame", "object", "embed", "img", "image", "use",
          "audio", "video", "source", "base", "foreignobject", "feimage"}


def outside_references(root: etree._Element) -> list[str]:
    """What in an HTML page runs a script or fetches anything: script, link, img...
    elements, event handlers, an absolute or javascript: URL, url() or @import in CSS."""
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rpartition("}")[2].lower()
        if tag in ACTIVE or (tag == "meta" and element.get("http-equiv", "").lower()
                             not in ("", "content-type")):
            found.append(f"<{tag}>")
        for name, value in element.attrib.items():
            local = name.rpartition("}")[2].lower()
            absolute = re.match(r"\s*([a-z][-a-z0-9+.]*:|//)", value, re.I)
            if local.startswith("on") or "url(" in value or (local in URL_ATTRIBUTES
                                                              and absolute):
                found.append(f"<{tag} {local}={value!r}>")
        if tag == "style" and re.search(r"url\(|@import", element.text or ""):
            found.append("<style> fetches")
    return found


def charts_report(tmp_path: Path, *blocks: str, **kwargs) -> Path:
    out = tmp_path / "w"
    alerts = alerts_file(tmp_path, *blocks) if blocks else "/nonexistent"
    report.render(CONFIG, cache_file(tmp_path), alerts, str(out), **kwargs)
    return out


def test_overview_has_the_charts_and_no_script(tmp_path):
    """index.html: both charts as inline SVG (unprefixed, in its namespace), their
    captions and numbers as text, and nothing that runs or fetches."""
    out = charts_report(tmp_path, *[alert_xml(1767225600 + i, "x", 2) for i in range(3)],
                        alert_xml(1767225600 + 4 * 3600, "y", 1))
    html = (out / "index.html").read_bytes()
    assert html.count(b'<svg xmlns="http://www.w3.org/2000/svg" ') == 2
    assert b"<svg:" not in html and b"xmlns:svg" not in html
    index = page(out, "index.html")
    assert outside_references(index) == [] == outside_references(page(out, "config.html"))
    assert outside_references(page(out, "alerts.html")) == [  # the filter, not there
        "<form onsubmit='return false'>", "<script>"]
    alerts, neighbors = index.xpath("//section")
    assert [h.text for h in index.xpath("//section/h2")] == ["Alerts per hour",
                                                            "Neighbours first seen per day"]
    assert len(alerts.xpath(".//svg/g/rect")) == 2 and len(neighbors.xpath(".//svg/g")) == 1
    assert text(alerts.xpath(".//figcaption")[0]).startswith(
        f"4 alerts from {date(1767225600)[:16]} to {date(1767225600 + 4 * 3600)[:16]}, one "
        "bar per hour")
    assert [text(r) for r in alerts.xpath(".//tbody/tr")][-1].endswith(" 0 1")
    assert "1 neighbour without an address is counted on the day last seen" in text(neighbors)


def test_overview_without_alerts_says_so(tmp_path):
    """No alerts file, or one without alerts: a note, not an empty chart."""
    for blocks in ((), ("",)):
        out = charts_report(tmp_path, *blocks)
        alerts = page(out, "index.html").xpath("//section[@id='alerts-chart']")[0]
        assert alerts.xpath(".//svg") == []
        assert text(alerts) == "Alerts per hour No alerts yet."


def test_overview_charts_count_the_newest_alerts(tmp_path):
    """Past max_alerts the chart counts the newest alerts, and says so."""
    out = charts_report(tmp_path, *[alert_xml(1767225600 + t, "x", 1) for t in range(5)],
                        max_alerts=2)
    assert "The chart counts the newest 2 of the 5 alerts." in text(page(out, "index.html"))


def test_overview_hostile_values_stay_out(tmp_path):
    """Markup in the alerts' and the cache's fields reaches neither chart nor table."""
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    escaped = evil.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    out = tmp_path / "w"
    block = alert_xml(1767225600, escaped).replace("<priority>2", f"<priority>2{escaped}")
    report.render(CONFIG, cache_file(tmp_path, vendor=escaped),
                  alerts_file(tmp_path, block, alert_xml(escaped, escaped)), str(out))
    index = page(out, "index.html")
    assert outside_references(index) == []
    assert "alert(" not in text(index)
    assert "1 alert without a readable time is not counted" in text(index)


# -- a large alerts.xml (issue 15, item 2) ---------------------------------------------


def big_alerts_file(path: Path, count: int, last: str = "the newest alert") -> int:
    """An alerts.xml of ``count`` alerts (every third one high), the last one's message
    ``last``, written a block at a time; the number of high ones."""
    with path.open("w") as out:
        out.write('<?xml version="1.0"?>\n<alerts>\n')
        for start in range(0, count - 1, 10_000):
            out.write("".join(alert_xml(t, f"alert number {t}", 2 if t % 3 == 0 else 1)
                              for t in range(start, min(start + 10_000, count - 1))))
        out.write(alert_xml(count - 1, last, 2 if (count - 1) % 3 == 0 else 1))
        out.write("</alerts>\n")
    return len(range(0, count, 3))


def peak_rss_kib(argv: list[str]) -> tuple[int, int]:
    """Run ``argv``; (exit status, its peak RSS in KiB, VmHWM polled until it ends)."""
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "ndpmon", *argv], env=env,
                            stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        time.sleep(0.02)
    return proc.wait(), peak


def test_report_memory_does_not_grow_with_the_alerts_file(tmp_path):
    """``ndpmon report`` on an 80 MB alerts.xml (200,000 alerts) parses only its newest
    alerts: its peak RSS stays far below what the whole tree takes (about 850 MiB before
    the fix; about 150 MiB now, with a generous margin), the page shows the last alert
    written and the index counts every alert of the file."""
    high = big_alerts_file(tmp_path / "alerts.xml", 200_000)
    out = tmp_path / "w"
    code, peak = peak_rss_kib(["report", "-f", CONFIG, "-g", cache_file(tmp_path),
                               "--alerts", str(tmp_path / "alerts.xml"), "--out", str(out)])
    assert code == 0
    assert peak < 350 * 1024, f"peak RSS {peak // 1024} MiB"
    assert "the newest alert" in text(page(out, "alerts.html"))
    assert f"200000 alerts: {high} high, {200_000 - high} low priority" in text(
        page(out, "index.html"))


def test_newest_alerts_of_a_large_file_are_its_last_blocks(tmp_path):
    """Of a file larger than the byte budget, read_newest parses only the last ``limit``
    ``<alert>`` blocks, in file order, and counts every alert and every high one of the
    whole file."""
    from ndpmon.formats import alertsread

    high = big_alerts_file(tmp_path / "alerts.xml", 20_000)
    newest = alertsread.read_newest(str(tmp_path / "alerts.xml"), 10, budget=65536)
    assert [a.findtext("time") for a in newest.tree.getroot()] == [
        str(t) for t in range(19_990, 20_000)]
    assert (newest.total, newest.high) == (20_000, high)
    newest = alertsread.read_newest(str(tmp_path / "alerts.xml"), 10_000, budget=65536)
    assert 100 < len(newest.tree.getroot()) < 65536 // 300  # what the budget holds
    assert (newest.total, newest.high) == (20_000, high)


def test_an_alert_larger_than_the_budget_is_counted_not_parsed(tmp_path):
    """A last alert larger than the byte budget is not parsed at all (nothing is shown),
    but it is counted."""
    from ndpmon.formats import alertsread

    big_alerts_file(tmp_path / "alerts.xml", 1000, last="x" * 200_000)
    newest = alertsread.read_newest(str(tmp_path / "alerts.xml"), 10, budget=65536)
    assert len(newest.tree.getroot()) == 0 and newest.total == 1000


@pytest.mark.parametrize("change, message", [
    (lambda s: s.replace("<time>19995</time>", "<time>19995</tme>"),
     "{line}: not well-formed XML: Opening and ending tag mismatch: time line {line} and tme"),
    (lambda s: '<!DOCTYPE alerts [<!ENTITY x "boo">]>\n' + s.replace(
        "<time>19995</time>", "<time>&x;</time>"),
     "{line}: not well-formed XML: Entity 'x' not defined"),
    (lambda s: s.replace("<alerts>", "<neighbors>").replace("</alerts>", "</neighbors>"),
     " the root element is <neighbors>, not <alerts>"),
    (lambda s: s + "<more/>\n", " not an alerts file: does not end with </alerts>"),
])
def test_the_end_of_a_large_file_is_read_safely(tmp_path, change, message):
    """The newest blocks of a large file are parsed as safely as a whole file: a broken
    block is ``file:line:`` with the line in the file, an entity is not expanded, a file
    that is not an alerts file (text after ``</alerts>``) is refused."""
    from ndpmon.formats import alertsread

    big_alerts_file(tmp_path / "a.xml", 20_000)
    text_ = change((tmp_path / "a.xml").read_text())
    (tmp_path / "a.xml").write_text(text_)
    line = next(i for i, ln in enumerate(text_.splitlines(), 1)
                if "19995</tme>" in ln or "&x;" in ln) if "{line}" in message else 0
    with pytest.raises(ConfigError) as err:
        alertsread.read_newest(str(tmp_path / "a.xml"), 10, budget=65536)
    assert str(err.value) == f"{tmp_path / 'a.xml'}:" + message.format(line=line)


def test_a_large_file_cut_by_a_crash_reads_as_it_will_be_repaired(tmp_path):
    """A large alerts.xml cut inside its last alert (kill -9, a full disk) shows every
    complete alert before the cut, as the monitor's repair at its next start keeps them."""
    from ndpmon.formats import alertsread

    big_alerts_file(tmp_path / "a.xml", 20_000)
    text_ = (tmp_path / "a.xml").read_text()
    (tmp_path / "a.xml").write_text(text_[:-60])
    newest = alertsread.read_newest(str(tmp_path / "a.xml"), 10, budget=65536)
    times = [int(a.findtext("time")) for a in newest.tree.getroot()]
    assert times == list(range(19989, 19999)) and newest.total == 19_999
