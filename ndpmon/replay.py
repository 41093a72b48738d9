"""Frames from a capture file: the replay source of ``ndpmon -r FILE``.

Scapy reads pcap and pcapng (``RawPcapReader`` picks the format from the magic number);
we take the raw bytes and the capture timestamp and decode nothing here, so replay feeds
the very same ``Engine.handle`` as live capture. Only Ethernet captures make sense for an
ND monitor (the checks need the MAC addresses); anything else is a clear error.
"""

from __future__ import annotations


from typing import Iterator

from .errors import CaptureError

__all__ = ["read_capture", "LINKTYPE_ETHERNET"]

LINKTYPE_ETHERNET = 1


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
    with reader:
        linktype = getattr(reader, "linktype", None)
        if linktype is not None and linktype != LINKTYPE_ETHERNET:
            raise CaptureError(f"{path}: link type {linktype} is not Ethernet (1)")
        yield from _frames(path, reader)


def _frames(path: str, reader) -> Iterator[tuple[float, bytes]]:
    index = 0
    try:
        for frame, meta in reader:
            index += 1
            yield _timestamp(path, index, meta), frame
    except EOFError:
        return  # a capture cut short (tcpdump killed): keep what was read
    except (OSError, ValueError) as exc:
        raise CaptureError(f"{path}: frame {index + 1}: cannot read: {exc}") from None


def _timestamp(path: str, index: int, meta) -> float:
    if hasattr(meta, "sec"):
        return meta.sec + meta.usec / 1_000_000
    if meta.linktype != LINKTYPE_ETHERNET:
        raise CaptureError(f"{path}: frame {index}: link type {meta.linktype} is not "
                           f"Ethernet (1)")
    return ((meta.tshigh << 32) | meta.tslow) / meta.tsresol


