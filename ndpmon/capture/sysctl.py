"""``<ignor_autoconf>``: keep the monitor itself from being configured by what it watches.

NDPMon wrote the value verbatim into the kernel's IPv6 settings of every interface
(``net.ipv6.conf.all.*``, COMPATIBILITY.md §4.2). A monitor listens to rogue RAs and Redirects
all day; with 0 its kernel ignores them (RFC 4861 §6.3.4 processing, RFC 4862 SLAAC and
§8.3 redirects turned off), with 1 it accepts them. We write the same value, but only for
the interfaces we capture on: the host's other interfaces are not ours to change. A
setting that cannot be written (a container with a read-only /proc/sys) is logged, not
fatal: monitoring still works.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

__all__ = ["apply_ignor_autoconf", "KEYS"]

log = logging.getLogger("ndpmon")

#: The settings NDPMon wrote (settings.c:187-209).
KEYS = ("autoconf", "accept_ra", "accept_ra_defrtr", "accept_ra_pinfo", "accept_redirects")


def apply_ignor_autoconf(ifaces: Sequence[str], value: int | None,
                         root: str = "/proc/sys/net/ipv6/conf") -> list[str]:
    """Write ``value`` to each of KEYS of each interface; return what could not be set."""
    if value is None:
        return []
    failed = []
    for iface in ifaces:
        for key in KEYS:
            path = os.path.join(root, iface, key)
            try:
                with open(path, "w") as file:
                    file.write(f"{value}\n")
            except OSError as exc:
                failed.append(f"{iface}/{key}: {exc.strerror}")
    if failed:
        log.warning("ignor_autoconf: could not set %s", "; ".join(failed))
    else:
        log.info("ignor_autoconf: %s=%d on %s", ",".join(KEYS), value, ", ".join(ifaces))
    return failed
