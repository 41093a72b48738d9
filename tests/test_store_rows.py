"""Hostile text on its way into the PostgreSQL store (issue 15, item 3).

A packet's bytes reach the store's text and ``jsonb`` columns: a DNSSL label (latin-1,
any byte), a vendor name, a plugin's alert fields. Every row must be stored, whatever
the text: the values are cleaned before they are encoded (no NUL, no lone surrogate,
no NaN), and a row the database still refuses is dropped alone, the rest of its batch
written. Driven through a real PostgreSQL (tests/pgserver.py): hostile strings from a
seeded generator and from hypothesis, in every kind of row the monitor sends (alerts,
neighbours, routers, probes).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import pg  # noqa: F401 - the module's private PostgreSQL server

from ndpmon.checks.alert import Alert, Priority
from ndpmon.config.model import Prefix, Route, Router
from ndpmon.state.neighbors import NeighborCache
from ndpmon.store import schema
from ndpmon.store.rows import ROWS, alert_row, clean, router_rows, snapshot
from ndpmon.store.writer import StoreWriter

#: What made the database refuse whole batches, and what else a label can hold.
NASTY = ["\\u0000", "\0", "\\", "\\\\u0000", "\ud800", "\udfff", "\udcff", "\\x00",
         "\x85", "\u2028", "\x1b[2J", '"', "'", "\n", "\r", "\t", "\x7f", "\U0001f600",
         "\ufffe", "\uffff", "é", "\\ud800", "}", "{", "\\\"", "%s", "\\N", "\\."]


def hostile(rng: random.Random, size: int = 8) -> str:
    """A string made of NASTY pieces and random code points (surrogates included)."""
    parts = []
    for _ in range(rng.randrange(1, size)):
        if rng.random() < 0.6:
            parts.append(rng.choice(NASTY))
        else:
            parts.append(chr(rng.randrange(0, 0x110000)))
    return "".join(parts)


def hostile_value(rng: random.Random, depth: int = 0):
    """A value a check or a plugin might put into an alert's fields."""
    kind = rng.randrange(9 if depth < 2 else 6)
    return [lambda: hostile(rng), lambda: rng.randrange(-2**70, 2**70),
            lambda: rng.choice([math.nan, math.inf, -math.inf, 0.5]),
            lambda: rng.randbytes(rng.choice([6, 16, 3, 0])), lambda: None,
            lambda: rng.random() < 0.5,
            lambda: [hostile_value(rng, depth + 1) for _ in range(3)],
            lambda: tuple(hostile_value(rng, depth + 1) for _ in range(2)),
            lambda: {hostile(rng): hostile_value(rng, depth + 1) for _ in range(2)},
            ][kind]()


def alert(rng: random.Random, seq: int) -> Alert:
    extra = {hostile(rng, 4): hostile_value(rng) for _ in range(rng.randrange(4))}
    extra["domain"] = "evil\\u0000.example"  # the label of the issue: six characters
    return Alert(1_700_000_000.0 + seq, hostile(rng), Priority.HIGH, hostile(rng),
                 hostile(rng, 20), bytes(6), None, bytes(16), MappingProxyType(extra))


def neighbours(rng: random.Random, probe: str, count: int) -> list[tuple]:
    cache = NeighborCache()
    snaps = []
    for i in range(count):
        nb = cache.add(bytes([2, 0, 0, 0, i >> 8, i & 0xFF]), bytes(16), 1_700_000_000.0)
        nb.vendor = hostile(rng)
        cache.add_address(nb, bytes([0x20, 1, 0xD, 0xB8]) + bytes(10) + i.to_bytes(2, "big"),
                          1_700_000_000.0)
        snaps.append(snapshot(probe, nb))
    return snaps


def routers(rng: random.Random, count: int) -> tuple[Router, ...]:
    return tuple(Router(bytes([2, 0, 0, 0, 1, i]), bytes([0xFE, 0x80]) + bytes(13) + bytes([i]),
                        prefixes=(Prefix(bytes([0x20, 1, 0xD, 0xB8]) + bytes(12), 64),),
                        routes=(Route(bytes(16), 0, 0, 10),),
                        dnssl=tuple((hostile(rng, 30), 60) for _ in range(3)))
                 for i in range(count))


def writer(pg, **kw) -> StoreWriter:  # noqa: F811 - pg is the fixture
    import psycopg

    from pgserver import PASSWORD

    return StoreWriter(lambda: psycopg.connect(pg.url, password=PASSWORD), 100_000,
                       errors=((psycopg.OperationalError, psycopg.InterfaceError),
                               psycopg.Error), backoff=(0.05, 0.1), **kw)


@pytest.fixture
def store(pg):  # noqa: F811 - pg is the fixture
    """The server with the store's tables, emptied."""
    with pg.connect() as conn:
        conn.autocommit = False
        schema.migrate(conn)
    pg.psql("TRUNCATE ndpmon_alert, ndpmon_neighbor, ndpmon_address, ndpmon_router, "
            "ndpmon_probe")
    return pg


def count(pg, table: str) -> int:  # noqa: F811 - pg is the fixture
    return int(pg.psql(f"SELECT count(*) FROM {table}"))


def test_a_dnssl_label_holding_backslash_u0000_makes_valid_jsonb():
    """The six characters ``\\u0000`` (and a NUL, a lone surrogate, a NaN) give JSON
    that decodes to the cleaned text: no escape PostgreSQL refuses is written."""
    extra = MappingProxyType({"domain": "a\\u0000b", "nul": "x\0y", "half": "\ud800",
                              "n": math.nan, "mac": bytes(6)})
    row = alert_row("o", 1, "eth0", Alert(1.0, "eth0", Priority.HIGH, "r", "m", extra=extra))
    text = row[-1]
    escapes = re.findall(r"(?<!\\)(?:\\\\)*\\u([0-9a-fA-F]{4})", text)
    assert not [e for e in escapes if e == "0000" or 0xD800 <= int(e, 16) <= 0xDFFF]
    assert json.loads(text) == {"domain": "a\\u0000b", "nul": "x\\x00y", "half": "\\ud800",
                                "n": "nan", "mac": "0:0:0:0:0:0"}


def test_every_hostile_row_is_stored(store, caplog):
    """Seeded: 300 alerts with hostile text and fields, 200 neighbours with hostile
    vendors, routers with hostile DNSSL names under a hostile probe name, in one batch:
    every row is stored (none refused), alerts' text and fields as cleaned."""
    rng = random.Random(15)
    probe = clean("eth0/" + hostile(rng))
    alerts = [("fuzz", seq, probe, alert(rng, seq)) for seq in range(300)]
    w = writer(store, rows=ROWS, batch_rows=10_000)
    w.put("probe", [(probe, clean(hostile(rng)), 1_700_000_000.0)])
    w.put("alert", alerts)
    w.put("neighbor", neighbours(rng, probe, 200))
    w.put("router", [(probe, router_rows(probe, routers(rng, 5)))])
    w.start()
    with caplog.at_level(logging.ERROR, "ndpmon"):
        w.close(60)
    assert (w.rejected, sum(w.dropped.values())) == (0, 0), caplog.text
    assert [count(store, t) for t in ("ndpmon_alert", "ndpmon_neighbor", "ndpmon_address",
                                      "ndpmon_router", "ndpmon_probe")] == [300, 200, 200, 5, 1]
    with store.connect() as conn:
        got = dict(((seq, (message, fields)) for seq, message, fields in conn.execute(
            "SELECT seq, message, fields FROM ndpmon_alert")))
    for item in alerts:
        assert got[item[1]] == (clean(item[3].message), json.loads(alert_row(*item)[-1]))


#: Any text: NASTY pieces and any code point, surrogates included.
TEXT = st.lists(st.sampled_from(NASTY) | st.characters(blacklist_categories=()),
                max_size=12).map("".join)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(texts=st.lists(TEXT, min_size=4, max_size=4),
       field=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                          lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8))
def test_hypothesis_alert_and_router_text_is_stored(store, texts, field):
    """Any text (surrogates included) in an alert's probe, reason, message and fields,
    and in a router's DNSSL name and probe: the alert and the router are stored."""
    probe, reason, message, name = texts
    store.psql("TRUNCATE ndpmon_alert, ndpmon_router")
    a = Alert(1.0, probe, Priority.LOW, reason, message,
              extra=MappingProxyType({name: field, "x": field}))
    router = Router(bytes([2, 0, 0, 0, 0, 1]), bytes([0xFE, 0x80]) + bytes(14),
                    dnssl=((name or "x", 1),))
    stored = clean(probe) or "p"
    w = writer(store, rows=ROWS)
    w.put("alert", [("hyp", 1, probe, a)])
    w.put("router", [(stored, router_rows(stored, (router,)))])
    w.start()
    w.close(30)
    assert (w.rejected, w.written["alert"], w.written["router"]) == (0, 1, 1)
    assert (count(store, "ndpmon_alert"), count(store, "ndpmon_router")) == (1, 1)


def bad_alert(seq: int, mac: str = "00:00:00:00:00:01") -> tuple:
    """A raw alert row (the writer's ``rows`` map left out: rows go as they are)."""
    return ("raw", seq, 1_700_000_000.0, "eth0", 2, "r", "m", mac, None, None, "{}")


def test_a_refused_row_is_dropped_alone_and_logged_once(store, caplog):
    """A row the database refuses (a MAC it cannot read) among 1,000 alerts and 50
    neighbours: the batch is halved down to that row; only it is dropped, counted
    (``rejected``, ``dropped``) and logged, in one line; the other 1,049 are stored."""
    rows = [bad_alert(seq) for seq in range(1000)]
    rows[637] = bad_alert(637, mac="not a mac")
    nbs = [("eth0", f"02:00:00:00:00:{i:02x}", f"02:00:00:00:00:{i:02x}", None, [], None,
            None, 1.0, [], [], []) for i in range(50)]
    w = writer(store, batch_rows=10_000)
    w.put("alert", rows)
    w.put("neighbor", nbs)
    w.start()
    with caplog.at_level(logging.ERROR, "ndpmon"):
        w.close(60)
    assert (w.rejected, w.dropped["alert"], w.written["alert"], w.written["neighbor"]) == (
        1, 1, 999, 50)
    assert (count(store, "ndpmon_alert"), count(store, "ndpmon_neighbor")) == (999, 50)
    assert store.psql("SELECT count(*) FROM ndpmon_alert WHERE seq = 637") == "0"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "1 row refused and dropped (1 alert; 1049 rows" in lines[0]


def test_an_item_that_cannot_become_a_row_is_dropped_alone(store):
    """An item whose conversion fails (a bug, or a value of the wrong type) costs that
    item, not the other items of its kind in the batch."""
    good = Alert(1.0, "eth0", Priority.HIGH, "r", "m")
    items = [("conv", seq, "eth0", good) for seq in range(10)]
    items[3] = ("conv", 3, "eth0", "not an alert")
    w = writer(store, rows=ROWS)
    w.put("alert", items)
    w.start()
    w.close(30)
    assert (w.rejected, w.dropped["alert"], w.written["alert"]) == (1, 1, 9)
    assert count(store, "ndpmon_alert") == 9
