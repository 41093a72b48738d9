"""Shared test helpers: config scenarios and engines built from plain dict descriptions.

The sample sidecars (``tests/data/pcaps/*.json``) name a config scenario from
``tests/data/pcaps/configs.json`` and may carry an initial neighbour cache; both are
plain JSON so that ``tests/data/make_pcaps.py`` can write them. This is the one place
that turns those descriptions into model objects.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ndpmon.engine.engine import Engine
from ndpmon.config import values as convert
from ndpmon.config.values import ipv6 as parse_ipv6, mac as parse_mac
from ndpmon.config.model import Config, Limits, Prefix, Probe, Proxy, Route, Router, Settings
from ndpmon.state.neighbors import Address, Neighbor
from services import rsyslog, rsyslog_stream  # noqa: F401  (fixtures for every test module)

DATA = Path(__file__).resolve().parent / "data"
PCAPS = DATA / "pcaps"
#: ``shared/`` beside the repository root, found relative to it, never by an absolute path:
#: CI puts a copy there, next to its fresh clone, as the development tree has it.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
#: What NDPMon 2.1.0 itself wrote for the golden captures (COMPATIBILITY.md §2.10); the
#: environment variable NDPMON_GOLDEN names another copy.
GOLDEN = Path(os.environ.get("NDPMON_GOLDEN", SHARED / "ndpmon-reference" / "golden"))


def _router(desc: dict[str, Any]) -> Router:
    params = desc.get("params", {})
    return Router(
        mac=parse_mac(desc["mac"]),
        lla=parse_ipv6(desc["lla"]),
        curhoplimit=params.get("curhoplimit"),
        flags=params.get("flags"),
        router_lifetime=params.get("router_lifetime"),
        reachable_timer=params.get("reachable_timer"),
        retrans_timer=params.get("retrans_timer"),
        mtu=params.get("mtu"),
        params_volatile=desc.get("params_volatile", True),
        addresses=tuple(parse_ipv6(a) for a in desc.get("addresses", ())),
        prefixes=tuple(Prefix(parse_ipv6(p["prefix"]), p["mask"], p.get("flags"),
                              p.get("valid"), p.get("preferred"))
                       for p in desc.get("prefixes", ())),
        rdnss=tuple((parse_ipv6(a), life) for a, life in desc.get("rdnss", ())),
        dnssl=tuple((name, life) for name, life in desc.get("dnssl", ())),
        routes=tuple(Route(parse_ipv6(r["prefix"]), r["mask"], r["pref"], r["lifetime"])
                     for r in desc.get("routes", ())),
    )


def _probe(name: str, desc: dict[str, Any]) -> Probe:
    routers = tuple(_router(r) for r in desc.get("routers", ()))
    proxies = tuple(Proxy(parse_mac(p["mac"]), *convert.prefix(p["prefix"]))
                    for p in desc.get("proxies", ()))
    return Probe(name, routers=routers, proxies=proxies)


def make_config(desc: dict[str, Any], probe: str = "lan0") -> Config:
    """A Config with probe ``probe`` from ``{"routers": [...], "limits": {...}}``, and
    the probes of ``"probes": {name: {"routers": [...]}}`` (the VLANs of a trunk) after
    it."""
    settings = Settings(limits=Limits(**desc.get("limits", {})))
    more = tuple(_probe(name, more) for name, more in desc.get("probes", {}).items())
    return Config("<test>", settings=settings, probes=(_probe(probe, desc), *more))


def make_engine(desc: dict[str, Any], cache: list[dict[str, Any]] | None = None,
                probe: str = "lan0") -> Engine:
    """A fresh Engine for ``desc`` with the neighbours of ``cache`` already known."""
    engine = Engine(make_config(desc, probe))
    neighbors = engine.probes[probe].neighbors
    for entry in cache or ():
        nb = Neighbor(parse_mac(entry["mac"]), parse_ipv6(entry.get("lla", "::")),
                      entry["lastseen"])
        for text in entry.get("addresses", ()):
            addr = parse_ipv6(text)
            nb.addresses[addr] = Address(addr, entry["lastseen"], entry["lastseen"])
        nb.old_macs = [parse_mac(m) for m in entry.get("old_macs", ())]
        if entry.get("previous_mac"):
            nb.previous_mac = parse_mac(entry["previous_mac"])
        neighbors.insert(nb)
    return engine


_GENERATOR = None


def generator():
    """The fixture generator ``tests/data/make_pcaps.py`` as a module (loaded once)."""
    global _GENERATOR
    if _GENERATOR is None:
        spec = importlib.util.spec_from_file_location("make_pcaps", DATA / "make_pcaps.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _GENERATOR = module
    return _GENERATOR


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    """Run with TZ=UTC, the zone the golden files were written in."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
