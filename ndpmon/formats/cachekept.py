"""The neighbour cache's probes that the config does not have (issue 17 item 4).

An OS upgrade renames eth0 to enp3s0: the config follows, the cache still says eth0.
NDPMon exited on such a cache, and so did ndpmon (exit 2): a monitor that does not come
back after a reboot. Now such a probe is checked as any other (ndpmon.formats.cache), kept
as its XML text (a Kept, ndpmon.formats.cachewrite) with a warning, written back after the
other probes at every save, and taken up again (``adopt``) once the config names it again.

The text is made while the file is parsed incrementally, a child at a time: a kept probe
of a full cache (320 MB) never becomes one lxml tree (3.5 GB). It is held once, as text:
at most the cache file's cap (512 MiB, ndpmon.files.reader).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lxml import etree

from ndpmon.formats.cachewrite import Kept

__all__ = ["KeptProbe", "warn_kept"]

log = logging.getLogger("ndpmon")
Element = etree._Element


def warn_kept(path: str, kept: Sequence[Kept]) -> None:
    """The one line that says which probes were kept, and how many neighbours."""
    count = sum(k.neighbors for k in kept)
    names = ", ".join(k.name for k in kept)
    log.warning("%s: %d neighbour%s of probe%s %s, which the config does not have: kept "
                "in the file as they are (give a probe that name again to use them)", path,
                count, "s" * (count != 1), "s" * (len(kept) > 1), names)


class KeptProbe:
    """The text of a ``<probe>`` the config does not have, made as it is read: a child's
    text is taken (and the child dropped) once the next one has ended, when its tail
    (the white space after it) is surely all parsed; so the tree holds at most two
    neighbours of it, and the text is held once (bounded by the file's cap)."""

    def __init__(self, name: str, kept: list[Kept]) -> None:
        self.name, self.kept = name, kept
        self.neighbors = 0
        self.parts: list[str] = []

    def take(self, child: Element) -> None:
        """Add the text of ``child`` and its tail, and drop it from the tree."""
        self.parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
        _drop(child)

    def close(self, probe: Element) -> None:
        """The probe has ended: its whole text becomes a Kept entry."""
        for child in list(probe):
            self.take(child)
        text = etree.tostring(probe, encoding="unicode", with_tail=False)
        if self.parts:
            head = text[:-2] + ">" if text.endswith("/>") else text[:-len("</probe>")]
            text = head + "".join(self.parts) + "</probe>"
        self.kept.append(Kept(self.name, self.neighbors, text))
        _drop(probe)


def _drop(element: Element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)
