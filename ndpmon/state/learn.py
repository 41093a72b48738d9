"""Learning mode (``ndpmon -L``): what one Router Advertisement teaches about the routers.

NDPMon 2.1 learned only from RAs carrying a Prefix Information option, kept one prefix
per RA and lost the RDNSS/DNSSL/Route Information options after it (COMPATIBILITY.md §6.3,
§7.9), and added a second entry whenever a lifetime changed. Here every option of every
valid RA is learned, and a changed lifetime replaces the old one, so that monitoring
the same link afterwards with the learned routers raises no RA alert for what was seen.

Pure code: no I/O and no clock. ``learn_ra`` returns the very same tuple when the RA
teaches nothing new, so that the caller can rebuild its router indices only on change
(``ProbeState.set_routers``) and a router repeating its RA costs little.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Hashable, TypeVar

from ndpmon.codec.addr import UNSPECIFIED, is_link_local, masked
from ndpmon.config.values import domain as parse_domain
from ndpmon.config.model import Prefix, Route, Router
from ndpmon.codec.message import (NA, NA_ROUTER, RA, Dnssl, Mtu, NdMessage,
                                   PrefixInfo, Rdnss, RouteInfo, route_pref_reserved)

__all__ = ["learn_ra", "learn_na", "learnable"]

T = TypeVar("T")

HOP_LIMIT = 255  # RFC 4861 §6.1.2: proof that the RA was not forwarded by a router


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


def learn_ra(routers: tuple[Router, ...], msg: NdMessage) -> tuple[Router, ...]:
    """The routers after seeing the RA ``msg``; ``routers`` itself if nothing changed.

    A new (MAC, link-local address) pair is appended with ``params_volatile`` on, as
    NDPMon does: the admin turns parameter checking on by hand. A known router gets
    the RA's parameters (the last RA wins; its ``params_volatile`` is kept) and every
    option merged in (``_merge``). Order is stable: new entries are appended.
    """
    if not learnable(msg):
        return routers
    for index, old in enumerate(routers):
        if old.mac == msg.eth_src and old.lla == msg.src:
            new = _merge(old, msg)
            if new is old:
                return routers
            return routers[:index] + (new,) + routers[index + 1:]
    return routers + (_merge(Router(mac=msg.eth_src, lla=msg.src), msg),)


def learn_na(routers: tuple[Router, ...], msg: NdMessage) -> tuple[Router, ...]:
    """The routers after the NA ``msg``: a learned router's own global address.

    RFC 4861 §4.4: a router sets the Router flag in its NAs. When a router (known by
    its MAC) advertises an address of its own (target = source, not link-local), the
    address goes into its ``<addresses>``, so that monitoring afterwards accepts its
    NAs with the Router flag (the ``NA router flag`` check). ``routers`` itself if
    nothing is new.
    """
    if (msg.type != NA or not msg.na_flags & NA_ROUTER or msg.malformed is not None
            or msg.hlim != HOP_LIMIT or msg.ext or msg.target != msg.src
            or is_link_local(msg.src) or msg.src == UNSPECIFIED or msg.src[0] == 0xFF):
        return routers
    changed = tuple(replace(r, addresses=r.addresses + (msg.src,))
                    if r.mac == msg.eth_src and msg.src not in r.addresses else r
                    for r in routers)
    return routers if changed == routers else changed


def _merge(old: Router, msg: NdMessage) -> Router:
    """``old`` updated with the RA's fields and options; ``old`` itself if unchanged.

    RFC 4861 §4.2 fields are taken as they are (``flags`` is the whole M/O/... byte,
    compared as such by the RA check). The MTU (§4.6.4) is the last MTU option's value,
    0 included (the RA check reports an MTU of 0 whatever was learned); an RA without
    one keeps the MTU learned before, None at first: the RA check skips a None MTU,
    whereas NDPMon's 0 for "no option" made every later MTU option an alert.
    """
    mtu = old.mtu
    prefixes, rdnss, dnssl, routes = old.prefixes, old.rdnss, old.dnssl, old.routes
    for opt in msg.options:
        kind = type(opt)
        if kind is PrefixInfo:
            prefixes = _upsert(prefixes, _prefix(opt), _prefix_key, _keep_address)
        elif kind is Mtu:
            mtu = opt.mtu
        elif kind is Rdnss:
            rdnss = _learn_rdnss(rdnss, opt)
        elif kind is Dnssl:
            dnssl = _learn_dnssl(dnssl, opt)
        elif kind is RouteInfo and not route_pref_reserved(opt.pref):
            routes = _upsert(routes, _route(opt), _route_key, _keep_address)
    fields = dict(curhoplimit=msg.chlim, flags=msg.ra_flags,
                  router_lifetime=msg.routerlifetime, reachable_timer=msg.reachabletime,
                  retrans_timer=msg.retranstimer, mtu=mtu, prefixes=prefixes,
                  rdnss=rdnss, dnssl=dnssl, routes=routes)
    if all(getattr(old, name) == value for name, value in fields.items()):
        return old
    return replace(old, **fields)


def _prefix(opt: PrefixInfo) -> Prefix:
    """RFC 4861 §4.6.2: the bits after the prefix length are ignored, so zero them."""
    return Prefix(masked(opt.prefix, opt.prefixlen), opt.prefixlen, opt.flags,
                  opt.validlifetime, opt.preferredlifetime)


def _route(opt: RouteInfo) -> Route:
    """RFC 4191 §2.3: ``pref`` is the whole Resvd/Prf byte, as the config stores it."""
    return Route(masked(opt.prefix, opt.prefixlen), opt.prefixlen, opt.pref,
                 opt.rtlifetime)


def _learn_rdnss(known: tuple[tuple[bytes, int], ...],
                 opt: Rdnss) -> tuple[tuple[bytes, int], ...]:
    """RFC 8106 §5.1: each server with the option's lifetime (one entry per server)."""
    for server in opt.servers:
        known = _upsert(known, (server, opt.lifetime), _first)
    return known


def _learn_dnssl(known: tuple[tuple[str, int], ...],
                 opt: Dnssl) -> tuple[tuple[str, int], ...]:
    """RFC 8106 §5.2: each domain with the option's lifetime.

    An option whose labels cannot be decoded is skipped whole (hosts discard it), as
    is a name the config could not hold (over 253 characters, control characters: the
    written file must load again, unlike NDPMon's, COMPATIBILITY.md §7.4).
    """
    if opt.error:
        return known
    for name in opt.domains:
        try:
            name = parse_domain(name)
        except ValueError:
            continue
        known = _upsert(known, (name, opt.lifetime), _first)
    return known


def _upsert(items: tuple[T, ...], new: T, key: Callable[[T], Hashable],
            merge: Callable[[T, T], T] | None = None) -> tuple[T, ...]:
    """``items`` with ``new`` added, or merged into the entry with the same key.

    Returns ``items`` itself when ``new`` is already there (the common case of a
    repeated RA) or the merge changes nothing; the entry keeps its place.
    """
    if new in items:
        return items
    wanted = key(new)
    for index, old in enumerate(items):
        if key(old) == wanted:
            item = new if merge is None else merge(old, new)
            if item == old:
                return items
            return items[:index] + (item,) + items[index + 1:]
    return items + (new,)


def _first(item: tuple) -> Hashable:
    """An RDNSS server or DNSSL domain is known by its address or name."""
    return item[0]


def _prefix_key(p: Prefix) -> Hashable:
    """A prefix is known by its length and its bits up to that length (§4.6.2)."""
    return p.length, masked(p.address, p.length)


def _route_key(r: Route) -> Hashable:
    """A route is known by its length and its bits up to that length (RFC 4191 §2.3)."""
    return r.length, masked(r.address, r.length)


def _keep_address(old: T, new: T) -> T:
    """The learned values, with the address as the config already spells it."""
    return replace(new, address=old.address)


def _station_mac(mac: bytes) -> bool:
    """A unicast, non-zero MAC (IEEE 802: the group bit is the low bit of byte 0)."""
    return not mac[0] & 1 and any(mac)
