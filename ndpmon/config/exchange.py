"""Learned routers as plain data, for the one hand-over from the unprivileged monitor to
root's config writer (ndpmon.run.learnwriter).

Learning under ``--user`` must not give that account the config: root keeps a small
writer process, and at the end the monitor sends it the routers it learned. The
monitor has parsed packets from a hostile LAN, so root treats what arrives as untrusted
data: JSON (never pickle), routers only (never settings or plugins), every value checked
here against its type and range before it becomes a Router, and the whole message
bounded in size. Pure functions; no I/O.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Mapping

from ndpmon.config.model import Prefix, Route, Router

__all__ = ["dumps", "loads", "MAX_BYTES"]

#: The largest hand-over root reads (a learned config is kilobytes; 10,000 routers with
#: 45 prefixes each stay under this).
MAX_BYTES = 64 * 2**20
_U32 = 2**32
_INTS = ("curhoplimit", "flags", "router_lifetime", "reachable_timer", "retrans_timer",
         "mtu")


def dumps(learned: Mapping[str, tuple[Router, ...]]) -> bytes:
    """``{probe: [router, ...]}`` as JSON (bytes as hex)."""
    return json.dumps({probe: [_router_out(r) for r in routers]
                       for probe, routers in learned.items()}).encode()


def _router_out(r: Router) -> dict[str, Any]:
    out = {f.name: getattr(r, f.name) for f in fields(Router)}
    out.update(mac=r.mac.hex(), lla=r.lla.hex(), addresses=[a.hex() for a in r.addresses],
               prefixes=[[p.address.hex(), p.length, p.flags, p.valid, p.preferred]
                         for p in r.prefixes],
               rdnss=[[a.hex(), life] for a, life in r.rdnss],
               dnssl=[[name, life] for name, life in r.dnssl],
               routes=[[rt.address.hex(), rt.length, rt.pref, rt.lifetime]
                       for rt in r.routes])
    return out


def loads(data: bytes) -> dict[str, tuple[Router, ...]]:
    """The routers of ``dumps``' output; ValueError (one line) for anything else."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"learned routers: over {MAX_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"learned routers: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("learned routers: not an object")
    return {_text(probe, 64): tuple(_router_in(r) for r in _list(routers))
            for probe, routers in doc.items()}


def _router_in(r: Any) -> Router:
    if not isinstance(r, dict):
        raise ValueError("learned routers: a router is not an object")
    ints = {name: _int(r.get(name), _U32, optional=True) for name in _INTS}
    return Router(
        mac=_hex(r.get("mac"), 6), lla=_hex(r.get("lla"), 16), **ints,
        params_volatile=bool(r.get("params_volatile", True)),
        addresses=tuple(_hex(a, 16) for a in _list(r.get("addresses"))),
        prefixes=tuple(Prefix(_hex(a, 16), _int(n, 129), *(_int(v, _U32, optional=True)
                                                         for v in rest))
                       for a, n, *rest in _rows(r.get("prefixes"), 5)),
        rdnss=tuple((_hex(a, 16), _int(life, _U32)) for a, life in _rows(r.get("rdnss"), 2)),
        dnssl=tuple((_text(name, 255), _int(life, _U32))
                    for name, life in _rows(r.get("dnssl"), 2)),
        routes=tuple(Route(_hex(a, 16), _int(n, 129), _int(pref, 4), _int(life, _U32))
                     for a, n, pref, life in _rows(r.get("routes"), 4)))


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise ValueError("learned routers: a list was expected")
    return value


def _rows(value: Any, width: int) -> list[list]:
    rows = _list(value if value is not None else [])
    if any(not isinstance(row, list) or len(row) != width for row in rows):
        raise ValueError(f"learned routers: a row of {width} values was expected")
    return rows


def _hex(value: Any, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise ValueError(f"learned routers: not {size} bytes in hex: {value!r:.40}")
    return bytes.fromhex(value)


def _int(value: Any, below: int, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if type(value) is not int or not 0 <= value < below:
        raise ValueError(f"learned routers: not a number below {below}: {value!r:.40}")
    return value


def _text(value: Any, longest: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise ValueError(f"learned routers: not a name of at most {longest} characters")
    return value
