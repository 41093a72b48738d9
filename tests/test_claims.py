"""ndpmon's address conflict and neighbor cache poisoning: bounds, window and cost.

The samples (``station_address_conflict``, ``station_address_moved``,
``station_poisoning`` and their clean twins in tests/data/make_pcaps.py) pin what is
raised; these tests pin what it costs: the liveness of an address is the time its holder
was last heard from it, kept in the neighbour cache's own address record, so a flood of
claims keeps no memory of its own and stays within the cache's caps; ``CONFLICT_WINDOW``
is inclusive; the messages are formatted only when read, as for the other flood-prone
alerts.
"""

from __future__ import annotations

import gc
import struct
import sys

from floodgen import PREFIX, frame, na, ns

from ndpmon.checks.alert import Text
from ndpmon.checks.neighbors import CONFLICT_WINDOW
from ndpmon.config.model import Config, Limits, Prefix, Probe, Router, Settings
from ndpmon.engine.engine import Engine

ROUTER = Router(bytes.fromhex("00005e005301"), bytes.fromhex("fe80" + "00" * 12 + "0001"),
                prefixes=(Prefix(PREFIX, 64),))
ATTACKER = bytes.fromhex("00005e005366")
ATTACKER_LLA = bytes.fromhex("fe80" + "00" * 12 + "0066")


def engine(**limits) -> Engine:
    """One probe whose router advertises the hosts' prefix (so no bogon)."""
    settings = Settings(limits=Limits(**limits))
    return Engine(Config("t", settings, (Probe("lan0", routers=(ROUTER,)),)))


def host(i: int) -> tuple[bytes, bytes]:
    """MAC and global address of host ``i``."""
    return bytes.fromhex("02005e") + i.to_bytes(3, "big"), PREFIX[:12] + i.to_bytes(4, "big")


def reasons(alerts) -> list[str]:
    return [a.reason for a in alerts]


def test_a_claims_flood_keeps_no_memory_of_its_own():
    """A known station taking 5,000 live hosts' addresses, one NA each, raises a conflict
    for each, and the state grows by less than one allocated block per claim: the holder's
    address record moves to the taker (whose table is capped at ``max_addresses``), no
    liveness table grows beside the cache."""
    probe = engine(max_addresses=4, na_rate=0)
    handle = probe.handle
    handle("lan0", 0.0, ns(ATTACKER, ATTACKER_LLA, ROUTER.lla))  # a known station
    hosts = [host(i) for i in range(6000)]
    for i, (mac, addr) in enumerate(hosts):  # each heard from its address
        handle("lan0", 1.0 + i * 1e-3, na(mac, addr, addr))
    claims = [na(ATTACKER, addr, addr) for _, addr in hosts]
    for i, claim in enumerate(claims[:1000]):  # warm up: the attacker's table is full
        assert "address conflict" in reasons(handle("lan0", 10.0 + i * 1e-3, claim))
    gc.collect()
    before = sys.getallocatedblocks()
    for i, claim in enumerate(claims[1000:], 1000):
        assert "address conflict" in reasons(handle("lan0", 10.0 + i * 1e-3, claim))
    gc.collect()
    per_claim = (sys.getallocatedblocks() - before) / 5000
    attacker = probe.probes["lan0"].neighbors.by_mac[ATTACKER]
    assert len(attacker.addresses) == 4
    assert per_claim < 1, per_claim


def test_the_window_is_inclusive():
    """A holder heard exactly CONFLICT_WINDOW seconds before the taking is alive; one
    heard a millisecond earlier is not (a move: NDPMon's low alert alone)."""
    for quiet, conflict in ((CONFLICT_WINDOW, True), (CONFLICT_WINDOW + 0.001, False)):
        probe = engine()
        mac, addr = host(1)
        probe.handle("lan0", 0.0, ns(ATTACKER, ATTACKER_LLA, ROUTER.lla))
        probe.handle("lan0", 100.0, na(mac, addr, addr))
        got = reasons(probe.handle("lan0", 100.0 + quiet, na(ATTACKER, addr, addr)))
        assert got[0] == "changed ethernet address"
        assert ("address conflict" in got) is conflict, quiet


def test_the_messages_are_made_when_read():
    """``address conflict`` and ``neighbor cache poisoning`` carry their message as a
    Text until an output reads it (a flood raises one per frame), then the text."""
    probe = engine()
    mac, addr = host(1)
    probe.handle("lan0", 0.0, ns(ATTACKER, ATTACKER_LLA, ROUTER.lla))
    probe.handle("lan0", 1.0, na(mac, addr, addr))
    conflict = probe.handle("lan0", 2.0, na(ATTACKER, addr, addr))[-1]
    mac, addr = host(2)  # its own MAC and address, the attacker's MAC as SLLA
    probe.handle("lan0", 3.0, na(mac, addr, addr))
    poisoning = probe.handle("lan0", 4.0, _with_slla(mac, addr, ATTACKER))[-1]
    for alert, text in (
            (conflict, "address conflict between 2:0:5e:0:0:1 and 0:0:5e:0:53:66 for "
                       "2001:db8:1::1"),
            (poisoning, "neighbor cache poisoning: NS from 2:0:5e:0:0:2 binds 2001:db8:1::2 "
                        "to 0:0:5e:0:53:66, not to its owner 2:0:5e:0:0:2")):
        held = alert[4]
        assert isinstance(held, Text) and held.text is None
        assert alert.message == text


def _with_slla(mac: bytes, src: bytes, slla: bytes) -> bytes:
    """An NS from ``mac`` and ``src`` to the router whose Source Link-Layer option is
    ``slla``."""
    body = struct.pack("!BBHI", 135, 0, 0, 0) + ROUTER.lla + struct.pack("!BB", 1, 1) + slla
    dst = bytes.fromhex("ff0200000000000000000001ff") + ROUTER.lla[13:]
    return frame(mac, b"\x33\x33\xff" + ROUTER.lla[13:], src, dst, body)
