"""The decoded forms the decoder returns: an ND message, its options, or why it is none.

Field names follow scapy's ``layers/inet6.py`` where it has one (``chlim``, ``routerlifetime``,
``prefixlen``, ``validlifetime``, ``rtlifetime``...) shortened where the meaning stays plain.
These are plain ``__slots__`` classes, built once per frame by ``decode`` and never changed
afterwards: the decoder must reach hundreds of thousands of frames per second, which
rules out frozen dataclasses here (their ``__init__`` costs several times more).
"""

from __future__ import annotations

__all__ = [
    "RS", "RA", "NS", "NA", "REDIRECT", "ND_TYPES", "TYPE_NAMES",
    "EXT_HOP_BY_HOP", "EXT_ROUTING", "EXT_FRAGMENT", "EXT_AH", "EXT_DESTINATION", "EXT_NAMES",
    "MAX_NAMED_HEADERS", "header_chain", "ROUTE_PREF_RESERVED", "route_pref_reserved",
    "NotND", "Fragment", "NdMessage",
    "LinkLayer", "PrefixInfo", "Redirected", "Mtu", "RouteInfo", "Rdnss", "Dnssl", "Unknown",
]

RS, RA, NS, NA, REDIRECT = 133, 134, 135, 136, 137
ND_TYPES = frozenset((RS, RA, NS, NA, REDIRECT))
TYPE_NAMES = {RS: "RS", RA: "RA", NS: "NS", NA: "NA", REDIRECT: "Redirect"}

# IPv6 extension headers the decoder walks (RFC 8200 §4; AH: RFC 4302), by Next Header
EXT_HOP_BY_HOP, EXT_ROUTING, EXT_FRAGMENT, EXT_AH, EXT_DESTINATION = 0, 43, 44, 51, 60
EXT_NAMES = {EXT_HOP_BY_HOP: "hop-by-hop", EXT_ROUTING: "routing", EXT_FRAGMENT: "fragment",
             EXT_AH: "AH", EXT_DESTINATION: "destination"}
#: Headers named in an alert; a longer chain ends in ``+N more``, so that a frame with
#: 150 headers cannot make a 1.7 KB alert message (found by fuzz/, tests/test_fuzz.py).
MAX_NAMED_HEADERS = 8

# ND option types (RFC 4861 §4.6, RFC 4191, RFC 8106)
OPT_SLLA, OPT_TLLA, OPT_PREFIX, OPT_REDIRECTED, OPT_MTU = 1, 2, 3, 4, 5
OPT_ROUTE, OPT_RDNSS, OPT_DNSSL = 24, 25, 31

# flag bits of the NA (RFC 4861 §4.4) and RA (§4.2) messages
NA_ROUTER, NA_SOLICITED, NA_OVERRIDE = 0x80, 0x40, 0x20
RA_MANAGED, RA_OTHER = 0x80, 0x40
#: The Prf bits (RFC 4191 §2.1: bits 3-4 of the Route Information option's Resvd/Prf
#: byte) with the reserved value 10 (binary): the route is to be ignored.
ROUTE_PREF_RESERVED = 0x10
_PRF_BITS = 0x18


def header_chain(ext: tuple[int, ...]) -> str:
    """``hop-by-hop,destination``: the names of extension headers, as alerts print them;
    at most MAX_NAMED_HEADERS, then ``+N more``."""
    names = [EXT_NAMES.get(h, str(h)) for h in ext[:MAX_NAMED_HEADERS]]
    if len(ext) > MAX_NAMED_HEADERS:
        names.append(f"+{len(ext) - MAX_NAMED_HEADERS} more")
    return ",".join(names)


def route_pref_reserved(pref: int) -> bool:
    """Does a Route Information option's Resvd/Prf byte ``pref`` carry the reserved
    preference 10 (RFC 4191 §2.1, §2.3: the option is then ignored)?"""
    return pref & _PRF_BITS == ROUTE_PREF_RESERVED


class NotND:
    """A frame that is not an ND message we can look at, and why (for counters)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"NotND({self.reason!r})"


class Fragment(NotND):
    """A fragment that is not an ND message we can read: a later fragment, a first
    fragment of another ICMPv6 type, or a first fragment cut inside its header chain.

    The engine keeps track of these (``checks.fragments``): RFC 5722 forbids overlapping
    fragments and RFC 7112 a first fragment without the whole header chain, and both
    are how an RA is hidden from RA-Guard (RFC 6980, RFC 7113).
    """

    __slots__ = ("eth_src", "src", "dst", "ident", "offset", "length", "more",
                 "incomplete", "ext", "vlan")

    def __init__(self, reason: str, eth_src: bytes, src: bytes, dst: bytes, ident: bytes,
                 offset: int, length: int, more: bool, incomplete: bool,
                 ext: tuple[int, ...], vlan: int | None) -> None:
        self.reason = reason
        self.eth_src, self.src, self.dst, self.ident = eth_src, src, dst, ident
        self.offset, self.length, self.more = offset, length, more
        self.incomplete, self.ext, self.vlan = incomplete, ext, vlan


class NdMessage:
    """An ICMPv6 Neighbor Discovery message (RS, RA, NS, NA or Redirect) and its frame.

    ``malformed`` holds the first RFC 4861 validity rule the message breaks (None if it
    is valid); hosts discard such messages. ``opt_fault`` says why an option was
    skipped (hosts skip such options but accept the message). ``ext`` lists the
    extension headers that stood before ICMPv6 and ``fragment`` says whether a fragment
    header was among them.
    Type-specific fields that do not apply are None.
    """

    __slots__ = (
        "eth_dst", "eth_src", "vlan", "src", "dst", "hlim", "ext", "fragment",
        "type", "code", "checksum_ok", "malformed", "opt_fault",
        # RA (RFC 4861 §4.2)
        "chlim", "ra_flags", "routerlifetime", "reachabletime", "retranstimer",
        # NS/NA/Redirect target, NA flags, Redirect destination
        "target", "na_flags", "rd_dst",
        "options", "slla", "tlla",
        "plen",  # the IPv6 payload length (user rules match on it)
    )

    def __init__(self, eth_dst: bytes, eth_src: bytes, vlan: int | None, src: bytes,
                 dst: bytes, hlim: int, ext: tuple[int, ...], fragment: bool,
                 icmp_type: int, code: int) -> None:
        self.eth_dst = eth_dst
        self.eth_src = eth_src
        self.vlan = vlan
        self.src = src
        self.dst = dst
        self.hlim = hlim
        self.ext = ext
        self.fragment = fragment
        self.type = icmp_type
        self.code = code
        self.checksum_ok: bool | None = None
        self.malformed: str | None = None
        self.opt_fault: str | None = None
        self.chlim = self.ra_flags = self.routerlifetime = None
        self.reachabletime = self.retranstimer = None
        self.target = self.na_flags = self.rd_dst = None
        self.options: tuple = ()
        self.slla: bytes | None = None
        self.tlla: bytes | None = None
        self.plen = 0

    @property
    def type_name(self) -> str:
        """``RS``, ``RA``, ``NS``, ``NA`` or ``Redirect``."""
        return TYPE_NAMES[self.type]

    def __repr__(self) -> str:
        return f"<NdMessage {self.type_name} src={self.src.hex()} opts={self.options!r}>"


class _Opt:
    __slots__ = ()
    type = 0

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"{type(self).__name__}({body})"


class LinkLayer(_Opt):
    """Source (type 1) or Target (type 2) Link-Layer Address option, RFC 4861 §4.6.1."""

    __slots__ = ("type", "mac")

    def __init__(self, opt_type: int, mac: bytes) -> None:
        self.type = opt_type
        self.mac = mac


class PrefixInfo(_Opt):
    """Prefix Information option, RFC 4861 §4.6.2 (``flags`` is the whole L/A/R byte)."""

    __slots__ = ("prefixlen", "flags", "validlifetime", "preferredlifetime", "res2", "prefix")
    type = OPT_PREFIX

    def __init__(self, prefixlen: int, flags: int, valid: int, preferred: int,
                 res2: int, prefix: bytes) -> None:
        self.prefixlen = prefixlen
        self.flags = flags
        self.validlifetime = valid
        self.preferredlifetime = preferred
        self.res2 = res2
        self.prefix = prefix


class Redirected(_Opt):
    """Redirected Header option, RFC 4861 §4.6.3: the start of the redirected packet."""

    __slots__ = ("data",)
    type = OPT_REDIRECTED

    def __init__(self, data: bytes) -> None:
        self.data = data


class Mtu(_Opt):
    """MTU option, RFC 4861 §4.6.4."""

    __slots__ = ("mtu",)
    type = OPT_MTU

    def __init__(self, mtu: int) -> None:
        self.mtu = mtu


class RouteInfo(_Opt):
    """Route Information option, RFC 4191 §2.3 (``pref`` is the whole Resvd/Prf byte)."""

    __slots__ = ("prefixlen", "pref", "rtlifetime", "prefix")
    type = OPT_ROUTE

    def __init__(self, prefixlen: int, pref: int, lifetime: int, prefix: bytes) -> None:
        self.prefixlen = prefixlen
        self.pref = pref
        self.rtlifetime = lifetime
        self.prefix = prefix


class Rdnss(_Opt):
    """Recursive DNS Server option, RFC 8106 §5.1."""

    __slots__ = ("lifetime", "servers")
    type = OPT_RDNSS

    def __init__(self, lifetime: int, servers: tuple[bytes, ...]) -> None:
        self.lifetime = lifetime
        self.servers = servers


class Dnssl(_Opt):
    """DNS Search List option, RFC 8106 §5.2, names decoded from RFC 1035 labels.

    ``domains`` are lower-case, without the trailing dot. ``error`` says why the label
    encoding could not be decoded (then ``domains`` holds what came before the fault).
    """

    __slots__ = ("lifetime", "domains", "error")
    type = OPT_DNSSL

    def __init__(self, lifetime: int, domains: tuple[str, ...], error: str | None) -> None:
        self.lifetime = lifetime
        self.domains = domains
        self.error = error


class Unknown(_Opt):
    """Any other option, kept as its type and body."""

    __slots__ = ("type", "data")

    def __init__(self, opt_type: int, data: bytes) -> None:
        self.type = opt_type
        self.data = data
