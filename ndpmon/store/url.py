"""The ``<store>`` URL, the credentials rule, and the one place that connects.

A password never travels on a command line (``ps`` shows it to every user) nor sits in
a config file that is often world-readable: it comes from ``<store password_file>`` or
from libpq's own environment (PGPASSWORD, PGPASSFILE, ``~/.pgpass``), so a URL holding
one is refused with one line. psycopg is imported only here, when a store is used.
"""

from __future__ import annotations

import socket
from typing import Any

from ndpmon.errors import NdpmonError
from ndpmon.files import reader
from ndpmon.config.model import Store
from ndpmon.config.values import store_url as check_url

__all__ = ["check_url", "require_psycopg", "connect", "source_of", "StoreError"]

#: Seconds to wait for a connection; the writer retries with a back-off anyway.
CONNECT_TIMEOUT = 5


class StoreError(NdpmonError):
    """The store cannot be used as configured (one line, exit code 2 at start)."""


def source_of(store: Store) -> str:
    """The first part of this instance's probe names: ``<store source>`` or the host."""
    return store.source or socket.gethostname().split(".")[0] or "localhost"


def require_psycopg() -> Any:
    """The psycopg module, or a one-line error saying how to get it."""
    try:
        import psycopg
    except ImportError:
        raise StoreError("<store> needs the psycopg package: pip install "
                         "'ndpmon[store]' (or 'psycopg[binary]')") from None
    return psycopg


def password(store: Store) -> str | None:
    """The password of ``<store password_file>`` (its first line), or None."""
    if store.password_file is None:
        return None
    try:
        data = reader.read(store.password_file, 64 * 1024, " the store password")
    except FileNotFoundError as exc:
        raise StoreError(f"{store.password_file}: cannot read the store password: "
                         f"{exc.strerror}") from None
    except NdpmonError as exc:  # a FIFO, a device, too large: one line, never a hang
        raise StoreError(str(exc)) from None
    return data.decode("utf-8", "replace").partition("\n")[0].rstrip("\r")


def connect(store: Store, secret: str | None = None) -> Any:
    """A new connection (autocommit off) to the store; psycopg errors pass through."""
    psycopg = require_psycopg()
    extra: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT,
                             "application_name": "ndpmon",
                             # a silent network failure ends in an error, not a hang
                             "keepalives": 1, "keepalives_idle": 10,
                             "keepalives_interval": 5, "keepalives_count": 3}
    if secret is not None:
        extra["password"] = secret
    return psycopg.connect(store.url, **extra)


def with_store_url(config: Any, url: str) -> Any:
    """``config`` with ``--store URL`` as its store (the ``<store>`` settings kept)."""
    from dataclasses import replace

    try:
        url = check_url(url)
    except ValueError as exc:
        raise StoreError(f"--store: {exc}") from None
    settings = config.settings
    store = replace(settings.store, url=url) if settings.store else Store(url)
    return replace(config, settings=replace(settings, store=store))
