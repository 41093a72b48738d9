"""The neighbour cache evicts the least recently seen neighbour, whatever its queue does.

ndpmon.state.neighbors keeps its LRU order in a queue where a neighbour seen again takes
one more place (cheaper per frame of a flood than an ordered dict); these tests hold it
to a plain model: an ordered dict, moved to the end on each sighting, evicting its
first. The queue's stale places and its compaction must never change which neighbour
leaves, nor let the queue grow without bound.
"""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given, settings, strategies as st

from ndpmon.codec.addr import UNSPECIFIED
from ndpmon.state.neighbors import NeighborCache

CAP = 4


def mac(i: int) -> bytes:
    return bytes((2, 0, 0, 0, i >> 8, i & 0xFF))


def play(steps: list[tuple[str, int]], cap: int = CAP) -> tuple[list[bytes], list[bytes]]:
    """Run ``steps`` (``add`` a new station, ``touch`` the i-th one still cached) on the
    cache and on the model; (the cache's evictions in order, the model's)."""
    cache, model = NeighborCache(max_neighbors=cap), OrderedDict()
    evicted: list[bytes] = []
    model_evicted: list[bytes] = []
    made = 0
    for t, (what, i) in enumerate(steps):
        if what == "add" or not model:
            made += 1
            before = set(cache.by_mac)
            cache.add(mac(made), UNSPECIFIED, float(t))
            evicted += sorted(before - set(cache.by_mac))
            if len(model) >= cap:
                model_evicted.append(model.popitem(last=False)[0])
            model[mac(made)] = True
        else:
            key = list(model)[i % len(model)]
            cache.touch(cache.by_mac[key], float(t))
            model.move_to_end(key)
        assert list(cache.by_mac) and len(cache) == len(model)
        assert len(cache._lru) <= 2 * len(cache) + 1024 + 1
    return evicted, model_evicted


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "touch", "touch"]),
                          st.integers(0, CAP - 1)), max_size=80))
def test_evictions_follow_the_least_recently_seen_order(steps):
    """Any mix of new stations and sightings evicts what the model evicts, in order."""
    evicted, expected = play(steps)
    assert evicted == expected


def test_many_sightings_compact_the_queue_and_keep_the_order():
    """Thousands of sightings of a few neighbours (normal traffic) keep the queue
    bounded, and the next evictions are still the least recently seen ones."""
    steps = [("add", 0)] * CAP
    steps += [("touch", k * 7 % CAP) for k in range(5000)]
    steps += [("touch", 2), ("touch", 0)]
    steps += [("add", 0)] * CAP
    evicted, expected = play(steps)
    assert evicted == expected and len(expected) == CAP


def test_a_flood_of_new_stations_evicts_the_oldest_first():
    """New stations only (a flood): first in, first out, and the counters say so."""
    cache = NeighborCache(max_neighbors=3)
    for i in range(1, 8):
        cache.add(mac(i), UNSPECIFIED, float(i), addr=bytes(15) + bytes((i,)))
    assert list(cache.by_mac) == [mac(5), mac(6), mac(7)]
    assert [nb.mac for nb in cache] == [mac(5), mac(6), mac(7)]
    assert len(cache.by_ip) == 3 and cache.evictions.neighbors == 4
