"""Learning on a hostile link (issue 15, item 4): bounded, linear, deaf to floods.

A flood of RAs during ``ndpmon -L`` (thc-ipv6's flood_router26: a new router and 17-45
new prefixes per RA) used to teach every router and prefix, scanning everything known
at every change, and wrote a config the next start refused. These tests pin the
defences with counts, never with times: the ``<limits max_learned_*>`` caps (reported
when hit), the indexes (learning one router touches no other router and no known
entry: a counting fake), flood windows that teach nothing, and a config that is never
written larger than the loader reads. bench/bench_learn.py gives the times.
"""

from __future__ import annotations

import logging
import random
import re
import struct
import textwrap
from pathlib import Path

import pytest

from floodgen import ALL_NODES, ALL_NODES_MAC, frame, station
from ndpmon.config import exchange
from ndpmon.config import loader as config
from ndpmon.config import writeback
from ndpmon.config.model import Config, Limits, Prefix, Probe, Route, Router, Settings
from ndpmon.config.writeback import router_lines
from ndpmon.engine.engine import Engine
from ndpmon.errors import ConfigError, NdpmonError
from ndpmon.files.reader import MAX_CONFIG_BYTES
from ndpmon.run.learnwriter import RootWriter
from ndpmon.run.pipeline import Pipeline

T0 = 1_700_000_000.0
DEFAULTS = Limits()


def net(i: int, tag: int = 0xD8) -> bytes:
    """The /64 2001:db8:<tag><i>::."""
    return bytes([0x20, 1, 0xD, tag]) + i.to_bytes(4, "big") + bytes(8)


def ra(mac: bytes, lla: bytes, prefixes=(), routes=(), servers=(), names=(),
       valid: int = 2592000) -> bytes:
    """An RA (hop limit 255, SLLA) with a PIO per prefix, a RIO per route, one RDNSS
    and one DNSSL option."""
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    body += struct.pack("!BB", 1, 1) + mac
    for prefix in prefixes:
        body += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, valid, 604800, 0) + prefix
    for route in routes:
        body += struct.pack("!BBBBI", 24, 3, 64, 0, 1800) + route
    if servers:
        body += struct.pack("!BBHI", 25, 1 + 2 * len(servers), 0, 900) + b"".join(servers)
    if names:
        labels = b"".join(bytes([len(n)]) + n.encode() + b"\0" for n in names)
        labels += bytes(-(len(labels) + 8) % 8)
        body += struct.pack("!BBHI", 31, (8 + len(labels)) // 8, 0, 900) + labels
    return frame(mac, ALL_NODES_MAC, lla, ALL_NODES, body)


def router_na(mac: bytes, address: bytes) -> bytes:
    """An unsolicited NA with the Router flag for the router's own global address."""
    body = struct.pack("!BBHI", 136, 0, 0, 0xA0000000) + address
    body += struct.pack("!BB", 2, 1) + mac
    return frame(mac, ALL_NODES_MAC, address, ALL_NODES, body)


def learner(routers: tuple[Router, ...] = (), limits: Limits = DEFAULTS) -> Engine:
    return Engine(Config("<test>", Settings(limits=limits), (Probe("lan0", routers=routers),)),
                  learning=True)


def feed(engine: Engine, frames: list[bytes], start: float = T0, rate: float = 2.0) -> float:
    """Hand ``frames`` to the engine, ``rate`` a second (the RA flood limit is 10/s)."""
    for i, data in enumerate(frames):
        engine.handle("lan0", start + i / rate, data)
    return start + len(frames) / rate


def routers_from(rng: random.Random, count: int, prefixes: int = 1) -> list[bytes]:
    out = []
    for _ in range(count):
        mac, lla, _ = station(rng)
        out.append(ra(mac, lla, [rng.randbytes(8) + bytes(8) for _ in range(prefixes)]))
    return out


# -- caps -----------------------------------------------------------------------------


def test_learning_adds_at_most_max_learned_routers(caplog):
    """100 routers, each RA at a calm rate: a probe holding one configured router
    learns 31 more (the default cap is 32; configured routers count), the first
    refusal is logged at once (one line), and the end of learning counts the 69 left."""
    configured = Router(bytes.fromhex("020000000001"), bytes.fromhex("fe80" + "00" * 13 + "01"))
    engine = learner((configured,))
    pipeline = Pipeline(engine, [])
    rng = random.Random(4)
    frames = routers_from(rng, 100)
    with caplog.at_level(logging.WARNING, "ndpmon"):
        pipeline.feed("lan0", [(T0 + i / 2, f) for i, f in enumerate(frames)])
    learned = engine.learned()["lan0"]
    assert len(learned) == 32 == DEFAULTS.max_learned_routers
    assert learned[0] is configured
    assert [r.message for r in caplog.records] == [
        "learning on lan0: the probe holds max_learned_routers (32): more routers are not "
        "learned (counted, reported at the end)"]
    assert engine.learn_report() == [
        "learning on lan0: not learned: 69 routers (max_learned_routers 32)"]


def test_each_list_of_a_router_is_capped_and_known_entries_still_update():
    """One router advertising 40 prefixes, 40 routes, 20 DNS servers, 20 search domains
    and 20 addresses of its own keeps the defaults' 32, 32, 16, 16 and 16; a known
    prefix with a new lifetime is still updated once its list is full."""
    mac, lla = bytes.fromhex("020000000002"), bytes.fromhex("fe80" + "00" * 13 + "02")
    servers = [net(i, 0xD9)[:8] + bytes(7) + b"\x53" for i in range(20)]
    engine = learner()
    feed(engine, [ra(mac, lla, [net(i) for i in range(40)], [net(i, 0xDA) for i in range(40)],
                     servers, [f"d{i}.example" for i in range(20)])]
         + [router_na(mac, net(i, 0xDB)[:15] + b"\x01") for i in range(20)]
         + [ra(mac, lla, [net(0)], valid=86400)])
    (router,) = engine.learned()["lan0"]
    assert [len(router.prefixes), len(router.routes), len(router.rdnss), len(router.dnssl),
            len(router.addresses)] == [32, 32, 16, 16, 16]
    assert router.prefixes[0].valid == 86400
    assert engine.learn_report() == [
        "learning on lan0: not learned: 4 addresses (max_learned_addresses 16), "
        "4 dnssl (max_learned_dnssl 16), 8 prefixes (max_learned_prefixes 32), "
        "4 rdnss (max_learned_rdnss 16), 8 routes (max_learned_routes 32)"]


CONFIG = """\
    <?xml version="1.0"?>
    <config_ndpmon>
      <settings>
        <actions_high_priority sendmail="0" syslog="0" exec_pipe_program=""/>
        <actions_low_priority sendmail="0" syslog="0" exec_pipe_program=""/>
        <admin_mail>root@localhost</admin_mail>
        <ignor_autoconf>0</ignor_autoconf>
        <syslog_facility>LOG_LOCAL1</syslog_facility>
        <use_reverse_hostlookups>0</use_reverse_hostlookups>
        <limits {limits}/>
      </settings>
      <probes><probe name="lan0" type="interface"/></probes>
    </config_ndpmon>
    """


def test_learning_caps_are_limits_attributes(tmp_path):
    """``<limits max_learned_*>`` set the caps (each positive; a wrong one is an error
    naming the file and line); left out, the defaults."""
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(textwrap.dedent(CONFIG.format(
        limits='max_learned_routers="3" max_learned_dnssl="1" max_learned_addresses="2"')))
    limits = config.load(str(path)).settings.limits
    assert limits == Limits(max_learned_routers=3, max_learned_dnssl=1,
                            max_learned_addresses=2)
    assert limits.max_learned_prefixes == 32
    path.write_text(textwrap.dedent(CONFIG.format(limits='max_learned_prefixes="0"')))
    with pytest.raises(ConfigError) as err:
        config.load(str(path))
    assert str(err.value) == (f"{path}:10: <limits max_learned_prefixes>: not a number from 1 "
                              "to 4294967295: '0'")


# -- indexes ----------------------------------------------------------------------------


class Counted(bytes):
    """bytes that count every comparison and hash: a scan over them shows up."""

    touched = 0

    def __eq__(self, other: object) -> bool:
        Counted.touched += 1
        return bytes.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        Counted.touched += 1
        return bytes.__ne__(self, other)

    def __hash__(self) -> int:
        Counted.touched += 1
        return bytes.__hash__(self)


def test_learning_touches_no_other_router_and_no_known_entry():
    """Learning 10 new routers and 20 new prefixes of a known router neither compares
    nor hashes the 20 configured routers' MACs nor the known router's 10 prefixes:
    routers and entries are found by index. (Before: every RA scanned every router and
    every entry, and every change rebuilt every index: hundreds of touches here, and
    8,000 routers took minutes.)"""
    others = tuple(Router(Counted(bytes([2, 0, 0, 0, 9, i])),
                          bytes.fromhex("fe80" + "00" * 12) + bytes([9, i]))
                   for i in range(20))
    mac, lla = bytes.fromhex("020000000003"), bytes.fromhex("fe80" + "00" * 13 + "03")
    known = Router(mac, lla, prefixes=tuple(Prefix(Counted(net(i)), 64) for i in range(10)))
    engine = learner(others + (known,))
    Counted.touched = 0
    rng = random.Random(3)
    new = routers_from(rng, 10)
    mine = [ra(mac, lla, [net(100 + 4 * i + j) for j in range(4)]) for i in range(5)]
    feed(engine, [f for pair in zip(new, mine + mine, strict=True) for f in pair])
    learned = engine.learned()["lan0"]
    assert Counted.touched < 20, "less than one look at each configured router"
    assert len(learned) == 31 and len(learned[20].prefixes) == 30


# -- floods -----------------------------------------------------------------------------


def test_a_flood_window_teaches_nothing(caplog):
    """A calm RA is learned; then 150 RAs from new routers in 1.5 s (an ND flood: the
    RA limit is 10/s over 10 s windows): what they taught before the flood check saw
    the flood is undone and nothing of that window is learned, the flood is logged at
    the time, and its RAs are counted once at the end (not also as routers over the
    cap). The next calm window is learned again."""
    rng = random.Random(26)
    mac, lla, _ = station(rng)
    calm_a, calm_b = ra(mac, lla, [net(1)]), routers_from(rng, 1)[0]
    engine = learner()
    pipeline = Pipeline(engine, [])
    flood = [ra(mac, lla, [net(2)])] + routers_from(rng, 149)  # a known router too
    batches = [[(T0, calm_a)], [(T0 + 20 + i / 100, f) for i, f in enumerate(flood)],
               [(T0 + 40, calm_b)]]
    with caplog.at_level(logging.WARNING, "ndpmon"):
        for batch in batches:
            pipeline.feed("lan0", batch)
    learned = engine.learned()["lan0"]
    assert len(learned) == 2, "the calm RAs only"
    assert [p.address for p in learned[0].prefixes] == [net(1)], "the flood's prefix undone"
    state = engine.probes["lan0"]
    assert set(state.router_by_pair) == {(r.mac, r.lla) for r in learned}
    assert not state.is_onlink(net(2)) and state.is_onlink(net(1))
    floods = [r.message for r in caplog.records if "ND flood" in r.message]
    assert len(floods) == 1 and floods[0].startswith("learning on lan0: ND flood: 101 RA in 10 s")
    assert floods[0].endswith("; nothing this window taught is learned")
    assert engine.learn_report() == [
        "learning on lan0: not learned: 150 RAs in rate windows with an ND flood"]


def test_with_the_flood_check_off_learning_is_immediate_and_still_capped():
    """``ra_rate="0"`` turns the RA flood check off: RAs are learned as they come (no
    flood to wait for), and the caps still hold."""
    engine = learner(limits=Limits(ra_rate=0, max_learned_routers=5))
    feed(engine, routers_from(random.Random(5), 50), rate=1000.0)
    assert len(engine.probes["lan0"].routers) == 5, "learned before the end of learning"


# -- what is written ---------------------------------------------------------------------


def test_a_config_over_the_loader_cap_is_not_written(tmp_path):
    """Learned routers that would make the config larger than the loader reads (16 MiB)
    are refused with one line naming the file, and the file is left as it was, instead
    of a config the next start refuses."""
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(textwrap.dedent(CONFIG.format(limits="")))
    before = path.read_bytes()
    many = tuple(Router(bytes([2, 0, 0, i >> 8, i & 0xFF, 1]),
                        bytes.fromhex("fe80" + "00" * 10) + i.to_bytes(2, "big") + b"\0\1",
                        prefixes=tuple(Prefix(net(45 * i + j), 64, 192, 2592000, 604800)
                                       for j in range(45)))
                 for i in range(1600))
    with pytest.raises(ConfigError) as err:
        writeback.write_learned(str(path), {"lan0": many})
    assert re.fullmatch(re.escape(f"{path}: not written: with the learned routers it would "
                                  "be ") + r"2\d\.\d" + re.escape(
        " MiB, over the 16 MiB a config may hold (learn again with lower <limits "
        "max_learned_*>)"), str(err.value)), str(err.value)
    assert path.read_bytes() == before


def worst_router(i: int) -> Router:
    """A router whose every list is full at the default caps, with the longest text each
    entry can have (a 253-character DNSSL name of non-ASCII letters)."""
    full = bytes.fromhex("2001db81234567899abcdef012345678")
    name = ".".join(["\xe9" * 63] * 3 + ["\xe9" * 61])
    big = 2**32 - 1
    return Router(bytes([2, 0, 0, 0, i >> 8, i & 0xFF]), full, 255, 255, big, big, big, big,
                  prefixes=tuple(Prefix(full[:15] + bytes([j]), 128, 255, big, big)
                                 for j in range(DEFAULTS.max_learned_prefixes)),
                  routes=tuple(Route(full[:15] + bytes([j]), 128, 255, big)
                               for j in range(DEFAULTS.max_learned_routes)),
                  rdnss=tuple((full[:15] + bytes([j]), big)
                              for j in range(DEFAULTS.max_learned_rdnss)),
                  dnssl=tuple((name[:-2] + f"{j:02}", big)
                              for j in range(DEFAULTS.max_learned_dnssl)),
                  addresses=tuple(full[:15] + bytes([j])
                                  for j in range(DEFAULTS.max_learned_addresses)))


def test_one_probe_at_the_default_caps_fits_the_config_and_the_hand_over():
    """A probe holding max_learned_routers routers, every list full of the longest
    entries: its routers, as config text (ASCII: every letter a character reference)
    and as the hand-over to root's writer under --user (exchange.dumps), stay far below
    the loader's 16 MiB and exchange.MAX_BYTES (64 MiB): at least 8 such probes fit."""
    routers = tuple(worst_router(i) for i in range(DEFAULTS.max_learned_routers))
    text = "\n".join("  " * d + line for r in routers for d, line in router_lines(r))
    xml = len(text.encode("ascii", "xmlcharrefreplace"))
    handover = len(exchange.dumps({"lan0": routers}))
    assert 8 * xml < MAX_CONFIG_BYTES and 8 * handover < exchange.MAX_BYTES, (xml, handover)


def test_the_learned_config_loads_again(tmp_path):
    """What a capped learning run writes is a config the loader takes back, routers
    and all (the size check lets a normal result through)."""
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(textwrap.dedent(CONFIG.format(limits="")))
    engine = learner()
    feed(engine, routers_from(random.Random(7), 40, prefixes=3))
    writeback.write_learned(str(path), engine.learned())
    assert config.load(str(path)).probe("lan0").routers == engine.learned()["lan0"]
    assert len(engine.learned()["lan0"]) == 32 and Path(path).stat().st_size < 2**20


def test_a_hand_over_over_the_writers_cap_is_refused_before_sending(tmp_path):
    """Under --user the monitor hands the learned routers to root's writer as JSON,
    which reads at most exchange.MAX_BYTES: a larger hand-over is refused by the
    monitor with one line naming the config (not a broken pipe), and nothing is
    written."""
    path = tmp_path / "config_ndpmon.xml"
    path.write_text(textwrap.dedent(CONFIG.format(limits="")))
    before = path.read_bytes()
    entry = (".".join(["\xe9" * 63] * 3 + ["\xe9" * 61]), 900)  # 1.5 kB as JSON
    routers = tuple(Router(bytes([2, 0, 0, 0, 0, i]),
                           bytes.fromhex("fe80" + "00" * 13) + bytes([i]),
                           dnssl=(entry,) * 1000) for i in range(50))
    writer = RootWriter(config.load(str(path)))
    writer.fork()
    with pytest.raises(NdpmonError) as err:
        writer.write({"lan0": routers})
    assert re.fullmatch(re.escape(f"{path}: not written: the learned routers are ") + r"7\d\.\d"
                        + re.escape(" MiB, over the 64 MiB the config writer reads (learn "
                                    "again with lower <limits max_learned_*>)"), str(err.value))
    assert writer.pid is None and path.read_bytes() == before


def test_undoing_a_flood_window_restores_the_routers_exactly():
    """``Learner.flood`` undoes every change of the window, in order: new routers, new
    prefixes of a known router, addresses from NAs; what earlier windows taught stays,
    and the next window learns again."""
    from ndpmon.codec.decode import decode
    from ndpmon.state.learn import Learner

    mac, lla = bytes.fromhex("020000000004"), bytes.fromhex("fe80" + "00" * 13 + "04")
    known = Router(mac, lla, prefixes=(Prefix(net(1), 64),))
    other = Router(bytes.fromhex("020000000005"), bytes.fromhex("fe80" + "00" * 13 + "05"))
    learner_ = Learner("lan0", (known, other), DEFAULTS)
    learner_.offer(decode(ra(mac, lla, [net(1)])))
    learner_.window_closed()
    kept = learner_.routers
    rng = random.Random(6)
    for data in [ra(mac, lla, [net(2), net(3)]), *routers_from(rng, 3),
                 router_na(mac, net(9)[:15] + b"\x01"), ra(other.mac, other.lla, [net(4)])]:
        learner_.offer(decode(data))
    assert len(learner_.routers) == 5
    learner_.flood()
    assert learner_.routers == kept and learner_.offer(decode(routers_from(rng, 1)[0])) == []
    learner_.window_closed()
    assert len(learner_.offer(decode(ra(other.mac, other.lla, [net(5)])))) == 1
    assert learner_.routers[1].prefixes[-1].address == net(5)
    assert learner_.report() == ["learning on lan0: not learned: 1 NAs in rate windows with "
                                 "an ND flood, 6 RAs in rate windows with an ND flood"]
