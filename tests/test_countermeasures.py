"""The countermeasures plugin without a network: guards, the frames each alert calls
for, recognising our own frames, and other monitors' presence messages.

A fake sender records the frames; they are checked by decoding them with ndpmon's own
decoder. The real thing, in network namespaces, is tests/test_countermeasures_live.py.
"""

from __future__ import annotations

import logging

import pytest

from ndpmon.capture import craft
from ndpmon.config.values import ipv6, mac
from ndpmon.codec.decode import decode
from ndpmon.codec.message import NA, RA, NotND
from ndpmon.run.pipeline import Pipeline
from ndpmon.run.session import save_cache
from plugkit import (ROGUE_LLA, ROGUE_MAC, ROUTER_LLA, ROUTER_MAC, config_text, engine_for,
                     load, na, ra)

ENABLED = "      <countermeasures_enabled>1</countermeasures_enabled>"


class FakeSender:
    """Records what would be sent."""

    def __init__(self):
        self.frames: list[tuple[str, bytes]] = []

    def send(self, iface, frame):
        self.frames.append((iface, frame))

    def address(self, iface):
        return mac("02:00:00:00:00:99"), ipv6("fe80::99")


def guards(**kinds: str) -> str:
    body = "".join(f"    <{name}>{kind}</{name}>\n" for name, kind in kinds.items())
    return f"  <countermeasures>\n{body}  </countermeasures>"


def setup(tmp_path, enabled: bool = True, **kinds: str):
    """A pipeline with the countermeasures plugin and a fake sender."""
    text = config_text('    <plugin name="countermeasures"/>', countermeasures=guards(**kinds),
                       probe_body=ENABLED if enabled else "")
    engine = engine_for(load(tmp_path, text))
    plugin = engine.plugins[0]
    plugin.sender = FakeSender()
    pipeline = Pipeline(engine, [])
    pipeline.start()
    return pipeline, plugin.sender


@pytest.mark.parametrize("kind, answered", [
    ("SUPPRESS", [False] * 4),
    ("RESPOND", [True] * 4),
    ("CEASE AFTER 2", [True, True, False, False]),
    ("LAUNCH AFTER 2", [False, False, True, True]),
])
def test_guards(tmp_path, kind, answered):
    """A guard answers as NDPMon's cm_is_welcome: counts every call."""
    pipeline, sender = setup(tmp_path, kill_illegitimate_router=kind)
    got = []
    for i in range(4):
        before = len(sender.frames)
        pipeline.feed("lan0", [(float(i), ra(ROGUE_MAC, ROGUE_LLA))])
        got.append(len(sender.frames) > before)
    assert got == answered


def test_kill_illegitimate_router(tmp_path):
    """A rogue RA: an RA with lifetime 0 from the rogue's MAC and address, on the
    probe's interface."""
    pipeline, sender = setup(tmp_path, kill_illegitimate_router="RESPOND")
    alerts = pipeline.feed("lan0", [(1.0, ra(ROGUE_MAC, ROGUE_LLA))])
    assert [a.reason for a in alerts] == ["wrong ipv6 router"]
    [(iface, frame)] = sender.frames
    msg = decode(frame)
    assert iface == "lan0" and msg.type == RA and msg.malformed is None
    assert (msg.eth_src, msg.src, msg.routerlifetime, msg.hlim, msg.chlim) == (
        mac(ROGUE_MAC), ipv6(ROGUE_LLA), 0, 255, 64)
    assert msg.dst == ipv6("ff02::1")


def test_no_countermeasure_on_a_probe_without_countermeasures_enabled(tmp_path):
    """<countermeasures_enabled> is per probe; the default is off."""
    pipeline, sender = setup(tmp_path, enabled=False, kill_illegitimate_router="RESPOND")
    pipeline.feed("lan0", [(1.0, ra(ROGUE_MAC, ROGUE_LLA))])
    assert sender.frames == []


def test_nothing_is_sent_in_a_replay(tmp_path, caplog):
    """Not capturing live: no sender is opened, so nothing is sent."""
    text = config_text('    <plugin name="countermeasures"/>',
                       countermeasures=guards(kill_illegitimate_router="RESPOND"),
                       probe_body=ENABLED)
    engine = engine_for(load(tmp_path, text))
    pipeline = Pipeline(engine, [])
    with caplog.at_level(logging.INFO, logger="ndpmon"):
        pipeline.start()
        pipeline.feed("lan0", [(1.0, ra(ROGUE_MAC, ROGUE_LLA))])
    assert engine.plugins[0].sender is None
    assert "countermeasures: not capturing live, no packet is sent" in caplog.text


def test_kill_wrong_prefix(tmp_path):
    """``wrong prefix`` from the known router: its RA with the prefix at lifetime 0."""
    pipeline, sender = setup(tmp_path, kill_wrong_prefix="RESPOND")
    alerts = pipeline.feed("lan0", [(1.0, ra(prefix="2001:db8:bad::"))])
    assert "wrong prefix" in [a.reason for a in alerts]
    [(_, frame)] = sender.frames
    msg = decode(frame)
    [pio] = msg.options
    assert (msg.eth_src, msg.src, msg.routerlifetime) == (mac(ROUTER_MAC), ipv6(ROUTER_LLA),
                                                           1800)
    assert (pio.prefix, pio.prefixlen, pio.validlifetime, pio.preferredlifetime) == (
        ipv6("2001:db8:bad::"), 64, 0, 0)


def test_propagate_router_params(tmp_path):
    """``wrong RA mtu option``: the configured RA (parameters, prefix, MTU)."""
    pipeline, sender = setup(tmp_path, propagate_router_params="RESPOND")
    # the router of plugkit is volatile; make it strict by changing nothing but the MTU
    engine = pipeline.engine
    state = engine.probes["lan0"]
    from dataclasses import replace
    state.set_routers(tuple(replace(r, params_volatile=False) for r in state.routers))
    alerts = pipeline.feed("lan0", [(1.0, ra(mtu=1400))])
    assert "wrong RA mtu option" in [a.reason for a in alerts]
    msg = decode(sender.frames[-1][1])
    kinds = [type(o).__name__ for o in msg.options]
    assert kinds == ["LinkLayer", "Mtu", "PrefixInfo"]
    assert msg.options[1].mtu == 1500 and msg.routerlifetime == 1800


def test_propagate_neighbor_mac(tmp_path):
    """A flip flop: an NA (Override) for the address with the first MAC seen."""
    pipeline, sender = setup(tmp_path, propagate_neighbor_mac="RESPOND")
    a, b = "00:aa:00:00:00:01", "00:cc:00:00:00:03"
    pipeline.feed("lan0", [(1.0, na(a, "fe80::a", "fe80::a")),
                           (2.0, na(b, "fe80::a", "fe80::a", flags="SO"))])
    assert sender.frames == []  # changed ethernet address: no countermeasure
    alerts = pipeline.feed("lan0", [(3.0, na(a, "fe80::a", "fe80::a", flags="SO"))])
    assert [x.reason for x in alerts] == ["flip flop"]
    [(_, frame)] = sender.frames
    msg = decode(frame)
    assert msg.type == NA and msg.na_flags & 0x20 and msg.target == ipv6("fe80::a")
    assert msg.tlla == mac(a) and msg.eth_src == mac(a) and msg.malformed is None


def test_own_frames_are_dropped(tmp_path):
    """A frame the plugin sent, captured again, reaches no check (no alert)."""
    pipeline, sender = setup(tmp_path, kill_illegitimate_router="RESPOND")
    pipeline.feed("lan0", [(1.0, ra(ROGUE_MAC, ROGUE_LLA))])
    [(_, frame)] = sender.frames
    assert pipeline.feed("lan0", [(2.0, frame)]) == []
    assert pipeline.engine.dropped == 1
    # the same frame, not sent by this ndpmon, is an alert
    (tmp_path / "other").mkdir()
    other, _ = setup(tmp_path / "other")
    assert [a.reason for a in other.feed("lan0", [(2.0, frame)])] == ["wrong ipv6 router"]


def test_presence_message_sent_at_cache_save(tmp_path):
    """indicate_ndpmon_presence: type 200 code 200 with version and flags, at each save."""
    pipeline, sender = setup(tmp_path, indicate_ndpmon_presence="RESPOND")
    save_cache(pipeline.engine, str(tmp_path / "cache.xml"))
    [(iface, frame)] = sender.frames
    assert iface == "lan0"
    assert frame[54:56] == bytes((200, 200)) and frame[61] == 0x02
    assert frame[6:12] == mac("02:00:00:00:00:99") and frame[22:38] == ipv6("fe80::99")


def test_presence_of_another_monitor_is_logged_once(tmp_path, caplog):
    """Another NDPMon's presence message (which crashed NDPMon 2.1, COMPATIBILITY.md §7.5): one log
    line per sender, no alert, no crash; without the plugin the decoder just skips it."""
    frame = craft.presence(mac("00:77:00:00:00:07"), ipv6("fe80::77"), (1, 3, 5), 0x83)
    assert isinstance(decode(frame), NotND)
    pipeline, _ = setup(tmp_path)
    with caplog.at_level(logging.WARNING, logger="ndpmon"):
        assert pipeline.feed("lan0", [(1.0, frame), (2.0, frame)]) == []
    lines = [r.getMessage() for r in caplog.records if "another NDPMon" in r.getMessage()]
    assert lines == ["another NDPMon on lan0: 0:77:0:0:0:7 fe80::77, version 1.3.5 "
                     "(learning, countermeasures, mac_resolv)"]


# -- amplification (issue 15 item 8) ---------------------------------------------------

def dnssl_attack(domains: int = 477, lifetime: int = 300) -> bytes:
    """The amplifier: an RA spoofing the configured router (its MAC and link-local address
    are public on the link) with one DNSSL option of ``domains`` one-letter domains; 477
    make a 1,510-byte frame, each domain a ``wrong RA DNSSL option`` alert."""
    import string
    import struct

    from floodgen import ALL_NODES, ALL_NODES_MAC, frame

    letters = string.ascii_lowercase
    names = b"".join(b"\x01" + letters[i % 26].encode() + b"\x00" for i in range(domains))
    size = -(-(8 + len(names)) // 8) * 8
    option = (struct.pack("!BBHI", 31, size // 8, 0, lifetime) + names).ljust(size, b"\0")
    body = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + option
    return frame(mac(ROUTER_MAC), ALL_NODES_MAC, ipv6(ROUTER_LLA), ALL_NODES, body)


def test_one_attack_frame_gets_one_answer_of_one_frame(tmp_path):
    """An RA with 477 bogus search domains raises one alert (naming the first domains and
    ``+N more``: issue 16); propagate_router_dns answers the
    frame once, with one RA (NDPMon: 954 RAs, two per alert): the router's own DNS and the
    bogus domains at lifetime 0, as many as fit in 1500 bytes."""
    attack = dnssl_attack()
    assert len(attack) == 1510
    pipeline, sender = setup(tmp_path, propagate_router_dns="RESPOND")
    alerts = pipeline.feed("lan0", [(1.0, attack)])
    [dns] = [a for a in alerts if a.reason == "wrong RA DNSSL option"]
    assert dns.extra["more"] == 474
    [(iface, answer)] = sender.frames
    msg = decode(answer)
    assert iface == "lan0" and msg.type == RA and msg.malformed is None
    assert (msg.eth_src, msg.src) == (mac(ROUTER_MAC), ipv6(ROUTER_LLA))
    assert len(answer) <= 14 + craft.MTU
    [dnssl] = [o for o in msg.options if type(o).__name__ == "Dnssl"]
    assert dnssl.lifetime == 0 and dnssl.error is None
    assert set(dnssl.domains) == set("abcdefghijklmnopqrstuvwxyz")  # each bogus name once


def test_a_burst_of_attack_frames_gets_the_targets_budget(tmp_path):
    """100 attack frames within one second: the router is answered ``PER_TARGET`` burst times,
    then once per second of capture time; at most one answer per frame in any case."""
    from plugins.countermeasures import PER_TARGET

    pipeline, sender = setup(tmp_path, propagate_router_dns="RESPOND")
    attack = dnssl_attack(20)
    pipeline.feed("lan0", [(100.0 + i / 100, attack) for i in range(100)])
    assert len(sender.frames) == PER_TARGET[0]
    pipeline.feed("lan0", [(102.0 + i / 10, attack) for i in range(100)])  # 10 s at 10/s
    assert len(sender.frames) <= PER_TARGET[0] + 1 + 10 * PER_TARGET[1]


def test_many_targets_share_the_countermeasures_budget(tmp_path, caplog):
    """200 rogue routers at once: kill_illegitimate_router answers ``PER_COUNTERMEASURE``
    burst of them, logs once that the limit bites, and counts the rest."""
    from plugins.countermeasures import PER_COUNTERMEASURE

    pipeline, sender = setup(tmp_path, kill_illegitimate_router="RESPOND")
    frames = [(5.0, ra(f"00:66:00:00:{i >> 8:02x}:{i & 255:02x}", f"fe80::66:{i:x}"))
              for i in range(200)]
    with caplog.at_level(logging.WARNING, logger="ndpmon"):
        pipeline.feed("lan0", frames)
    assert len(sender.frames) == PER_COUNTERMEASURE[0]
    plugin = pipeline.engine.plugins[0]
    assert plugin.limited["kill_illegitimate_router"] == 200 - PER_COUNTERMEASURE[0]
    assert caplog.text.count("rate limit reached") == 1


def test_send_budget_refills_with_time_and_bounds_its_keys():
    """Token buckets: ``burst`` at once, ``rate`` per second after, never more than
    ``burst`` saved up; a clock stepping back refills nothing; the oldest key goes first."""
    from ndpmon.capture.send import SendBudget

    budget = SendBudget(rate=2.0, burst=3, max_keys=2)

    def spend(key, now):
        if budget.ready(key, now):
            budget.take(key)
            return True
        return False

    assert [spend("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert [spend("a", 0.5), spend("a", 0.5)] == [True, False]
    assert not spend("a", 0.2)  # stepped back
    assert [spend("a", 100.0) for _ in range(4)] == [True, True, True, False]
    spend("b", 100.0)
    spend("c", 100.0)
    assert list(budget.buckets) == ["b", "c"]
