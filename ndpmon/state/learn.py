"""Learning mode (``ndpmon -L``): what Router Advertisements teach about the routers.

NDPMon 2.1 learned only from RAs carrying a Prefix Information option, kept one prefix
per RA and lost the RDNSS/DNSSL/Route Information options after it (COMPATIBILITY.md §6.3,
§7.9), and added a second entry whenever a lifetime changed. Here every option of every
valid RA is learned, and a changed lifetime replaces the old one, so that monitoring
the same link afterwards with the learned routers raises no RA alert for what was seen.

A hostile link must not make learning unbounded (issue 15): it used to add every router
and prefix a flood invented, scanning all it knew at every change (8,000 routers from
flood_router26 took minutes, and their config was too large to load). So the
``Learner`` indexes everything by key (no scan), caps what it adds (``<limits
max_learned_*>``, reported), and learns nothing from a rate window the ND flood check
found flooded. Pure code: no I/O and no clock. ``learn_ra`` and ``learn_na`` are the
one-message forms: the very same tuple back when nothing was learned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from ndpmon.codec.addr import UNSPECIFIED, is_link_local, masked
from ndpmon.config.values import domain as parse_domain
from ndpmon.config.model import LEARNED_KINDS, Limits, Prefix, Route, Router
from ndpmon.codec.message import (NA, NA_ROUTER, RA, TYPE_NAMES, Dnssl, Mtu, NdMessage,
                                   PrefixInfo, Rdnss, RouteInfo, route_pref_reserved)
from ndpmon.state.entries import Entries, RouterLists

__all__ = ["learn_ra", "learn_na", "learnable", "router_na", "Learner", "Change"]

HOP_LIMIT = 255  # RFC 4861 §6.1.2: proof that the RA was not forwarded by a router
DEFAULTS = Limits()


def learnable(msg: NdMessage) -> bool:
    """Is ``msg`` an RA a host would accept (RFC 4861 §6.1.2), sent as-is on the link?

    Hosts drop malformed RAs (bad checksum, code, length or option length: the decoder
    sets ``malformed``), RAs whose hop limit is not 255 and RAs not from a link-local
    source (§6.1.2). RAs behind extension headers or in fragments are refused too
    (RFC 6980 §5, RFC 7113): they are how RA-Guard is evaded, never what a router sends.
    A router is identified by its Ethernet source, so that must be a station's address
    (IEEE 802: not all-zero, group bit clear).
    """
    return (msg.type == RA and msg.malformed is None and msg.hlim == HOP_LIMIT
            and is_link_local(msg.src) and not msg.ext and not msg.fragment
            and _station_mac(msg.eth_src))


def router_na(msg: NdMessage) -> bool:
    """Is ``msg`` an NA in which a router advertises a global address of its own?

    RFC 4861 §4.4: a router sets the Router flag in its NAs; target = source says the
    address is the sender's own; link-local, unspecified and multicast sources are not
    listed in ``<addresses>``.
    """
    return bool(msg.type == NA and msg.na_flags & NA_ROUTER and msg.malformed is None
                and msg.hlim == HOP_LIMIT and not msg.ext and msg.target == msg.src
                and not is_link_local(msg.src) and msg.src != UNSPECIFIED
                and msg.src[0] != 0xFF)


def learn_ra(routers: tuple[Router, ...], msg: NdMessage,
             limits: Limits = DEFAULTS) -> tuple[Router, ...]:
    """The routers after seeing the RA ``msg``; ``routers`` itself if nothing changed.

    A new (MAC, link-local address) pair is appended with ``params_volatile`` on, as
    NDPMon does: the admin turns parameter checking on by hand. A known router gets
    the RA's parameters (the last RA wins; its ``params_volatile`` is kept) and every
    option merged in (``Learner``). Order is stable: new entries are appended.
    """
    learner = Learner("", routers, limits)
    learner.ra(msg)
    return learner.routers


def learn_na(routers: tuple[Router, ...], msg: NdMessage,
             limits: Limits = DEFAULTS) -> tuple[Router, ...]:
    """The routers after the NA ``msg``: a learned router's own global address.

    When a router (known by its MAC) advertises an address of its own (``router_na``),
    the address goes into its ``<addresses>``, so that monitoring afterwards accepts
    its NAs with the Router flag (the ``NA router flag`` check). ``routers`` itself if
    nothing is new.
    """
    learner = Learner("", routers, limits)
    learner.na(msg)
    return learner.routers


#: (the router before, after) for each router learning changed; before is None for
#: a new router.
Change = tuple["Router | None", Router]


class Learner:
    """What learning knows of one probe's routers: indexed, within the caps.

    ``routers`` is the tuple the probe's state holds, replaced on every change. The
    routers are indexed by (MAC, link-local address) and by MAC, and each router's
    lists by their entries' keys, so an RA costs in proportion to its options, whatever
    was learned before. ``<limits max_learned_*>`` cap what learning adds; the first
    refusal of each kind goes into ``notes`` (logged at once), all are counted in
    ``refused`` (``report``, logged at the end).

    Floods: what a rate window teaches is kept in a journal until the window closes
    (``window_closed``); when the ND flood check finds a flood of RAs or NAs in it
    (``flood``), the window's changes are undone and nothing more is learned until the
    next window: a flood teaches nothing, and calm traffic is learned at once (before
    the checks, so that a learned router's RA reaches the neighbour cache).
    """

    def __init__(self, probe: str, routers: tuple[Router, ...], limits: Limits,
                 notes: list[str] | None = None) -> None:
        self.probe = probe
        self.routers = routers
        self.caps = {kind: getattr(limits, f"max_learned_{kind}") for kind in LEARNED_KINDS}
        self.refused: Counter[str] = Counter()
        self.flooded: Counter[str] = Counter()  # not learned: in a flooded window
        self.notes = notes if notes is not None else []
        self.flooding = False  # the current rate window is a flood
        self._seen: Counter[str] = Counter()  # RAs and router NAs of the current window
        self._refused_now: Counter[str] = Counter()  # what the caps refused in it
        self._noted: set[str] = set()  # the kinds whose cap was noted
        self._journal: list[tuple[int, Router | None]] = []  # the window's changes
        self._all = list(routers)
        self._where: dict[tuple[bytes, bytes], int] = {}
        self._by_mac: dict[bytes, list[int]] = {}
        self._lists: dict[int, RouterLists] = {}
        for index, router in enumerate(routers):
            self._index(index, router)

    # -- floods ------------------------------------------------------------------------

    def offer(self, msg: NdMessage) -> list[Change]:
        """An RA or NA seen while learning, before the checks: learned now, unless its
        rate window is already known to be a flood."""
        if not (learnable(msg) or router_na(msg)):
            return []
        name = TYPE_NAMES[msg.type]
        if self.flooding:
            self.flooded[name] += 1
            return []
        self._seen[name] += 1
        return self.learn(msg)

    def flood(self) -> None:
        """The checks found an ND flood of RAs or NAs in the current rate window: undo
        what the window taught and learn nothing more until it closes (the caller
        rebuilds the probe's indices from ``routers``: once per flooded window)."""
        if not self.flooding:
            self.flooding = True
            self.flooded.update(self._seen)
            self.refused.subtract(self._refused_now)  # counted once: as the flood's
            self._undo()

    def window_closed(self) -> None:
        """A new rate window starts: what the last one taught is kept."""
        self.flooding = False
        self._seen.clear()
        self._refused_now.clear()
        self._journal.clear()

    def _undo(self) -> None:
        for index, before in reversed(self._journal):
            self._lists.pop(index, None)  # rebuilt from the router when next needed
            if before is not None:
                self._all[index] = before
                continue
            gone = self._all.pop()  # a router new in this window: the last one
            if self._where.get((gone.mac, gone.lla)) == index:
                del self._where[(gone.mac, gone.lla)]
            same = self._by_mac[gone.mac]
            same.pop()
            if not same:
                del self._by_mac[gone.mac]
        self._journal.clear()
        self.routers = tuple(self._all)

    # -- learning ------------------------------------------------------------------------

    def learn(self, msg: NdMessage) -> list[Change]:
        """Learn from the RA or NA ``msg`` now; the routers it changed."""
        return self.ra(msg) if msg.type == RA else self.na(msg)

    def ra(self, msg: NdMessage) -> list[Change]:
        """Learn the RA ``msg`` if it is ``learnable``: its router (new, or updated)."""
        if not learnable(msg):
            return []
        index = self._where.get((msg.eth_src, msg.src))
        if index is not None:
            old = self._all[index]
            new = self._merge(index, old, msg)
            return [] if new is old else self._commit(index, old, new)
        if not self._room("routers", len(self._all)):
            return []
        index, blank = len(self._all), Router(mac=msg.eth_src, lla=msg.src)
        self._all.append(blank)
        self._index(index, blank)
        return self._commit(index, None, self._merge(index, blank, msg))

    def na(self, msg: NdMessage) -> list[Change]:
        """Learn the ``router_na`` ``msg``: the address, for each router of its MAC."""
        if not router_na(msg):
            return []
        changes: list[Change] = []
        for index in self._by_mac.get(msg.eth_src, ()):
            old = self._all[index]
            lists = self._lists_of(index, old)
            self._put(lists.addresses, "addresses", msg.src)
            addresses = lists.addresses.result(old.addresses)
            if addresses is not old.addresses:
                changes += self._commit(index, old, replace(old, addresses=addresses))
        return changes

    def report(self) -> list[str]:
        """What the caps and the floods kept out of learning on this probe (one line)."""
        parts = [f"{count} {kind} (max_learned_{kind} {self.caps[kind]})"
                 for kind, count in sorted(self.refused.items()) if count > 0]
        parts += [f"{count} {name}s in rate windows with an ND flood"
                  for name, count in sorted(self.flooded.items())]
        return [f"learning on {self.probe}: not learned: {', '.join(parts)}"] if parts else []

    # -- inside --------------------------------------------------------------------------

    def _merge(self, index: int, old: Router, msg: NdMessage) -> Router:
        """``old`` updated with the RA's fields and options; ``old`` itself if unchanged.

        RFC 4861 §4.2 fields are taken as they are (``flags`` is the whole M/O/... byte,
        compared as such by the RA check). The MTU (§4.6.4) is the last MTU option's
        value, 0 included (the RA check reports an MTU of 0 whatever was learned); an RA
        without one keeps the MTU learned before, None at first: the RA check skips a
        None MTU, whereas NDPMon's 0 for "no option" made every later MTU option an alert.
        """
        lists, mtu = self._lists_of(index, old), old.mtu
        for opt in msg.options:
            kind = type(opt)
            if kind is PrefixInfo:
                self._put(lists.prefixes, "prefixes", _prefix(opt))
            elif kind is Mtu:
                mtu = opt.mtu
            elif kind is Rdnss:
                for server in opt.servers:
                    self._put(lists.rdnss, "rdnss", (server, opt.lifetime))
            elif kind is Dnssl:
                for name in _domains(opt):
                    self._put(lists.dnssl, "dnssl", (name, opt.lifetime))
            elif kind is RouteInfo and not route_pref_reserved(opt.pref):
                self._put(lists.routes, "routes", _route(opt))
        params = dict(curhoplimit=msg.chlim, flags=msg.ra_flags,
                      router_lifetime=msg.routerlifetime, reachable_timer=msg.reachabletime,
                      retrans_timer=msg.retranstimer, mtu=mtu)
        entries = dict(prefixes=lists.prefixes.result(old.prefixes),
                       rdnss=lists.rdnss.result(old.rdnss), dnssl=lists.dnssl.result(old.dnssl),
                       routes=lists.routes.result(old.routes))
        if (all(getattr(old, name) == value for name, value in params.items())
                and all(getattr(old, name) is value for name, value in entries.items())):
            return old
        return replace(old, **params, **entries)

    def _put(self, entries: Entries, kind: str, new: Any) -> None:
        if not entries.upsert(new, self.caps[kind]):
            self._room(kind, len(entries.items))

    def _room(self, kind: str, size: int) -> bool:
        """Is there room for one more of ``kind``? If not, count it (and note the first)."""
        if size < self.caps[kind]:
            return True
        self.refused[kind] += 1
        self._refused_now[kind] += 1
        if kind not in self._noted:
            self._noted.add(kind)
            where = "the probe" if kind == "routers" else "a router"
            self.notes.append(f"learning on {self.probe}: {where} holds max_learned_{kind} "
                              f"({self.caps[kind]}): more {kind} are not learned (counted, "
                              "reported at the end)")
        return False

    def _commit(self, index: int, old: Router | None, new: Router) -> list[Change]:
        self._all[index] = new
        self.routers = tuple(self._all)
        self._journal.append((index, old))
        return [(old, new)]

    def _index(self, index: int, router: Router) -> None:
        self._where.setdefault((router.mac, router.lla), index)
        self._by_mac.setdefault(router.mac, []).append(index)

    def _lists_of(self, index: int, router: Router) -> RouterLists:
        lists = self._lists.get(index)
        if lists is None:
            lists = self._lists[index] = RouterLists(router)
        return lists


def _domains(opt: Dnssl) -> list[str]:
    """RFC 8106 §5.2: the option's domains as the config holds them.

    An option whose labels cannot be decoded is skipped whole (hosts discard it), as
    is a name the config could not hold (over 253 characters, control characters: the
    written file must load again, unlike NDPMon's, COMPATIBILITY.md §7.4).
    """
    if opt.error:
        return []
    names = []
    for name in opt.domains:
        try:
            names.append(parse_domain(name))
        except ValueError:
            continue
    return names

def _prefix(opt: PrefixInfo) -> Prefix:
    """RFC 4861 §4.6.2: the bits after the prefix length are ignored, so zero them."""
    return Prefix(masked(opt.prefix, opt.prefixlen), opt.prefixlen, opt.flags,
                  opt.validlifetime, opt.preferredlifetime)


def _route(opt: RouteInfo) -> Route:
    """RFC 4191 §2.3: ``pref`` is the whole Resvd/Prf byte, as the config stores it."""
    return Route(masked(opt.prefix, opt.prefixlen), opt.prefixlen, opt.pref,
                 opt.rtlifetime)


def _station_mac(mac: bytes) -> bool:
    """A unicast, non-zero MAC (IEEE 802: the group bit is the low bit of byte 0)."""
    return not mac[0] & 1 and any(mac)
