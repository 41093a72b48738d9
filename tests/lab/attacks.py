"""The attack table: each THC-IPv6 tool the lab runs, and the alerts it must raise.

One row per run: the tool and its options (``{name}`` fields are filled from the lab:
host1's address, the router's link-local ...), where it runs (``atk`` on the LAN, or
``wan`` behind the router), what the LAN must do meanwhile for the tool to have
something to attack, and the alerts that name what it does. ``must`` is a list of
alternatives: each entry is a set of reasons of which at least one must appear (high
priority unless the reason is a low one), so that "a spoofed NA" can be any of the
neighbour-change reasons, whichever the cache history makes it.

They run in this order: neighbour spoofing first, then the rogue routers (after which
the hosts carry the rogue prefixes and routes, as real victims would), the floods last.
The README's table is this one, as measured by ``tests/lab/test_lab.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

SPOOFED_MAC = {"changed ethernet address", "flip flop", "reused old ethernet address"}
ROGUE_MAC, ROGUE_LLA = "00:de:ad:be:ef:01", "fe80::dead"


@dataclass(frozen=True)
class Attack:
    name: str
    argv: tuple[str, ...]
    must: tuple[frozenset[str], ...]
    meanwhile: str = ""  # a Lab action run while the tool runs (see test_lab.MEANWHILE)
    role: str = "atk"
    seconds: float = 5.0
    why: str = ""


def one(*reasons: str) -> frozenset[str]:
    return frozenset(reasons)


#: A MAC the attacker sends from with ``-m`` (its own is left for the unknown-MAC rows).
KNOWN_ATTACKER_MAC = "00:00:5e:00:53:77"

ATTACKS = (
    Attack("fake_advertise6 (known station)",
           ("sh", "-c", f"atk6-fake_advertise6 -m {KNOWN_ATTACKER_MAC} -n 1 eth0 "
                        f"2001:db8:1::5377 ff02::1 {KNOWN_ATTACKER_MAC}; sleep 1; "
                        f"exec atk6-fake_advertise6 -m {KNOWN_ATTACKER_MAC} -w 1 eth0 "
                        f"{{host1}} ff02::1 {KNOWN_ATTACKER_MAC}"),
           (one("address conflict"),), meanwhile="resolve",
           why="a station already on the LAN (it advertised an address of its own) claims "
               "host1's address while host1 still talks (NDPMon: one low changed ethernet "
               "address, then nothing)"),
    Attack("fake_advertise6", ("atk6-fake_advertise6", "-w", "1", "eth0", "{host1}"),
           (one(*SPOOFED_MAC),), why="claims host1's address"),
    Attack("parasite6", ("atk6-parasite6", "eth0"), (one(*SPOOFED_MAC),),
           meanwhile="resolve", why="answers every NS with the attacker's MAC"),
    Attack("dos-new-ip6", ("atk6-dos-new-ip6", "eth0"), (one("dad dos"),),
           meanwhile="new_address", why="answers every DAD probe: no host gets an address"),
    Attack("redir6", ("atk6-redir6", "eth0", "{host1}", "2001:db8:99::1", "{router_lla}",
                      "{atk_lla}"),
           (one("redirect to unknown router"),),
           why="a Redirect in the router's name (its MAC and link-local) sends host1's "
               "traffic to the attacker"),
    Attack("ndpexhaust6 (off-link)", ("atk6-ndpexhaust6", "eth0", "2001:db8:1::/64"),
           (one("ND flood"),), role="wan",
           why="pings random addresses of the LAN prefix: the router solicits each"),
    Attack("ndpexhaust26", ("atk6-ndpexhaust26", "eth0", "2001:db8:1::/64"),
           (one("ND flood"),), why="the same from the LAN, with Packet Too Big"),
    Attack("fake_router6", ("atk6-fake_router6", "eth0", "2001:db8:bad::/64"),
           (one("wrong ipv6 router"),), why="a rogue router advertising its prefix"),
    Attack("fake_router26 -E H", ("atk6-fake_router26", "-E", "H", "-A", "2001:db8:e1::/64",
                                  "-i", "1", "eth0"),
           (one("ND message behind extension headers"), one("wrong ipv6 router")),
           why="RA behind a hop-by-hop header (RA-Guard evasion)"),
    Attack("fake_router26 -E 1", ("atk6-fake_router26", "-E", "1", "-A", "2001:db8:e2::/64",
                                  "-i", "1", "eth0"),
           (one("wrong ipv6 router"),),
           why="meant to add an atomic fragment header; thc-ipv6 3.8 sends a plain RA "
               "(checked with tcpdump)"),
    Attack("fake_router6 -F", ("atk6-fake_router6", "-F", "eth0", "2001:db8:e7::/64"),
           (one("fragmented ND message"),),
           why="RA split into fragments"),
    Attack("fake_router26 -E D", ("atk6-fake_router26", "-E", "D", "-A", "2001:db8:e3::/64",
                                  "-i", "1", "eth0"),
           (one("incomplete header chain"),),
           why="RA after a destination header so large the ICMPv6 header is fragment 2"),
    Attack("fake_router26 -E F", ("atk6-fake_router26", "-E", "F", "-A", "2001:db8:e4::/64",
                                  "-i", "1", "eth0"),
           (one("incomplete header chain"),), why="full evasion"),
    Attack("fake_router26 -E O", ("atk6-fake_router26", "-E", "O", "-A", "2001:db8:e5::/64",
                                  "-i", "1", "eth0"),
           (one("overlapping fragments"),),
           why="an echo request overwritten into an RA (keep-first targets)"),
    Attack("fake_router26 -E o", ("atk6-fake_router26", "-E", "o", "-A", "2001:db8:e6::/64",
                                  "-i", "1", "eth0"),
           (one("overlapping fragments"),),
           why="the same for keep-last targets (Linux)"),
    Attack("flood_router6", ("atk6-flood_router6", "eth0"),
           (one("wrong ipv6 router"), one("ND flood")),
           why="RAs from random routers"),
    Attack("flood_router26", ("atk6-flood_router26", "eth0"),
           (one("wrong ipv6 router"), one("ND flood")),
           why="RAs from random routers, newer tool"),
    Attack("flood_advertise6", ("atk6-flood_advertise6", "eth0"),
           (one("ND flood"), one("neighbor cache limit reached")),
           seconds=3, why="NAs from random MACs and addresses"),
)

#: After the floods: one RA from a router nobody saw before must still be caught.
AFTER_FLOODS = ("atk6-fake_router26", "-n", "1", "-A", "2001:db8:c0de::/64", "-S", ROGUE_MAC,
                "-s", ROGUE_LLA, "eth0")
