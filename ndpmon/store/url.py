"""The ``<store>`` URL, the credentials rule, and the one place that connects.

A password never travels on a command line (``ps`` shows it to every user) nor sits in
a config file that is often world-readable: it comes from ``<store password_file>`` or
from libpq's own environment (PGPASSWORD, PGPASSFILE, ``~/.pgpass``), so a URL holding
one is refused with one line. psycopg is imported only here, when a store is used.
"""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ndpmon.errors import NdpmonError
from ndpmon.config.model import Store

__all__ = ["check_url", "require_psycopg", "connect", "source_of", "StoreError"]

_SCHEMES = ("postgresql://", "postgres://")
_KEY_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.I)
#: Seconds to wait for a connection; the writer retries with a back-off anyway.
CONNECT_TIMEOUT = 5


class StoreError(NdpmonError):
    """The store cannot be used as configured (one line, exit code 2 at start)."""


def check_url(text: str) -> str:
    """A libpq URL or ``key=value`` string, refused if it holds a password."""
    url = text.strip()
    if not url or not url.isprintable():
        raise ValueError("not a PostgreSQL URL")
    if url.lower().startswith(_SCHEMES):
        parts = urlsplit(url)
        if parts.password is not None or "password" in parse_qs(parts.query):
            raise ValueError("the URL holds a password: put it in password_file or "
                             "PGPASSWORD / ~/.pgpass instead")
    elif "=" not in url:
        raise ValueError(f"not a PostgreSQL URL (postgresql://host/db): {url[:40]!r}")
    elif _KEY_PASSWORD.search(url):
        raise ValueError("the connection string holds a password: put it in "
                         "password_file or PGPASSWORD / ~/.pgpass instead")
    return url


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
        with open(store.password_file, encoding="utf-8") as file:
            return file.readline().rstrip("\r\n")
    except OSError as exc:
        raise StoreError(f"{store.password_file}: cannot read the store password: "
                         f"{exc.strerror or exc}") from None


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
