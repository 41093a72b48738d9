"""Whose files ndpmon may trust: the one rule for every file it reads as config, imports
or runs, and for every directory it writes in (SECURITY.md "Files other accounts can
change").

ndpmon starts as root. A config, a DTD, a plugin module, a pipe program, an npd6.conf or
an OUI database that another account can change is a way for that account to steer
root: a ``<plugin>`` line and a module beside the config are code root imports. So, as
OpenSSH's ``StrictModes`` does, each such file and every directory above it must be
owned by an account ndpmon trusts and writable by nobody else:

* started as root, only root is trusted for what it reads, imports or runs, **even the
  ``--user`` account**: the drop to that account is meant to contain it, so nothing it
  can change may reach root at the next start;
* started as an ordinary user, root and that user are trusted;
* a directory writable by others is refused when a checked file is directly in it, even
  with the sticky bit (in /tmp anyone may add the name ndpmon is about to use); higher up,
  a sticky directory is accepted, since there others cannot rename or remove the entries
  of the trusted owner below it.

Directories ndpmon *writes* in may also belong to the ``--user`` account (its state
directory); ``check_file(..., uids=...)`` adds such owners. One line says what is wrong
and how to fix it::

    /etc/ndpmon/plugins/x.py: owned by user ndpmon (chown root /etc/ndpmon/plugins/x.py);
    refusing to load it
"""

from __future__ import annotations

import os
import stat
from typing import Iterable

from ndpmon.errors import NdpmonError
from ndpmon.files import reader
from ndpmon.files.secure import user_name

__all__ = ["UnsafeFile", "STARTED_AS_ROOT", "trusted_owners", "check_file", "check_input",
           "read_input"]

#: Was ndpmon started as root? Fixed when ndpmon starts (before any ``--user`` drop):
#: after the drop the same rule keeps applying, at every SIGHUP.
STARTED_AS_ROOT = os.geteuid() == 0


class UnsafeFile(NdpmonError):
    """A file or directory other accounts can modify; the text is the whole message."""


def trusted_owners(uids: Iterable[int] = ()) -> frozenset[int]:
    """Who may own what ndpmon reads as config: root alone when started as root, else
    root and this user; plus ``uids`` (for directories ndpmon writes in)."""
    own = () if STARTED_AS_ROOT else (os.geteuid(),)
    return frozenset({0, *own, *uids})


def _problem(path: str, st: os.stat_result, trusted: frozenset[int], sticky_ok: bool) -> str:
    """What is unsafe about one file or directory ('' if nothing)."""
    if st.st_uid not in trusted:
        return f"owned by user {user_name(st.st_uid)} (chown root {path})"
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if not writable or (sticky_ok and st.st_mode & stat.S_ISVTX):
        return ""
    who = "".join(c for c, bit in (("g", stat.S_IWGRP), ("o", stat.S_IWOTH))
                  if st.st_mode & bit)
    return f"writable by other users (chmod {who}-w {path})"


def check_file(path: str, doing: str, uids: Iterable[int] = (), *,
               folder: bool = False) -> None:
    """Raise UnsafeFile unless ``path`` (its real file) and every directory above it are
    safe.

    ``doing``: the end of the message (``refusing to run it``); ``uids``: more trusted
    owners (the ``--user`` for its state directory); ``folder``: check only from the
    directory ``path`` is in (a file ndpmon will write). A path that does not exist is
    left to whoever opens it.
    """
    trusted = trusted_owners(uids)
    real = os.path.realpath(path)
    if folder:
        real = os.path.dirname(real)
    if not os.path.exists(real):
        return
    is_dir = os.path.isdir(real)
    current, depth = real, 1 if folder or is_dir else 0  # 1: the folder files are in
    while True:
        try:
            st = os.stat(current)
        except OSError:
            return  # unreadable: whoever opens the file reports it
        why = _problem(current, st, trusted, sticky_ok=depth > 1)
        if why:
            where = ("" if current == path else f"directory {current} " if is_dir
                     else f"{current} ")
            raise UnsafeFile(f"{path}: {where}{why}; {doing}")
        parent = os.path.dirname(current)
        if parent == current:
            return
        current, is_dir, depth = parent, True, depth + 1


def check_input(path: str, doing: str = "refusing to read it") -> None:
    """A file read as configuration (an npd6.conf, an OUI database, a plugin's data):
    refused unless only trusted accounts can change it (``check_file``)."""
    check_file(path, doing)


def read_input(path: str, limit: int = reader.MAX_CONFIG_BYTES) -> bytes:
    """The bytes of a file read as configuration: checked (``check_input``), then read
    safely (a regular file only, at most ``limit`` bytes: ndpmon.files.reader).
    Raises FileNotFoundError, UnsafeFile or ConfigError (one line each)."""
    check_input(path)
    return reader.read(path, limit)
