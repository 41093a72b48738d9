"""ND proxy benchmark: how many NS per second can the plugin decide on and answer?

Three measurements on NS frames already in memory (10k distinct targets in the
prefix, multicast, with a Source Link-Layer option), each the best of five runs:

  scapy NA:   craft.proxy_na per answer (building each NA with scapy);
  template:   ndpmon.proxy.decide.NaBuilder per answer (scapy's frame built once, then the
              addresses and checksum patched into a copy);
  plugin:     the whole per-frame path of the plugin: its ``frame`` hook (prefilter,
              ndpmon.codec.decode, decide, build, remember the SHA-1, hand to a sender that
              drops the frame), i.e. everything but the send system call.

Run: ``.venv/bin/python bench/bench_ndproxy.py``. Not part of the test run; no timing is
asserted anywhere.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ndpmon.capture import craft  # noqa: E402
from ndpmon.config.values import mac  # noqa: E402
from ndpmon.codec.decode import decode  # noqa: E402
from ndpmon.proxy.decide import NaBuilder, decide  # noqa: E402
from ndpmon.proxy.npd6conf import from_params  # noqa: E402
from test_ndproxy import IFACE, GW_MAC, ns  # noqa: E402

N = 10_000


class NullSender:
    def send(self, iface: str, frame: bytes) -> None:
        pass

    def mac(self, iface: str) -> bytes:
        return mac(GW_MAC)


def best(func, *args) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    frames = [ns(f"2001:db8:1::1:{n:x}") for n in range(1, N + 1)]
    settings = from_params({"prefix": "2001:db8:1::/64", "interface": "out0"})
    answers = [decide(decode(f), IFACE, settings, (), 0.0) for f in frames]
    builder = NaBuilder()
    gw = mac(GW_MAC)

    def scapy_all(items):
        for a in items:
            craft.proxy_na(gw, a.src, a.dst, a.target, a.flags, a.tlla, a.hlim, a.eth_dst)

    def template_all(items):
        for a in items:
            builder.build(a, gw)

    from types import SimpleNamespace

    from plugkit import REPO  # noqa: F401  (tests on the path)
    import importlib.util

    spec = importlib.util.spec_from_file_location("ndproxy", REPO / "plugins" / "ndproxy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.NdProxy.__new__(module.NdProxy)
    module.NdProxy.__init__(plugin, {"prefix": "2001:db8:1::/64", "interface": "out0"},
                            SimpleNamespace(plugins=(), probes=(SimpleNamespace(
                                name="out0"),), path=str(REPO / "x.xml")))
    plugin.sender, plugin.ifaces["out0"] = NullSender(), IFACE
    plugin.engine = SimpleNamespace(probes={})

    def plugin_all(items):
        hook = plugin.frame
        for f in items:
            hook("out0", 0.0, f)

    few = answers[:1000]
    rows = [("scapy NA", len(few) / best(scapy_all, few)),
            ("template", N / best(template_all, answers)),
            ("plugin", N / best(plugin_all, frames))]
    print("| path | answers/s | µs per answer |\n|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | {1e6 / rate:.1f} |")


if __name__ == "__main__":
    main()
