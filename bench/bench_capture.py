"""Live capture throughput benchmark: how fast does the live path read, and where does it drop?

bench_replay.py measures the engine on frames already in memory; this measures what a
live monitor does on top: frames put on a real (veth) link, filtered by the kernel's BPF
program, queued on the packet socket and read by ``ndpmon.capture.live.LiveCapture``. It
creates throw-away network namespaces (``tests/netns.py``: ``mon0`` in ``a`` <-> ``peer0``
in ``b``), opens the capture on ``mon0`` inside ``a``, and sends pre-built frames (the
struct builders of bench_replay.py) on ``peer0`` from a forked child in ``b``, through a raw
packet socket, as fast as Python can or paced to ``--rate`` frames/s. Sender and reader
run at the same time, on the two cores; the reader stops once the sender is done and the
socket stays empty for 0.5 s. Four runs, each in a fresh interpreter and namespace pair:

  capture:  LiveCapture.read alone;
  pipeline: the live loop body, ``for iface, batch in cap.read(...): pipeline.feed(iface,
            batch)``, with Pipeline(Engine) and no actions;

each for (a) the benign mix (50 hosts) and (b) an NA flood from 100k distinct MACs. It
prints one markdown table row per run: frames sent (and the sender's rate), frames read,
dropped by the kernel (LiveCapture.stats()), lost elsewhere (sent - read - dropped),
frames/s read (from the first frame's arrival to the last one's processing) and the
reader process's peak RSS.

Run as root (namespaces, packet sockets):
``.venv/bin/python bench/bench_capture.py [--frames N] [--rate R]``. Not part of the
test run; no timing is asserted anywhere. Everything it creates is deleted on exit.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "tests")]

from bench_replay import benign, config, flood  # noqa: E402
from netns import MONITOR, PEER, VethPair, run_forked  # noqa: E402

from ndpmon.capture.live import LiveCapture  # noqa: E402
from ndpmon.engine.engine import Engine  # noqa: E402
from ndpmon.run.pipeline import Pipeline  # noqa: E402
from ndpmon.run.session import tune_gc  # noqa: E402

FLOOD_MACS = 100_000
TRAFFIC = {"a": "(a) benign mix, 50 hosts", "b": "(b) NA flood, 100k MACs"}
HEADER = ("| loop | traffic | sent (sender frames/s) | read | kernel drops | lost elsewhere "
          "| read frames/s | peak RSS |\n|---|---|---|---|---|---|---|---|")


def build(kind: str, frames: int) -> list[bytes]:
    """The frames of one traffic kind, from bench_replay's builders."""
    if kind == "a":
        return benign(frames)
    return flood(frames, min(frames, FLOOD_MACS))


def send_all(sock: socket.socket, frames: list[bytes], rate: int) -> None:
    """Send every frame, flat out (``rate`` 0) or in ~1 ms bursts paced to ``rate``/s."""
    send = sock.send
    if not rate:
        for f in frames:
            send(f)
        return
    step = max(1, rate // 1000)
    started = time.perf_counter()
    for i in range(0, len(frames), step):
        for f in frames[i:i + step]:
            send(f)
        ahead = started + (i + step) / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)


def sender(kind: str, frames: int, rate: int) -> tuple[int, float]:
    """In the forked child, in namespace b: build, send on peer0; (sent, seconds)."""
    batch = build(kind, frames)  # built here, so they do not count in the reader's RSS
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
        sock.bind((PEER, 0))
        started = time.perf_counter()
        send_all(sock, batch, rate)
        return len(batch), time.perf_counter() - started


class Sender(threading.Thread):
    """Waits in the background for the forked sender; ``result`` once it is done."""

    def __init__(self, pair: VethPair, kind: str, frames: int, rate: int) -> None:
        super().__init__(daemon=True)
        self.args = (sender, kind, frames, rate)
        self.netns, self.timeout = pair.ns["b"], 120 + (frames / rate if rate else 0)
        self.result: tuple[int, float] | BaseException | None = None

    def run(self) -> None:
        try:
            self.result = run_forked(*self.args, netns=self.netns, timeout=self.timeout)
        except BaseException as exc:  # handed to the reader, which raises it
            self.result = exc


def make_pipeline() -> Pipeline:
    """Pipeline(Engine) with no actions, its probe named after the captured interface."""
    cfg = config(100_000)
    probe = dataclasses.replace(cfg.probes[0], name=MONITOR)
    return Pipeline(Engine(dataclasses.replace(cfg, probes=(probe,))), ())


def read_until_drained(cap: LiveCapture, done: threading.Thread,
                       pipeline: Pipeline | None) -> tuple[int, float]:
    """Read (and feed) until the sender is done and 0.5 s pass with nothing to read.

    Returns (frames read, seconds from the first frame's arrival to the last one's end).
    """
    received, first, last = 0, 0.0, 0.0
    while True:
        finished = not done.is_alive()  # before the read: frames sent later are seen next
        batches = cap.read(0.5)
        if not batches and finished:
            return received, last - first
        for iface, batch in batches:
            if pipeline is not None:
                pipeline.feed(iface, batch)
            first = first or batch[0][0]  # the kernel's receive time of the first frame
            received += len(batch)
        if batches:
            last = time.time()


def measure(loop: str, kind: str, frames: int, rate: int) -> str:
    """One run in this (fresh) process: a markdown table row."""
    tune_gc()  # as ndpmon itself does
    pipeline = make_pipeline() if loop == "pipeline" else None
    with VethPair() as pair:
        with pair.inside("a"):
            cap = LiveCapture([MONITOR])
            cap.open()
        with cap:
            send = Sender(pair, kind, frames, rate)
            send.start()
            received, seconds = read_until_drained(cap, send, pipeline)
            send.join()
            _, dropped = cap.stats()[MONITOR]
    if isinstance(send.result, BaseException):
        raise send.result
    sent, send_seconds = send.result
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return (f"| {loop} | {TRAFFIC[kind]} | {sent:,} ({sent / send_seconds:,.0f}/s) "
            f"| {received:,} | {dropped:,} | {sent - received - dropped:,} "
            f"| {received / seconds if seconds else 0:,.0f} | {rss:,.0f} MiB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=0,
                        help="frames/s the sender aims at (default 0: unlimited)")
    parser.add_argument("--one", nargs=2, metavar=("LOOP", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(measure(*args.one, args.frames, args.rate), flush=True)
        return
    if os.geteuid() != 0:
        sys.exit("bench_capture.py: needs root (network namespaces, packet sockets)")
    rate = f"{args.rate:,} frames/s" if args.rate else "unlimited"
    print(f"{args.frames:,} frames per run, sender rate {rate}\n\n{HEADER}", flush=True)
    for loop in ("capture", "pipeline"):
        for kind in TRAFFIC:  # each run in a fresh interpreter and namespace pair
            subprocess.run([sys.executable, __file__, "--frames", str(args.frames),
                            "--rate", str(args.rate), "--one", loop, kind], check=True)


if __name__ == "__main__":
    main()
