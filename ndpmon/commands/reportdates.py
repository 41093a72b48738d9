"""Epoch times as the web report shows them, in the monitor's local time: dates for the
pages, the time zone's name for their footer, and the offset at a time for the
overview's charts (ndpmon.formats.charts, which reads no time zone itself).

A time in the files is whatever text they hold: a value that is not a time is never an
error, only an empty date (the page then shows the raw text).
"""

from __future__ import annotations

import functools
import time

__all__ = ["number", "local_date", "local_offset", "zone_name"]


def number(text: str | None) -> float:
    """An epoch time in a file as a number; -inf when it is not one (sorts oldest)."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return float("-inf")
    return value if value == value else float("-inf")  # NaN


@functools.lru_cache(maxsize=65536)
def local_date(text: str | None) -> str:
    """``1795348077`` as ``2026-11-22 11:47:57`` (local time); "" if not a time."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(float(text or ""))))
    except (ValueError, OverflowError, OSError):
        return ""


@functools.lru_cache(maxsize=4096)
def _offset_at(quarter: int) -> int:
    try:
        return time.localtime(quarter * 900).tm_gmtoff
    except (OverflowError, OSError, ValueError):
        return 0


def local_offset(when: float) -> int:
    """Seconds east of UTC of the local time at ``when`` (looked up once per quarter
    hour: time zones change offset on quarter hours)."""
    return _offset_at(int(when) // 900)


def zone_name(now: float) -> str:
    """``UTC+01:00``: the offset of the local time the pages show."""
    offset = time.strftime("%z", time.localtime(now))
    return f"UTC{offset[:3]}:{offset[3:]}" if len(offset) == 5 else offset
