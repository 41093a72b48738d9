"""Learning benchmark: what a flood of RAs during ``ndpmon -L`` costs (issue 15, item 4).

Replays, through the engine in learning mode, RAs shaped like thc-ipv6's flood_router26:
each from a new random router (MAC and link-local address) with ``--prefixes`` random
/64 Prefix Information options. ``--one-router`` sends them all from one router instead,
each RA with new prefixes (what made ``_upsert`` quadratic). ``--rate`` sets how many RAs
a second the capture holds (packet time): a flood is thousands a second; below the RA
flood limit (``<limits ra_rate>``, 10/s) is an attacker who takes their time. Printed:

* total time, and the time per RA over the last 100 RAs (flat when learning is linear);
* routers and prefixes learned, peak RSS of the process;
* the size of the learned routers as the config would hold them (``router_lines``) and
  as the hand-over to root's writer under ``--user`` (``exchange.dumps``), against the
  loader's cap (16 MiB) and the hand-over's (``exchange.MAX_BYTES``).

Run: ``python bench/bench_learn.py [--routers 8000] [--prefixes 45] [--rate 1000]``, or
``--one-router --routers 400``; ``--max-seconds`` stops early (a quadratic run can take
hours); ``--max-learned-routers N`` / ``--max-learned-prefixes N`` set the caps (to see
the cost of learning itself, above the defaults). No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from floodgen import ALL_NODES, ALL_NODES_MAC, frame, station  # noqa: E402
from ndpmon.config import exchange  # noqa: E402
from ndpmon.config.model import Config, Limits, Probe, Settings  # noqa: E402
from ndpmon.config.writeback import router_lines  # noqa: E402
from ndpmon.engine.engine import Engine  # noqa: E402

MAX_CONFIG_BYTES = 16 * 2**20  # ndpmon.config.loader's cap


def ra(mac: bytes, lla: bytes, prefixes: list[bytes]) -> bytes:
    """An RA with a source link-layer option and one /64 PIO per prefix."""
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BB", 1, 1) + mac
    for prefix in prefixes:
        body += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 2592000, 604800, 0) + prefix
    return frame(mac, ALL_NODES_MAC, lla, ALL_NODES, body)


def frames(count: int, prefixes: int, one_router: bool, seed: int = 26) -> list[bytes]:
    rng = random.Random(seed)
    mac, lla, _ = station(rng)
    out = []
    for _ in range(count):
        if not one_router:
            mac, lla, _ = station(rng)
        out.append(ra(mac, lla, [rng.randbytes(8) + bytes(8) for _ in range(prefixes)]))
    return out


def run(ras: list[bytes], rate: float, max_seconds: float,
        caps: dict[str, int]) -> tuple[Engine, int, float, float]:
    """Learn from ``ras``; (engine, RAs handled, total s, s per RA over the last 100)."""
    settings = Settings(limits=Limits(**caps))
    engine = Engine(Config("bench", settings, (Probe("lan0"),)), learning=True)
    times: list[float] = []
    started = time.perf_counter()
    for i, data in enumerate(ras):
        engine.handle("lan0", 1_700_000_000.0 + i / rate, data)
        times.append(time.perf_counter())
        if times[-1] - started > max_seconds:
            break
    total = times[-1] - started
    last = times[-101:] if len(times) > 100 else [started] + times
    return engine, len(times), total, (last[-1] - last[0]) / (len(last) - 1)


def sizes(engine: Engine) -> tuple[int, int]:
    """(bytes of the learned <router> elements, bytes of the hand-over JSON)."""
    routers = engine.learned()
    xml = sum(len("  " * d + text) + 1 for rs in routers.values() for r in rs
              for d, text in router_lines(r))
    return xml, len(exchange.dumps(routers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routers", type=int, default=8000, help="RAs to send")
    parser.add_argument("--prefixes", type=int, default=45, help="prefixes per RA")
    parser.add_argument("--rate", type=float, default=1000.0, help="RAs per second")
    parser.add_argument("--one-router", action="store_true", help="all from one router")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--max-learned-routers", type=int, help="<limits> cap")
    parser.add_argument("--max-learned-prefixes", type=int, help="<limits> cap")
    args = parser.parse_args()
    caps = {f"max_learned_{kind}": value for kind in ("routers", "prefixes")
            if (value := getattr(args, f"max_learned_{kind}")) is not None}
    ras = frames(args.routers, args.prefixes, args.one_router)
    engine, handled, total, per_ra = run(ras, args.rate, args.max_seconds, caps)
    learned = engine.learned()["lan0"]
    xml, handover = sizes(engine)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shape = "one router" if args.one_router else "new routers"
    print(f"{handled} of {len(ras)} RAs ({shape}, {args.prefixes} prefixes each, "
          f"{args.rate:g}/s): {total:.2f} s, {per_ra * 1e3:.3f} ms per RA at the end")
    print(f"learned {len(learned)} routers, {sum(len(r.prefixes) for r in learned)} "
          f"prefixes; peak RSS {peak:.0f} MiB")
    print(f"config <router> text {xml / 2**20:.2f} MiB (loader cap "
          f"{MAX_CONFIG_BYTES / 2**20:.0f} MiB), hand-over {handover / 2**20:.2f} MiB "
          f"(cap {exchange.MAX_BYTES / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
