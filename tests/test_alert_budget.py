"""The flood budget (ndpmon.alerts.budget) on its own, and behind the repeats (dedupe):
which alerts of a reason go out when many sources raise it, what the summary says, and
that a flood of random sources costs bounded memory. End to end, with a real pipe
program: tests/test_floods.py."""

from __future__ import annotations

import random
from pathlib import Path

from ndpmon.alerts import budget
from ndpmon.alerts.budget import Budget, source_label, source_of
from ndpmon.alerts.dedupe import MAX_WINDOWS, Dedupe
from ndpmon.checks.alert import Alert, Priority

ROGUE = (bytes.fromhex("006666666666"), bytes.fromhex("fe80" + "00" * 12 + "0666"))


def ra_alert(mac: bytes, lla: bytes, n: int = 0, reason: str = "wrong ipv6 router",
             **extra) -> Alert:
    """A HIGH alert about a router (MAC, LLA); ``n`` makes the message distinct."""
    return Alert(1767225600.0 + n, "eth0", Priority.HIGH, reason,
                 f"{reason} {mac.hex()} {lla.hex()} #{n}", mac, None, lla, extra)


def made_up(rng: random.Random) -> tuple[bytes, bytes]:
    """A made-up router: random MAC, random link-local address."""
    return rng.randbytes(6), bytes.fromhex("fe80" + "00" * 6) + rng.randbytes(8)


def test_the_first_alert_of_a_new_source_is_never_held_back():
    """Twenty-five made-up routers raise two alerts each: their second alerts use up the burst
    of 20 shared by all, yet the real rogue's first alert still goes out; its second alert
    is held back like theirs."""
    out: list[Alert] = []
    b = Budget(60, 20, out.append)
    rng = random.Random(1)
    decoys = [made_up(rng) for _ in range(25)]
    got = [b.admit(ra_alert(*d, n), 1000.0) for n in range(2) for d in decoys]
    assert got == [True] * 45 + [False] * 5
    assert b.admit(ra_alert(*ROGUE), 1000.0)
    assert not b.admit(ra_alert(*ROGUE, n=1), 1000.0)
    assert b.held_back == 6 and out == []


def test_past_new_sources_new_ones_share_the_burst_then_are_held():
    """``new_sources`` sources get their first alert out free; the next sources share the
    burst (what is left of it) and the rest is held back and counted."""
    b = Budget(60, 3, lambda _: None, new_sources=5)
    rng = random.Random(2)
    results = [b.admit(ra_alert(*made_up(rng)), 1000.0) for _ in range(12)]
    assert results == [True] * 8 + [False] * 4
    assert b.held_back == 4


def test_summary_names_the_busiest_sources_with_counts():
    """At close, one summary per reason: what was held back, the busiest sources first
    with their alert counts (a prefix alert counts for its prefix), how many more, and the
    first and last alerts held back; its fields say how many were held back."""
    out: list[Alert] = []
    b = Budget(60, 1, out.append, top=2)
    rng = random.Random(3)
    others = [made_up(rng) for _ in range(3)]
    prefix = bytes.fromhex("20010db8bad0") + bytes(10)
    alerts = [ra_alert(*ROGUE, n) for n in range(4)] + [ra_alert(*o) for o in others]
    alerts += [ra_alert(*others[0], n=9, prefix=prefix, prefixlen=64)] * 2
    for alert in alerts:
        b.admit(alert, 1000.0)
    b.close_expired(1059.0)
    assert out == []
    b.close_expired(1060.0)
    [summary] = out
    assert summary.message == (
        "wrong ipv6 router: 3 more alerts held back in 60 s; by source: "
        "0:66:66:66:66:66 fe80::666 x4, 2001:db8:bad0::/64 x2 and 3 more sources "
        f"(the first: {alerts[2].message}; the last: {alerts[-1].message})")
    assert summary.mac == others[0][0] and summary.extra["held_back"] == 3


def test_sources_and_labels():
    """A router alert's source is its (MAC, address) pair, a prefix alert's its prefix;
    an alert with neither has none (it only takes the shared burst)."""
    assert source_of(ra_alert(*ROGUE)) == ROGUE
    assert source_label(ROGUE) == "0:66:66:66:66:66 fe80::666"
    prefix = ra_alert(*ROGUE, prefix=bytes.fromhex("20010db8") + bytes(12), prefixlen=48)
    assert source_label(source_of(prefix)) == "2001:db8::/48"
    bare = Alert(0.0, "eth0", Priority.HIGH, "capture drops", "capture drops: 5")
    assert source_of(bare) is None
    b = Budget(60, 1, lambda _: None)
    assert [b.admit(bare, 0.0), b.admit(bare._replace(message="x"), 0.0)] == [True, False]


def test_forget_gives_a_source_its_first_alert_back():
    """A first alert that could not be queued does not count: the source's next alert is its
    first again (the dispatcher calls ``forget`` on overflow)."""
    b = Budget(60, 0, lambda _: None)
    first = ra_alert(*ROGUE)
    assert b.admit(first, 0.0)
    b.forget(first)
    assert b.admit(ra_alert(*ROGUE, n=1), 0.0)
    assert not b.admit(ra_alert(*ROGUE, n=2), 0.0)


def test_a_new_window_forgets_the_sources():
    """Each window starts afresh: a source seen in the last one is new again."""
    b = Budget(10, 0, lambda _: None)
    assert b.admit(ra_alert(*ROGUE), 0.0)
    assert not b.admit(ra_alert(*ROGUE, n=1), 9.0)
    assert b.admit(ra_alert(*ROGUE, n=2), 10.0)
    assert len(b.sources) == 1


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_a_million_random_sources_cost_bounded_memory():
    """1,000,000 alerts, each from its own random router, in one window, through the repeats
    and the budget: every table stays at its cap, what goes out is bounded (the first
    ``NEW_SOURCES`` sources and the burst), and the process grows by a few MiB at most
    (unbounded, the sources alone would take hundreds)."""
    out: list[Alert] = []
    dedupe = Dedupe(60, 20, out.append)
    rng = random.Random(4)
    before, sent = _rss_kib(), 0
    for n in range(1_000_000):
        sent += not dedupe.held(ra_alert(*made_up(rng), n), 1000.0 + n / 100_000)
    grown = _rss_kib() - before
    assert len(dedupe.budget.sources) == budget.MAX_SOURCES
    assert len(dedupe.windows) <= MAX_WINDOWS and len(dedupe.budget.kinds) == 1
    assert sent == budget.NEW_SOURCES + 20 and dedupe.held_back == 1_000_000 - sent
    print(f"1M random sources: RSS grew by {grown} KiB")
    assert grown < 32 * 1024
    dedupe.close_all()
    [summary] = out
    assert "held back in 60 s; by source: " in summary.message
    assert " and 999995 more sources (the first: " in summary.message
