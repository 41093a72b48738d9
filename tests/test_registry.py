"""The check registry mirrors NDPMon 2.1's watcher table (COMPATIBILITY.md §3.1)."""

from __future__ import annotations

from ndpmon.checks import registry
from ndpmon.codec.message import NA, NS, RA, REDIRECT, RS

ALL = {RS, RA, NS, NA, REDIRECT}

#: src/extensions.c:38-93 rows 5-19, after our three new checks; (name, types, stop)
NDPMON_TABLE = [
    ("watch_rates", ALL, False),
    ("watch_ext_headers", ALL, False),
    ("watch_malformed", ALL, True),
    ("watch_eth_mismatch", ALL, False),
    ("watch_eth_broadcast", ALL, False),
    ("watch_ip_broadcast", ALL, False),
    ("watch_bogon", ALL, False),
    ("watch_hop_limit", ALL, False),
    ("new_station", {RS}, False),
    ("watch_ra", {RA}, True),
    ("new_station", {RA}, False),
    ("new_station", {NS}, False),
    ("watch_dad", {NS}, False),
    ("watch_dad_dos", {NA}, True),
    ("watch_na_target", {NA}, True),
    ("watch_na_proxy", {NA}, True),  # new: declared proxies stop here (checks/proxy.py)
    ("new_station", {NA}, False),
    ("watch_R_flag", {NA}, False),
    ("watch_rd_src", {REDIRECT}, False),
    ("watch_rd_target", {REDIRECT}, False),
]


def test_order_types_and_stop_rule():
    """Names, message types and STOP_ON_ERROR flags are NDPMon's, in its order."""
    got = [(chk.name, set(types & chk.types), chk.stop_on_error) for chk, types in registry()]
    assert got == NDPMON_TABLE


def test_new_station_skips_the_unspecified_source():
    """new_station never sees a packet from :: (RS/NS rows 10 and 13; NA from :: is
    malformed here)."""
    flags = {chk.name: chk.skip_unspecified for chk, _ in registry()}
    assert flags["new_station"] is True
    assert [name for name, skip in flags.items() if skip] == ["new_station"]
