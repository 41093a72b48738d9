"""A full neighbour cache costs bounded time in the live loop and bounded memory (issue 15,
item 5).

Before, each save built the whole file as one string in the capture loop (a full cache:
320 MB, 15 s without reading a frame, 1.4 GB at the peak) and a restart built the whole
lxml tree (3.5 GB) before the caps applied. Now the loop takes a snapshot and a writer
thread streams it to the file (ndpmon.run.cachesave); the load is incremental and stops
at the caps (ndpmon.formats.cache). No timing is asserted: the loop is shown to read
frames while a save is being written, and peak RSS stays under generous bounds.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from conftest import generator, make_config

from ndpmon.engine.engine import Engine
from ndpmon.engine.plugin import Plugin
from ndpmon.formats.cache import load_cache, save_cache
from ndpmon.run import session
from ndpmon.run.options import RunOptions
from ndpmon.state.neighbors import NeighborCache

ROOT = Path(__file__).resolve().parents[1]
gen = generator()


class SteppedCapture:
    """A fake live capture on ``lan0``: one NA per read. It counts the reads made while
    ``saving`` is set and ``written`` is not (the cache's fsync is held), sets
    ``enough`` after three, and stops the loop (SIGTERM) a few reads after ``written``,
    or after 500 reads."""

    ports = ("lan0",)

    def __init__(self, saving: threading.Event, written: threading.Event,
                 enough: threading.Event) -> None:
        self.saving, self.written, self.enough = saving, written, enough
        self.reads = self.during = self.after = 0

    def read(self, timeout: float):
        self.reads += 1
        if self.saving.is_set() and not self.written.is_set():
            self.during += 1
            if self.during >= 3:
                self.enough.set()
        if self.written.is_set():
            self.after += 1
        if self.after == 3 or self.reads == 500:
            os.kill(os.getpid(), signal.SIGTERM)
        self.written.wait(0.01)
        return [("lan0", [(float(self.reads), gen.na(self.reads % 50, gen.lla(self.reads % 50),
                                                    gen.lla(self.reads % 50), O=1))])]

    def wake(self) -> None:
        pass

    def drops_since_last(self) -> dict:
        return {}

    def stats(self) -> dict:
        return {}

    def close(self) -> None:
        pass


def test_the_live_loop_reads_frames_while_the_cache_is_written(tmp_path, monkeypatch):
    """While the cache save of the live loop is being written (its fsync held until the
    loop has read three more frames, or 5 s), the loop goes on reading and checking
    frames; the cache is whole afterwards. Before, the save ran in the loop: no frame
    was read until it was done."""
    saving, written, enough = threading.Event(), threading.Event(), threading.Event()
    real_fsync = os.fsync

    def held_fsync(fd: int) -> None:  # the first fsync: the cache's temporary file
        if not saving.is_set():
            saving.set()
            enough.wait(5)
            written.set()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", held_fsync)
    engine = Engine(make_config({"routers": [gen.ROUTER1]}))
    capture = SteppedCapture(saving, written, enough)
    options = RunOptions(cache=str(tmp_path / "cache.xml"), no_alerts_xml=True, quiet=True)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT,
                                                 signal.SIGHUP, signal.SIGUSR1)}
    try:
        session.live(engine, options, capture, reload_config=None)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert capture.during >= 3, f"{capture.during} frames read while the cache was written"
    caches = {"lan0": NeighborCache()}
    load_cache(options.cache, caches)
    assert len(caches["lan0"]) == len(engine.probes["lan0"].neighbors) > 0


def full_engine(neighbors: int, addresses: int = 1) -> Engine:
    """An engine whose cache holds ``neighbors`` neighbours of ``addresses`` each."""
    engine = Engine(make_config({"routers": [gen.ROUTER1], "limits": {
        "max_neighbors": neighbors + 10, "max_addresses": addresses}}))
    cache = engine.probes["lan0"].neighbors
    for i in range(neighbors):
        nb = cache.add(b"\x02" + i.to_bytes(5, "big"), b"\xfe\x80" + bytes(6) +
                       i.to_bytes(8, "big"), 1_790_000_000 + i)
        for j in range(addresses):
            cache.add_address(nb, b"\x20\x01\x0d\xb8" + bytes(4) + (i * addresses + j)
                              .to_bytes(8, "big"), 1_790_000_000 + i)
    return engine


class SlowWriter:
    """A fake ``write`` for CacheSaver: records each snapshot's neighbour count, and
    blocks the first write (honouring ``stop`` as the real writer does) until
    ``release`` is set."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.written: list[int] = []
        self.cancelled = 0

    def __call__(self, path, snap, stop=None) -> None:
        from ndpmon.formats.cache import SaveCancelled

        if not self.started.is_set():
            self.started.set()
            while not self.release.wait(0.01):
                if stop is not None and stop():
                    self.cancelled += 1
                    raise SaveCancelled()
        self.written.append(len(snap[0][3]))


def test_a_save_waits_for_the_one_being_written_and_the_exit_save_cancels_it(tmp_path):
    """Saves asked while one is written wait (only the newest snapshot); the save at exit
    cancels the one being written and writes the current state itself, at once."""
    from ndpmon.run.cachesave import CacheSaver

    engine = full_engine(3)
    writer = SlowWriter()
    saver = CacheSaver(engine, str(tmp_path / "cache.xml"), write=writer)
    saver.save_in_background()
    assert writer.started.wait(10)
    cache = engine.probes["lan0"].neighbors
    cache.add(b"\x02\xff\x00\x00\x00\x01", b"\xfe\x80" + bytes(14), 1.0)
    saver.save_in_background()  # waits behind the first
    cache.add(b"\x02\xff\x00\x00\x00\x02", b"\xfe\x80" + bytes(14), 1.0)
    saver.save()
    assert (writer.cancelled, writer.written) == (1, [5])


def test_the_hooks_run_around_the_background_save(tmp_path):
    """``on_cache_save`` runs in the capture thread before the snapshot (what it changes
    is saved); ``cache_saved`` runs once the file is replaced, in the writer thread."""
    seen = {}

    class Hooks(Plugin):
        def __init__(self) -> None:
            super().__init__({}, None)
            self.name = "hooks"

        def on_cache_save(self, engine) -> None:
            seen["on_cache_save"] = threading.current_thread()
            engine.probes["lan0"].neighbors.add(b"\x02\xee\x00\x00\x00\x01",
                                                b"\xfe\x80" + bytes(14), 1.0)

        def cache_saved(self, path: str) -> None:
            seen["cache_saved"] = threading.current_thread()
            seen["text"] = Path(path).read_text(encoding="iso-8859-1")

    from ndpmon.run.cachesave import CacheSaver

    engine = full_engine(2)
    engine.plugins.append(Hooks())
    saver = CacheSaver(engine, str(tmp_path / "cache.xml"))
    saver.save_in_background()
    saver._worker.join(30)
    assert seen["on_cache_save"] is threading.current_thread()
    assert seen["cache_saved"] is not threading.current_thread()
    assert "2:ee:0:0:0:1" in seen["text"] and seen["text"].count("<neighbor>") == 3


def test_a_cache_of_many_chunks_is_saved_back_byte_for_byte(tmp_path, utc):
    """A cache of several write chunks (about 5 MB) loads and saves back to the same
    bytes: the streamed file is the file."""
    engine = full_engine(5000, 4)
    path, again = tmp_path / "a.xml", tmp_path / "b.xml"
    session.save_cache(engine, str(path))
    caches = {"lan0": NeighborCache(10_000, 4)}
    load_cache(str(path), caches)
    save_cache(str(again), caches)
    assert path.stat().st_size > 4 * 2**20
    assert again.read_bytes() == path.read_bytes()


# -- peak RSS, in a fresh interpreter ----------------------------------------------------

PEAK = """
import sys
sys.path[:0] = [{tests!r}]
from test_cache_save import full_engine
from ndpmon.formats import cache as cachefile
from ndpmon.state.neighbors import NeighborCache

def status(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field))

{body}
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
{measured}
print(status("VmHWM") - before)
"""


def peak_kib(tmp_path: Path, body: str, measured: str) -> int:
    """How much ``measured`` raised the peak RSS (KiB) of a fresh interpreter, after
    ``body`` ran."""
    code = PEAK.format(tests=str(ROOT / "tests"), body=body, measured=measured)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_saving_a_large_cache_never_holds_the_whole_file(tmp_path):
    """Saving a cache of 20,000 neighbours of 16 addresses (a 64 MB file) raises the peak
    RSS by a few MiB (a chunk and the snapshot), not by the file's size several times
    (about 190 MiB when the file was one string)."""
    grown = peak_kib(tmp_path, "engine = full_engine(20_000, 16)\n"
                               "caches = {'lan0': engine.probes['lan0'].neighbors}",
                     f"cachefile.save_cache({str(tmp_path / 'c.xml')!r}, caches)")
    assert (tmp_path / "c.xml").stat().st_size > 60_000_000
    print(f"save: peak RSS +{grown // 1024} MiB")
    assert grown < 48 * 1024, f"+{grown // 1024} MiB"


def test_loading_a_large_cache_never_holds_its_tree(tmp_path):
    """Loading that file takes the memory of the neighbours themselves (about 110 MiB),
    not that of its whole tree first (about 700 MiB before)."""
    engine = full_engine(20_000, 16)
    save_cache(str(tmp_path / "c.xml"), {"lan0": engine.probes["lan0"].neighbors})
    del engine
    grown = peak_kib(tmp_path, "caches = {'lan0': NeighborCache(20_000, 16)}",
                     f"cachefile.load_cache({str(tmp_path / 'c.xml')!r}, caches)\n"
                     "assert len(caches['lan0']) == 20_000")
    print(f"load: peak RSS +{grown // 1024} MiB")
    assert grown < 300 * 1024, f"+{grown // 1024} MiB"


def test_loading_stops_at_the_caps_and_says_how_much_was_left_out(tmp_path, caplog):
    """A file holding more than the caps (here 3,000 neighbours, one of them with
    200,000 addresses, into a cache of 1,000 x 8) loads the first 1,000 neighbours and
    each one's last 8 addresses, counts the rest as evicted, logs one line with the
    counts, and never holds the large neighbour's addresses at once."""
    engine = full_engine(3000, 2)
    big = next(iter(engine.probes["lan0"].neighbors))
    big.addresses = {i.to_bytes(16, "big"): (i.to_bytes(16, "big"), 5, 5)
                     for i in range(1, 200_001)}
    from ndpmon.state.neighbors import Address

    big.addresses = {k: Address(*v) for k, v in big.addresses.items()}
    path = str(tmp_path / "c.xml")
    save_cache(path, {"lan0": engine.probes["lan0"].neighbors})
    del engine, big
    caches = {"lan0": NeighborCache(1000, 8)}
    with caplog.at_level(logging.WARNING, "ndpmon"):
        load_cache(path, caches)
    cache = caches["lan0"]
    first = next(iter(cache))
    assert len(cache) == 1000 and len(first.addresses) == 8
    assert list(first.addresses)[-1] == (200_000).to_bytes(16, "big")
    assert (cache.evictions.neighbors, cache.evictions.addresses) == (2000, 200_000 - 8)
    assert f"{path}: probe lan0: 2000 neighbours and 199992 addresses over the caps " \
           '(<limits max_neighbors="1000" max_addresses="8">) were left out' in caplog.text
    grown = peak_kib(tmp_path, "caches = {'lan0': NeighborCache(1000, 8)}",
                     f"cachefile.load_cache({path!r}, caches)")
    print(f"load over the caps: peak RSS +{grown // 1024} MiB")
    assert grown < 100 * 1024, f"+{grown // 1024} MiB"
