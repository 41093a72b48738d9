"""Web report benchmark: is ``report.render`` cheap enough to run on every cache save?

The web report plugin renders the report each time the neighbour cache is written (at
most once a minute). This writes a neighbour cache of N neighbours (one global address
and one old MAC each, mac_resolv vendors on) with ndpmon's own cache writer, an
alerts.xml of N alerts with ndpmon's own alerts writer, and times ``render`` over them
(best of three, after one run that compiles the stylesheets), printing the time and
the size of each page.

With ``--alerts-mb MB`` it measures instead what a large alerts.xml (never rotated by
ndpmon) costs: it writes one of about MB megabytes (and a cache of --neighbors), then
runs ``ndpmon report`` on it (its time and peak RSS, VmHWM polled) and, in a fresh
interpreter standing in for the monitor, the webreport plugin's render at exit (its time,
and the RSS of that interpreter before, at its peak and after).

Run: ``python bench/bench_report.py [--neighbors N] [--alerts N] [--alerts-mb MB]``. Not
part of the test run; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
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


def write_big_alerts(path: str, megabytes: int) -> int:
    """An alerts.xml of about ``megabytes`` MB, in batches of 10,000; the alert count."""
    count = 0
    with AlertsXml(path) as log:
        while os.path.getsize(path) < megabytes * 1_000_000:
            log.write(Alert(START + count + i, "eth0", Priority.HIGH if i % 3 else Priority.LOW,
                            "wrong prefix", f"alert number {count + i}: a forged RA from "
                            "a made-up router", mac=_mac(i)) for i in range(10_000))
            count += 10_000
    return count


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of a process; {} once it is gone."""
    try:
        lines = open(f"/proc/{pid}/status").read().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, _, v in (ln.partition(":") for ln in lines)
            if k in ("VmRSS", "VmHWM")}


def measure_command(cache: str, alerts: str, out: str) -> str:
    """``ndpmon report`` on the files: its time and peak RSS."""
    argv = [sys.executable, "-m", "ndpmon", "report", "-f", CONFIG, "-g", cache,
            "--alerts", alerts, "--out", out]
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _status(proc.pid).get("VmHWM", 0))
        time.sleep(0.02)
    took = time.perf_counter() - started
    last = proc.stderr.read().strip().splitlines()[-1:]
    return f"ndpmon report: {took:.1f} s, peak RSS {peak // 1024} MiB; {last}"


def plugin_render(cache: str, alerts: str, out: str) -> None:
    """(In a fresh interpreter) the webreport plugin's render at exit, as the monitor does."""
    from ndpmon.config.loader import load

    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "plugins"))
    import webreport

    plugin = webreport.Plugin({"out": out, "alerts": alerts}, load(CONFIG))
    plugin.stop()  # the save at exit: rendered at once, in this thread
    before = _status(os.getpid())["VmRSS"]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    started = time.perf_counter()
    plugin.cache_saved(cache)
    took = time.perf_counter() - started
    now = _status(os.getpid())
    print(f"webreport plugin, render at exit: {took:.1f} s; the monitor's RSS "
          f"{before // 1024} MiB before, {now['VmHWM'] // 1024} MiB at the peak, "
          f"{now['VmRSS'] // 1024} MiB after; pages written: {sorted(os.listdir(out))}")


def big(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache, alerts, out = (os.path.join(tmp, n) for n in ("n.xml", "a.xml", "out"))
        write_cache(cache, args.neighbors)
        count = write_big_alerts(alerts, args.alerts_mb)
        print(f"alerts.xml {os.path.getsize(alerts) / 1e6:.0f} MB ({count} alerts), "
              f"{args.neighbors} neighbours")
        print(measure_command(cache, alerts, out))
        subprocess.run([sys.executable, __file__, "--plugin-render", cache, alerts,
                        os.path.join(tmp, "web")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neighbors", type=int, default=10_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--alerts-mb", type=int, help="measure a large alerts.xml instead")
    parser.add_argument("--plugin-render", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plugin_render:
        plugin_render(*args.plugin_render)
        return
    if args.alerts_mb:
        big(args)
        return
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
