"""The worst frames an attacker can build raise a bounded number of alerts, and of bytes.

NDPMon raised one alert per wrong item of an RA option: one RA spoofing the configured
router (its MAC and link-local address are public on the link) with one DNSSL option of
477 one-letter domains raised 477 alerts, 2.1 ms in the engine and 344 KB of output
(issue 16). ndpmon raises each reason of an RA once, naming the first items and
``+N more`` (ndpmon.checks.ra.OptionAlerts). The frames are the sample
``ra_many_items`` (tests/data/make_pcaps.py: every kind of option repeated until the
frame is full, then one RA with every option reason at once); its sidecar pins the
texts, these tests the bounds.
"""

from __future__ import annotations

import io
import json

from conftest import PCAPS, make_engine
from test_samples import CONFIGS, frames, load

from ndpmon.alerts.console import Console
from ndpmon.formats.alertsxml import render_alert

SAMPLE = PCAPS / "ra_many_items.json"
#: One alert per reason watch_ra can raise (4 of its 16 have two texts: the most one
#: RA can carry, the last frame of the sample).
MAX_ALERTS_PER_FRAME = 16
#: Console line, JSON line and alerts.xml block of every alert of one frame (NDPMon's
#: texts for the 477-domain RA made 344 KB).
MAX_BYTES_PER_FRAME = 16_000


def output_bytes(alert) -> int:
    """What the capture thread's outputs write for ``alert``: console, JSON, alerts.xml."""
    out = io.StringIO()
    Console(out).notify(alert)
    text = out.getvalue() + json.dumps(alert.to_json(), ensure_ascii=False) + "\n"
    return len((text + render_alert(alert)).encode())


def replayed() -> list[tuple[bytes, list]]:
    """Each frame of the sample with its alerts."""
    sample = load(SAMPLE)
    engine = make_engine(CONFIGS[sample["config"]], sample.get("cache"), sample["probe"])
    return [(data, engine.handle(sample["probe"], now, data))
            for now, data in frames(SAMPLE.with_suffix(".pcap"))]


def test_full_size_ras_raise_each_reason_once():
    """Every frame fits an Ethernet link and the decoder accepts it (no malformed
    alert), yet raises at most MAX_ALERTS_PER_FRAME alerts, never one reason twice with
    the same text, and at most MAX_BYTES_PER_FRAME bytes of output."""
    for index, (data, alerts) in enumerate(replayed()):
        assert len(data) <= 1514, index
        assert not [a for a in alerts if a.reason == "malformed ND message"], index
        assert 0 < len(alerts) <= MAX_ALERTS_PER_FRAME, (index, len(alerts))
        assert len({a.message for a in alerts}) == len(alerts), index
        assert sum(map(output_bytes, alerts)) <= MAX_BYTES_PER_FRAME, index


def test_many_items_are_counted_not_listed():
    """An alert names at most MAX_NAMED_ITEMS items, and its ``+N more`` (also in
    ``extra["more"]``) counts the others: the 477 domains of frame 0 are all accounted for."""
    from ndpmon.checks.ra import MAX_NAMED_ITEMS

    (_, [dnssl]), *rest = replayed()
    assert dnssl.message == "wrong RA DNSSL option: a 900, b 900, c 900, +474 more"
    assert dnssl.extra["more"] == 474 and dnssl.extra["domain"] == "a"
    for _, alerts in rest:
        for alert in alerts:
            named = alert.message.count(",") + 1 - ("more" in alert.extra)
            assert named <= MAX_NAMED_ITEMS, alert
