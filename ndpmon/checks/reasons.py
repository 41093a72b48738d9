"""Every alert reason ndpmon raises, one constant each: the names plugins key on.

A reason is the short, fixed text that says what an alert is (``Alert.reason``); admins'
filters, the countermeasures plugin and the outputs match on it, so the texts are
NDPMon 2.1's where NDPMon had the alert (COMPATIBILITY.md §2) and never change. Code raises
and compares reasons through these constants (plugins: ``from ndpmon.plugin import
reasons``), so that a misspelt name fails at import instead of silently matching
nothing; tests/test_reasons.py checks that each is raised by something.
"""

from __future__ import annotations

# -- general checks (checks/general.py; NDPMon's monitoring.c) ------------------------
ETHERNET_MISMATCH = "ethernet mismatch"
ETHERNET_BROADCAST = "ethernet broadcast"
IP_MULTICAST = "ip multicast"
BOGON = "bogon"
WRONG_HOP_LIMIT = "wrong ipv6 hop limit"
# ndpmon's own general checks
ND_FLOOD = "ND flood"  # checks/rates.py
BEHIND_EXT_HEADERS = "ND message behind extension headers"
FRAGMENTED_ND = "fragmented ND message"
MALFORMED = "malformed ND message"
# fragments that hide ND (checks/fragments.py, run by the engine)
INCOMPLETE_CHAIN = "incomplete header chain"
OVERLAPPING_FRAGMENTS = "overlapping fragments"

# -- neighbour tracking (checks/neighbors.py; NDPMon's new_station) ---------------------
NEW_STATION = "new station"
NEW_LLA = "new lla"
NEW_IP = "new IP"
CHANGED_ETHERNET = "changed ethernet address"
WRONG_COUPLE_MAC_LLA = "wrong couple MAC/LLA"
FLIP_FLOP = "flip flop"
REUSED_OLD_ETHERNET = "reused old ethernet address"
NEW_ACTIVITY = "new activity"
# ndpmon's own neighbour checks (checks/neighbors.py)
ADDRESS_CONFLICT = "address conflict"
NEIGHBOR_POISONING = "neighbor cache poisoning"

# -- Router Advertisements (checks/ra.py; NDPMon's watch_ra) ----------------------------
WRONG_COUPLE_IP_MAC = "wrong couple IP/MAC"
WRONG_ROUTER_IP = "wrong router ip"
WRONG_ROUTER_MAC = "wrong router mac"
WRONG_IPV6_ROUTER = "wrong ipv6 router"
WRONG_RA_FLAGS = "wrong RA flags"
WRONG_RA_PARAMS = "wrong RA params"
WRONG_PREFIX = "wrong prefix"
WRONG_PREFIX_LIFETIMES = "wrong RA prefix option lifetimes"
PREFIX_LIFETIME_TOO_SHORT = "RA prefix option valid lifetime too short"
WRONG_PREFIX_PARAMS = "wrong RA prefix option params"
WRONG_MTU = "wrong RA mtu option"
WRONG_RDNSS = "wrong RA RDNSS option"
WRONG_DNSSL = "wrong RA DNSSL option"
WRONG_ROUTE = "wrong RA Route Info option"
WRONG_ROUTE_LIFETIME = "wrong RA Route Info lifetime"
WRONG_ROUTE_PREFERENCE = "wrong RA Route Info preference"

# -- Neighbor Solicitations and Advertisements (checks/na.py, checks/proxy.py) ---------
DAD_DOS = "dad dos"
NA_MULTICAST_TARGET = "NA multicast target"
NA_OVERRIDE_FLAG = "NA Override flag"
NA_ROUTER_FLAG = "NA router flag"
UNDECLARED_PROXY = "undeclared ND proxy"  # ndpmon's own

# -- Redirects (checks/redirect.py; NDPMon's watch_rd_src) -----------------------------
WRONG_COUPLE_IP_MAC_RD = "wrong couple IP/MAC in RD"
WRONG_REDIRECT_IP = "wrong router redirect ip"
WRONG_REDIRECT_MAC = "wrong router redirect mac"
WRONG_REDIRECT = "wrong router redirect"
REDIRECT_TO_UNKNOWN = "redirect to unknown router"  # ndpmon's own

# -- shipped plugins (NDPMon's mac_resolv and rules plugins) -----------------------------
UNKNOWN_MAC_VENDOR = "unknown mac vendor"  # plugins/mac_resolv.py
USER_RULE = "user defined rule matched"  # plugins/rules.py

# -- ndpmon's own state and delivery -----------------------------------------------------
CACHE_LIMIT = "neighbor cache limit reached"  # engine/engine.py
UNMONITORED_VLAN = "unmonitored VLAN"  # engine/engine.py: frames no probe is for
CAPTURE_DROPS = "capture drops"  # run/live.py
ALERT_QUEUE_OVERFLOW = "alert queue overflow"  # alerts/dispatch.py
OUTPUT_FAILURE = "output failure"  # alerts/guard.py, run/live.py: a file cannot be written
STORE_DROPS = "store drops"  # store/sync.py
MAC_ON_TWO_PROBES = "MAC on two probes"  # store/central.py
ADDRESS_ON_TWO_PROBES = "address on two probes"  # store/central.py
