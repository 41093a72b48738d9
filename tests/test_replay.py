"""Capture files: pcap (micro- and nanosecond), pcapng, cut files, batches."""

from __future__ import annotations

import pytest
from scapy.layers.inet6 import ICMPv6ND_NS, IPv6
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter, wrpcapng

from ndpmon.errors import CaptureError
from ndpmon.capture.replay import read_batches, read_capture

TIMES = (1700000000.25, 1700000001.5, 1700000002.125)


def frames() -> list:
    """Three NS frames with the times in TIMES."""
    out = []
    for i, when in enumerate(TIMES):
        pkt = (Ether(src="00:00:5e:00:53:01") / IPv6(src=f"fe80::{i + 1}", dst="ff02::1")
               / ICMPv6ND_NS(tgt="fe80::99"))
        pkt.time = when
        out.append(pkt)
    return out


@pytest.mark.parametrize("nano", [False, True])
def test_pcap_times(tmp_path, nano):
    """Timestamps come out in seconds whatever the pcap's resolution."""
    path = tmp_path / "x.pcap"
    with PcapWriter(str(path), nano=nano) as writer:
        writer.write(frames())
    got = list(read_capture(str(path)))
    assert [t for t, _ in got] == pytest.approx(TIMES, abs=1e-6)
    assert [f for _, f in got] == [bytes(p) for p in frames()]


def test_pcapng(tmp_path):
    """pcapng files are read too, with their per-interface resolution."""
    path = tmp_path / "x.pcapng"
    wrpcapng(str(path), frames())
    got = list(read_capture(str(path)))
    assert [t for t, _ in got] == pytest.approx(TIMES, abs=1e-6)
    assert [f for _, f in got] == [bytes(p) for p in frames()]


def test_cut_file_keeps_what_was_read(tmp_path):
    """A capture cut in the middle of a frame (tcpdump killed) yields the whole frames."""
    path = tmp_path / "x.pcap"
    with PcapWriter(str(path)) as writer:
        writer.write(frames())
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    assert len(list(read_capture(str(path)))) == 2


def test_batches_keep_order(tmp_path):
    """Batches hold every frame once, in capture order."""
    path = tmp_path / "x.pcap"
    with PcapWriter(str(path)) as writer:
        writer.write(frames() * 5)
    batches = list(read_batches(str(path), size=4))
    assert [len(b) for b in batches] == [4, 4, 4, 3]
    assert [t for b in batches for t, _ in b] == pytest.approx(list(TIMES) * 5, abs=1e-6)


def test_empty_file_is_an_error(tmp_path):
    """An empty file is not a capture: a one-line error naming it."""
    path = tmp_path / "x.pcap"
    path.write_bytes(b"")
    with pytest.raises(CaptureError, match=f"^{path}: not a pcap or pcapng file"):
        list(read_capture(str(path)))
