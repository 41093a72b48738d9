"""A learned router's lists (prefixes, routes, RDNSS, DNSSL, addresses), indexed by key.

Learning (ndpmon.state.learn) adds to a router's lists or updates an entry in place,
one option at a time; a scan of the list for each option made a flood of RAs with new
prefixes quadratic (issue 15). ``RouterLists`` keeps each list with a dict from its
entries' keys to their places, under a cap per list. Pure code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Hashable, TypeVar

from ndpmon.codec.addr import masked
from ndpmon.config.model import Prefix, Route, Router

__all__ = ["Entries", "RouterLists"]

T = TypeVar("T")


class Entries:
    """One list of a router (prefixes, routes, RDNSS, DNSSL, addresses) with a dict
    from each entry's key to its place: adding or updating costs no scan."""

    __slots__ = ("items", "at", "key", "merge", "changed")

    def __init__(self, items: tuple, key: Callable[[Any], Hashable],
                 merge: Callable[[Any, Any], Any] | None = None) -> None:
        self.items, self.key, self.merge, self.changed = list(items), key, merge, False
        self.at: dict[Hashable, int] = {}
        for index, item in enumerate(items):
            self.at.setdefault(key(item), index)  # the first of a repeated entry

    def upsert(self, new: Any, cap: int) -> bool:
        """Add ``new``, or merge it into the entry with its key (which keeps its place);
        False when it is new and the list already holds ``cap`` entries."""
        wanted = self.key(new)
        index = self.at.get(wanted)
        if index is None:
            if len(self.items) >= cap:
                return False
            self.at[wanted] = len(self.items)
            self.items.append(new)
            self.changed = True
            return True
        old = self.items[index]
        item = new if self.merge is None else self.merge(old, new)
        if item != old:
            self.items[index] = item
            self.changed = True
        return True

    def result(self, before: tuple) -> tuple:
        """The entries as a tuple: ``before`` itself when nothing changed since."""
        if not self.changed:
            return before
        self.changed = False
        return tuple(self.items)


class RouterLists:
    """The indexed lists of one router."""

    __slots__ = ("prefixes", "routes", "rdnss", "dnssl", "addresses")

    def __init__(self, r: Router) -> None:
        self.prefixes = Entries(r.prefixes, _prefix_key, _keep_address)
        self.routes = Entries(r.routes, _route_key, _keep_address)
        self.rdnss = Entries(r.rdnss, _first)
        self.dnssl = Entries(r.dnssl, _first)
        self.addresses = Entries(r.addresses, _itself)


def _itself(item: Hashable) -> Hashable:
    """A router's address is its own key."""
    return item


def _first(item: tuple) -> Hashable:
    """An RDNSS server or DNSSL domain is known by its address or name."""
    return item[0]


def _prefix_key(p: Prefix) -> Hashable:
    """A prefix is known by its length and its bits up to that length (§4.6.2)."""
    return p.length, masked(p.address, p.length)


def _route_key(r: Route) -> Hashable:
    """A route is known by its length and its bits up to that length (RFC 4191 §2.3)."""
    return r.length, masked(r.address, r.length)


def _keep_address(old: T, new: T) -> T:
    """The learned values, with the address as the config already spells it."""
    return replace(new, address=old.address)
