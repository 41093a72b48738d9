"""Fragments that hide ND: a cut header chain and overlapping fragments.

An RA whose ICMPv6 header is not in the first fragment, or whose first fragment says
"echo request" until an overlapping fragment rewrites it, passes RA-Guard (RFC 7113 §2)
and THC's ``fake_router26 -E D|F|O|o`` send exactly these. Neither can be an ND message
the decoder reads, so they come here as ``ndmsg.Fragment`` rather than through the
check registry:

- ``incomplete header chain``: a first fragment that ends before the upper-layer header
  (RFC 7112 §5: hosts may, and ND hosts must (RFC 6980 §5), drop it);
- ``overlapping fragments``: a fragment that overlaps another of the same packet
  (RFC 5722 §4: the whole packet must be dropped; only an attacker sends one).

State: per probe, the byte ranges of recent fragmented packets (ndpmon.state.fragments),
bounded in count and age.
"""

from __future__ import annotations

from types import MappingProxyType

from ndpmon.checks import reasons
from ndpmon.checks.alert import Alert, Priority
from ndpmon.codec.addr import ip_full, mac_str
from ndpmon.codec.message import Fragment, header_chain
from ndpmon.state.fragments import MAX_RANGES, FragmentTable

__all__ = ["watch_fragment", "REASONS"]

REASONS = (reasons.INCOMPLETE_CHAIN, reasons.OVERLAPPING_FRAGMENTS)


def watch_fragment(frag: Fragment, table: FragmentTable, probe: str,
                   now: float) -> list[Alert]:
    """The alerts for one fragment (RFC 7112 §5, RFC 5722 §4); records its range."""
    alerts = []
    who = f"{mac_str(frag.eth_src)} {ip_full(frag.src)}"
    if frag.incomplete:
        chain = header_chain(frag.ext)
        alerts.append(_alert(frag, probe, now, reasons.INCOMPLETE_CHAIN,
                             f"incomplete header chain {who} headers={chain}"))
    ranges = table.ranges(frag, now)
    start, end = frag.offset, frag.offset + frag.length
    for first, last in ranges:
        if start < last and first < end:
            alerts.append(_alert(
                frag, probe, now, "overlapping fragments",
                f"overlapping fragments {who} id=0x{frag.ident.hex()} bytes {start}-{end} "
                f"over {first}-{last}"))
            break
    if len(ranges) < MAX_RANGES:
        ranges.append((start, end))
    return alerts


def _alert(frag: Fragment, probe: str, now: float, reason: str, message: str) -> Alert:
    extra = {"dst": frag.dst, "id": frag.ident.hex(), "offset": frag.offset}
    if frag.vlan is not None:
        extra["vlan"] = frag.vlan
    return Alert(now, probe, Priority.HIGH, reason, message, frag.eth_src, None, frag.src,
                 MappingProxyType(extra))
