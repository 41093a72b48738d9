"""Web report benchmark: is ``report.render`` cheap enough to run on every cache save?

The web report plugin renders the report each time the neighbour cache is written (at
most once a minute). This writes a neighbour cache of N neighbours (one global address
and one old MAC each, mac_resolv vendors on) with ndpmon's own cache writer, an
alerts.xml of N alerts with ndpmon's own alerts writer, and times ``render`` over them
(best of three, after one run that compiles the stylesheets), printing the time and
the size of each page.

Run: ``python bench/bench_report.py [--neighbors N] [--alerts N]``. Not part of the
test run; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ndpmon.checks.alert import Alert, Priority  # noqa: E402
from ndpmon.formats.alertsxml import AlertsXml  # noqa: E402
from ndpmon.formats.cache import save_cache  # noqa: E402
from ndpmon.commands.report import render  # noqa: E402
from ndpmon.state.neighbors import NeighborCache  # noqa: E402

START = 1_767_225_600.0
CONFIG = os.path.join(os.path.dirname(HERE), "config_ndpmon.xml")


def _mac(i: int) -> bytes:
    return b"\x02\x00" + struct.pack("!I", i)


def _addr(prefix: bytes, i: int) -> bytes:
    return prefix + bytes(8) + struct.pack("!Q", i)[8:]


def write_cache(path: str, count: int) -> None:
    """A cache of ``count`` neighbours written by ndpmon's own writer."""
    cache = NeighborCache(max_neighbors=count + 1)
    for i in range(count):
        now = START + i
        nb = cache.add(_mac(i), b"\xfe\x80" + bytes(6) + struct.pack("!Q", i), now)
        cache.add_address(nb, b"\x20\x01\x0d\xb8\x00\x01" + bytes(2) + struct.pack("!Q", i), now)
        nb.vendor = "Vendor%d" % (i % 50)
        nb.old_macs = (_mac(i + 10_000_000),)
    save_cache(path, {"eth0": cache})


def write_alerts(path: str, count: int) -> None:
    """``count`` alerts appended by ndpmon's own alerts.xml writer."""
    with AlertsXml(path) as log:
        batch = []
        for i in range(count):
            high = i % 3 == 0
            batch.append(Alert(START + i, "eth0", Priority.HIGH if high else Priority.LOW,
                               "wrong prefix" if high else "new station",
                               f"alert number {i}", mac=_mac(i)))
        log.write(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neighbors", type=int, default=10_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache, alerts, out = (os.path.join(tmp, n) for n in ("n.xml", "a.xml", "out"))
        write_cache(cache, args.neighbors)
        write_alerts(alerts, args.alerts)
        render(CONFIG, cache, alerts, out)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            render(CONFIG, cache, alerts, out)
            best = min(best, time.perf_counter() - start)
        sizes = ", ".join(f"{name} {os.path.getsize(os.path.join(out, name)) // 1024} KiB"
                          for name in sorted(os.listdir(out)))
        print(f"{args.neighbors} neighbours ({os.path.getsize(cache) // 1024} KiB), "
              f"{args.alerts} alerts ({os.path.getsize(alerts) // 1024} KiB): "
              f"render {best * 1000:.0f} ms; {sizes}")


if __name__ == "__main__":
    main()
