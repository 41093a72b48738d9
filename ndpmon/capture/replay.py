"""Frames from a capture file: the replay source of ``ndpmon -r FILE``.

Scapy reads pcap and pcapng (``RawPcapReader`` picks the format from the magic number);
we take the raw bytes and the capture timestamp and decode nothing here, so replay feeds
the very same ``Engine.handle`` as live capture. Only Ethernet captures make sense for an
ND monitor (the checks need the MAC addresses); anything else is a clear error.
"""

from __future__ import annotations


from contextlib import closing
from typing import Iterator

from ndpmon.errors import CaptureError

__all__ = ["read_capture", "read_batches", "LINKTYPE_ETHERNET"]

LINKTYPE_ETHERNET = 1


BATCH = 512


def read_batches(path: str, size: int = BATCH) -> Iterator[list[tuple[float, bytes]]]:
    """Yield lists of up to ``size`` ``(timestamp, frame)`` pairs, in capture order.

    Batches keep the per-frame cost of the generator machinery off the hot loop.
    """
    batch: list[tuple[float, bytes]] = []
    for item in read_capture(path):
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def read_capture(path: str) -> Iterator[tuple[float, bytes]]:
    """Yield ``(timestamp, frame)`` for every frame of a pcap or pcapng file."""
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapReader

    try:
        reader = RawPcapReader(path)
    except FileNotFoundError:
        raise CaptureError(f"{path}: cannot read: No such file or directory") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Scapy_Exception as exc:
        raise CaptureError(f"{path}: not a pcap or pcapng file ({exc})") from None
    with closing(reader):  # scapy 2.5's readers are no context managers
        linktype = getattr(reader, "linktype", None)
        if linktype is not None and linktype != LINKTYPE_ETHERNET:
            raise CaptureError(f"{path}: link type {linktype} is not Ethernet (1)")
        yield from _frames(path, reader)


def _frames(path: str, reader) -> Iterator[tuple[float, bytes]]:
    index = 0
    try:
        if hasattr(reader, "nano"):  # classic pcap: one resolution for the whole file
            scale = 1e-9 if reader.nano else 1e-6
            for frame, meta in reader:
                if len(frame) < meta.caplen:
                    return  # the file ends inside this frame: drop the piece
                index += 1
                yield meta.sec + meta.usec * scale, frame
        else:
            for frame, meta in reader:
                index += 1
                yield _pcapng_time(path, index, meta), frame
    except EOFError:
        return  # a capture cut short (tcpdump killed): keep what was read
    except (OSError, ValueError) as exc:
        raise CaptureError(f"{path}: frame {index + 1}: cannot read: {exc}") from None


def _pcapng_time(path: str, index: int, meta) -> float:
    """pcapng: each interface has its link type and timestamp resolution."""
    if meta.linktype != LINKTYPE_ETHERNET:
        raise CaptureError(f"{path}: frame {index}: link type {meta.linktype} is not "
                           f"Ethernet (1)")
    return ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
