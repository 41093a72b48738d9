"""ND proxies: declared ones are let through, undeclared ones are reported.

A proxy (RFC 4861 §7.2.8, RFC 4389; npd6 or ndpmon's ndproxy plugin on a gateway)
answers Neighbor Solicitations for addresses that are not its own: its NAs carry a
target that is not their source, and its MAC as target link-layer address. To the
neighbour checks that looks like one station claiming many addresses.

* An NA from a proxy declared for the probe (``<proxies><proxy mac prefix/>``) whose
  target is inside the declared prefix is an answer on behalf of another host: the
  checks after this one (``new_station``, ``watch_R_flag``, the rules) skip it.
* Any other MAC advertising ``PROXY_TARGETS`` addresses that are neither the NA's
  source nor addresses the cache knows for that MAC raises ``undeclared ND proxy``
  (high): either a proxy nobody told the monitor about or a station spoofing
  neighbours (the man in the middle of ``parasite6``).
"""

from __future__ import annotations

from ndpmon.checks import reasons
from ndpmon.codec.addr import in_prefix, ip_short, mac_str
from ndpmon.codec.message import NA, NdMessage
from ndpmon.checks.registry import HIGH, PASS, STOP, check
from ndpmon.checks.context import Context

__all__ = ["watch_na_proxy", "declared_proxy"]


def declared_proxy(proxies, mac: bytes, target: bytes) -> bool:
    """Is ``mac`` declared as a proxy for a prefix containing ``target``?"""
    return any(proxy.mac == mac and in_prefix(target, proxy.prefix, proxy.length)
               for proxy in proxies)


@check("watch_na_proxy", (NA,), stop_on_error=True, reasons=(reasons.UNDECLARED_PROXY,))
def watch_na_proxy(msg: NdMessage, ctx: Context) -> int:
    """RFC 4861 §7.2.8: an NA whose target is not its source speaks for someone else."""
    target, mac = msg.target, msg.eth_src
    if target == msg.src or target[0] == 0xFF:
        return PASS
    state = ctx.state
    if declared_proxy(state.probe.proxies, mac, target):
        return STOP  # a declared proxy's answer: nothing more to check, no alert
    cache = state.neighbors
    owner = cache.by_mac.get(mac)
    if owner is not None and (target == owner.lla or target in owner.addresses):
        return PASS  # a station answering for its own address from another one
    targets = state.proxy_watch.see(mac, target, ctx.now)
    if targets is None:
        return PASS
    shown = ", ".join(ip_short(t) for t in targets[:4])
    more = "+" if len(targets) >= 16 else ""
    ctx.alert(HIGH, reasons.UNDECLARED_PROXY,
              f"undeclared ND proxy {mac_str(mac)} {ip_short(msg.src)} answers for "
              f"{len(targets)}{more} addresses: {shown}{', ...' if len(targets) > 4 else ''}",
              targets=len(targets))
    return PASS
