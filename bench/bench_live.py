"""Live benchmark under attack: does ndpmon see rogue RAs hidden in an ND flood?

The measurement of issue 16, as a script. Two throw-away network namespaces joined by a
veth pair (tests/netns.py: ``mon0`` in ``a`` <-> ``peer0`` in ``b``). For each flood rate
(10k, 25k, 50k and 100k frames/s by default) and each ndpmon tree (the start commit, as a
git worktree, and this one, side by side in the same run):

- ``ndpmon`` runs as an admin runs it, pinned to CPU 1 (``taskset -c 1``): alerts on
  stderr (to a file), alerts.xml beside the cache, ``--json-alerts``; the config knows
  one router, so a rogue RA is a ``wrong ipv6 router``;
- two tcpdumps read the same stream, pinned to CPU 0 (the floor: ``-w /dev/null``, all
  ICMPv6, and RAs only);
- a paced sender pinned to CPU 0 (bench/flood_sender.c, built here with ``cc``; without a
  compiler, Python with ``sendmmsg`` through ctypes) sends unsolicited NAs (``--kind ns``:
  NSs), each from a new random MAC and address, for ``--seconds`` (5), with 20 rogue RAs
  spread among them, each from its own MAC;
- once ndpmon has worked off its backlog (its CPU time stops growing), the tcpdumps and
  ndpmon are stopped and counted.

It prints one markdown table per tree: the rate; the rogue RAs ndpmon reported (distinct
MACs of ``wrong ipv6 router`` in the JSON alerts); frames ndpmon read / sent (the exit
summary's frame count); its CPU time (user + system, from the flood's start until the
backlog is worked off) per frame read; kernel drops (per lane where the tree has lanes);
the exit summary's frames/s; and the floor's frames and RAs.

Run as root: ``.venv/bin/python bench/bench_live.py [--rates 10000,100000] [--seconds 5]
[--baseline 554a428] [--kind na|ns]``. Not part of the test run; no timing is asserted
anywhere. Everything it creates (namespaces, worktree, files) is deleted on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from basetree import worktree  # noqa: E402
from netns import MONITOR, PEER, VethPair  # noqa: E402

ROGUE_RAS = 20
CONFIG = """<?xml version="1.0"?>
<config_ndpmon>
  <settings>
    <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
    <admin_mail>root@localhost</admin_mail>
    <ignor_autoconf>0</ignor_autoconf>
    <syslog_facility>LOG_LOCAL1</syslog_facility>
    <use_reverse_hostlookups>0</use_reverse_hostlookups>
  </settings>
  <probes>
    <probe name="mon0" type="interface">
      <routers>
        <router>
          <mac>0:0:5e:0:53:1</mac>
          <lla>fe80::200:5eff:fe00:5301</lla>
          <addresses/>
          <prefixes><prefix><address>2001:db8:1::</address><mask>64</mask></prefix></prefixes>
        </router>
      </routers>
    </probe>
  </probes>
</config_ndpmon>
"""


@dataclass
class Result:
    """One run: what was sent, what ndpmon and the floor saw."""

    rate: int
    sent: int = 0
    send_seconds: float = 0.0
    ras_reported: int = 0
    frames_read: int = 0
    cpu: float = 0.0
    drops: str = ""
    busy_rate: str = ""
    floor_frames: int = 0
    floor_ras: int = 0

    def row(self) -> str:
        read = self.frames_read / self.sent if self.sent else 0.0
        per = self.cpu / self.frames_read * 1e6 if self.frames_read else 0.0
        sender = self.sent / self.send_seconds if self.send_seconds else 0.0
        return (f"| {self.rate // 1000}k/s ({sender / 1000:,.1f}k/s sent) "
                f"| {self.ras_reported}/{ROGUE_RAS} | {read:.0%} ({self.frames_read:,} / "
                f"{self.sent:,}) | {per:,.1f} µs | {self.drops} | {self.busy_rate} "
                f"| {self.floor_frames / self.sent if self.sent else 0:.0%}, "
                f"{self.floor_ras}/{ROGUE_RAS} |")


HEADER = ("| flood rate (sender) | rogue RAs reported | frames ndpmon read / sent "
          "| CPU per frame read | kernel drops | exit summary | tcpdump: frames, RAs |\n"
          "|---|---|---|---|---|---|---|")


# -- the sender ---------------------------------------------------------------------------

def build_sender(folder: str) -> list[str] | None:
    """Compile flood_sender.c; the command to run it, or None without a compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    out = os.path.join(folder, "flood_sender")
    subprocess.run([cc, "-O2", "-o", out, os.path.join(HERE, "flood_sender.c")], check=True)
    return [out]


def python_send(iface: str, rate: int, seconds: float, ras: int, kind: str) -> None:
    """The fallback sender: frames built first (tests/floodgen.py), then sent with
    sendmmsg through ctypes, one batch per millisecond."""
    import ctypes
    import socket

    from floodgen import random_flood

    total = int(rate * seconds)
    frames = random_flood(kind, total, seed=int(time.time()))
    rogue = random_flood("ra", ras, seed=7)
    for k, frame in enumerate(rogue):
        frames[int((k + 0.5) * total / ras)] = frame

    class IoVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_char_p), ("len", ctypes.c_size_t)]

    class MMsgHdr(ctypes.Structure):
        _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                    ("iov", ctypes.POINTER(IoVec)), ("iovlen", ctypes.c_size_t),
                    ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                    ("flags", ctypes.c_int), ("len", ctypes.c_uint)]

    libc = ctypes.CDLL(None, use_errno=True)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.bind((iface, 0))
    per_ms = max(1, rate // 1000)
    started = time.perf_counter()
    for i in range(0, total, per_ms):
        batch = frames[i:i + per_ms]
        iovs = (IoVec * len(batch))(*[IoVec(f, len(f)) for f in batch])
        msgs = (MMsgHdr * len(batch))()
        for j in range(len(batch)):
            msgs[j].iov, msgs[j].iovlen = ctypes.pointer(iovs[j]), 1
        libc.sendmmsg(sock.fileno(), msgs, len(batch), 0)
        ahead = started + (i + per_ms) / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    print(f"sent {total} frames ({ras} RAs) in {time.perf_counter() - started:.3f} s")


def send(pair: VethPair, sender: list[str] | None, rate: int, seconds: float,
         kind: str) -> tuple[int, float]:
    """Run the sender on CPU 0 in namespace b; (frames sent, seconds)."""
    args = [PEER, str(rate), str(seconds), str(ROGUE_RAS), kind]
    cmd = sender + args + [str(time.time_ns() % 1_000_000)] if sender else [
        sys.executable, __file__, "--send", *args]
    done = subprocess.run(["ip", "netns", "exec", pair.ns["b"], "taskset", "-c", "0", *cmd],
                          capture_output=True, text=True, check=True)
    found = re.search(r"sent (\d+) frames \((\d+) RAs\) in ([\d.]+) s", done.stdout)
    assert found, done.stdout + done.stderr
    return int(found[1]), float(found[3])


# -- ndpmon and the floor -----------------------------------------------------------------

def start_ndpmon(pair: VethPair, tree: str, folder: str) -> subprocess.Popen:
    """ndpmon from ``tree`` on CPU 1 with the default outputs, once it is capturing."""
    with open(os.path.join(folder, "config.xml"), "w") as out:
        out.write(CONFIG)
    log = open(os.path.join(folder, "stderr.log"), "w")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", pair.ns["a"], "taskset", "-c", "1", sys.executable, "-m",
         "ndpmon", "-f", "config.xml", "-g", "neighbors.xml", "-i", MONITOR,
         "--json-alerts", "alerts.json"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=log,
        env=dict(os.environ, PYTHONPATH=tree))
    wait_for(lambda: "on mon0" in text(log.name), proc, 60)
    return proc


def start_floor(pair: VethPair, folder: str, name: str, expr: str) -> subprocess.Popen:
    """tcpdump on CPU 0 reading the same stream into /dev/null (LAB-NOTES 10, 16)."""
    path = os.path.join(folder, f"{name}.log")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", pair.ns["a"], "taskset", "-c", "0", "tcpdump", "-i", MONITOR,
         "-Z", "root", "-U", "-B", "32768", "-n", "-w", "/dev/null", expr],
        stdout=subprocess.DEVNULL, stderr=open(path, "w"))
    wait_for(lambda: "listening on" in text(path), proc, 30)
    return proc


def floor_count(proc: subprocess.Popen, folder: str, name: str) -> int:
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    found = re.search(r"(\d+) packets? captured", text(os.path.join(folder, f"{name}.log")))
    return int(found[1]) if found else -1


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (``/proc/PID/stat`` fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, limit: float = 300.0) -> None:
    """Until ndpmon has worked off its backlog: its CPU time stops growing."""
    deadline, last = time.monotonic() + limit, cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < 0.05:
            return
        last = now


def wait_for(ready, proc: subprocess.Popen, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args[:8]}: not ready (exit {proc.poll()})")
        time.sleep(0.05)


def text(path: str) -> str:
    try:
        with open(path, errors="replace") as file:
            return file.read()
    except FileNotFoundError:
        return ""


def read_outcome(result: Result, folder: str) -> None:
    """Frames, drops and throughput from ndpmon's exit log; rogue RAs from its JSON."""
    log = text(os.path.join(folder, "stderr.log"))
    found = re.search(r"live: mon0: (\d+) frames .*?\(([^)]*frames/s[^)]*)\)", log)
    result.frames_read = int(found[1]) if found else 0
    result.busy_rate = found[2] if found else "?"
    found = re.search(r"mon0: \d+ frames passed the kernel filter, (\d+) dropped", log)
    result.drops = f"{int(found[1]):,}" if found else "?"
    macs, lanes = set(), {}
    with open(os.path.join(folder, "alerts.json")) as alerts:
        for line in alerts:
            if '"wrong ipv6 router"' in line:
                macs.add(json.loads(line)["mac"])
            elif '"capture drops"' in line:
                for lane, n in json.loads(line)["fields"].get("lanes", {}).items():
                    lanes[lane] = lanes.get(lane, 0) + n
    result.ras_reported = len(macs)
    if lanes:
        result.drops += " (" + ", ".join(f"{k} {n:,}" for k, n in sorted(lanes.items())) + ")"


def run_one(tree: str, rate: int, seconds: float, kind: str,
            sender: list[str] | None) -> Result:
    """One flood against ndpmon from ``tree``, in fresh namespaces and files."""
    result = Result(rate)
    with tempfile.TemporaryDirectory(prefix="bench_live.") as folder, VethPair() as pair:
        ndpmon = start_ndpmon(pair, tree, folder)
        floors = [start_floor(pair, folder, "all", "icmp6"),
                  start_floor(pair, folder, "ras", "icmp6 and ip6[40] == 134")]
        try:
            before = cpu_seconds(ndpmon.pid)
            result.sent, result.send_seconds = send(pair, sender, rate, seconds, kind)
            wait_idle(ndpmon.pid)
            result.cpu = cpu_seconds(ndpmon.pid) - before
            result.floor_frames = floor_count(floors[0], folder, "all")
            result.floor_ras = floor_count(floors[1], folder, "ras")
        finally:
            for proc in [*floors, ndpmon]:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            ndpmon.wait(300)
        read_outcome(result, folder)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10000,25000,50000,100000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--kind", choices=("na", "ns"), default="na")
    parser.add_argument("--baseline", default="554a428",
                        help="the commit to compare with ('' to measure this tree only)")
    parser.add_argument("--send", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        iface, rate, seconds, ras, kind = args.send
        python_send(iface, int(rate), float(seconds), int(ras), kind)
        return
    if os.geteuid() != 0:
        sys.exit("bench_live.py: needs root (network namespaces, packet sockets)")
    rates = [int(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench_live_cc.") as build, \
            contextlib.ExitStack() as stack:
        sender = build_sender(build)
        trees = {"this tree": ROOT}
        if args.baseline:
            base = stack.enter_context(worktree(args.baseline, "bench_live_base."))
            trees = {args.baseline: base, **trees}
        print(f"{args.kind.upper()} flood for {args.seconds:g} s with {ROGUE_RAS} rogue RAs, "
              f"sender: {'C, sendmmsg' if sender else 'Python, sendmmsg'}", flush=True)
        results: dict[str, list[Result]] = {name: [] for name in trees}
        for rate in rates:  # the trees alternate, so both see the same machine
            for name, tree in trees.items():
                results[name].append(run_one(tree, rate, args.seconds, args.kind, sender))
                print(f"  {name} at {rate:,}/s: {results[name][-1].row()}", flush=True)
        for name, rows in results.items():
            print(f"\n{name}:\n\n{HEADER}")
            print("\n".join(r.row() for r in rows))


if __name__ == "__main__":
    main()
