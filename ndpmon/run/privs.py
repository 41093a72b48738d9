"""Running unprivileged: ``--user`` drops root once the capture sockets are open.

Capturing needs a packet socket, and only opening one needs privilege (CAP_NET_RAW):
reading an open socket does not. So ndpmon opens its sockets (and sets
``ignor_autoconf``, and lets plugins open theirs in ``start``) as root, then becomes
the ``--user`` account for good: its groups, gid and uid, no capability left in any set
(effective, permitted, inheritable, ambient, and the bounding set, so not even a set-uid
program could give one back), and ``PR_SET_NO_NEW_PRIVS``. Packet data is then parsed,
the pipe program run, and files written by a user that owns nothing else.

A plugin that must open sockets later (the countermeasures open theirs per interface
when they first answer) sets ``needs_net_raw = True``: then CAP_NET_RAW alone is kept,
in the effective and permitted sets (``PR_SET_KEEPCAPS`` across the ``setuid``).

Everything the user will need is checked before the drop, by a child process that
becomes the user and tries (``os.access``, which also honours ACLs): the config (and
its DTD) readable, for SIGHUP; the cache's, alerts.xml's, the JSON log's and, when
learning, the config's directory writable. A failure is one line naming the file and
the fix, exit code 2. The user's own files that must be read before the drop (the
neighbour cache) are read with the user's effective ids (``acting_as``), never with
root's rights: under the systemd unit root has none over them. The calls are made
through ctypes (``prctl``, ``capset``), which
saves a dependency for five system calls.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import json
import logging
import os
import pwd
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from ndpmon.errors import NdpmonError

__all__ = ["Account", "lookup", "drop", "check_access", "program_runs", "as_user", "acting_as",
           "status", "CAP_NET_RAW"]

log = logging.getLogger("ndpmon")

# <linux/prctl.h>, <linux/capability.h>
PR_SET_KEEPCAPS, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 8, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAP_NET_RAW = 13
_CAP_VERSION_3 = 0x20080522


@dataclass(frozen=True)
class Account:
    """The user ndpmon becomes: name, uid, gid and every group it is in."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def lookup(user: str, group: str | None = None) -> Account:
    """The account of ``--user`` (and ``--group``, else the user's own group)."""
    try:
        entry = pwd.getpwnam(user) if not user.isdigit() else pwd.getpwuid(int(user))
    except KeyError:
        raise NdpmonError(f"--user {user}: no such user") from None
    if entry.pw_uid == 0:
        raise NdpmonError(f"--user {user}: that is root; name an unprivileged user")
    gid = entry.pw_gid
    if group is not None:
        try:
            gid = (grp.getgrnam(group) if not group.isdigit()
                   else grp.getgrgid(int(group))).gr_gid
        except KeyError:
            raise NdpmonError(f"--group {group}: no such group") from None
    groups = tuple(dict.fromkeys([gid, *os.getgrouplist(entry.pw_name, gid)]))
    return Account(entry.pw_name, entry.pw_uid, gid, groups)


# -- system calls ---------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _prctl(option: int, arg: int = 0, arg3: int = 0) -> None:
    if _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), ctypes.c_ulong(0),
                   ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _capset(caps: Iterable[int]) -> None:
    """Effective = permitted = ``caps``, inheritable none (this thread)."""
    data = (_CapData * 2)()
    for cap in caps:
        data[cap // 32].effective |= 1 << (cap % 32)
        data[cap // 32].permitted |= 1 << (cap % 32)
    if _libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 40  # CAP_CHECKPOINT_RESTORE, Linux 5.9


def _drop_bounding(keep: frozenset[int]) -> None:
    """Take every capability but ``keep`` out of the bounding set (needs CAP_SETPCAP;
    a container without it keeps its bounding set, which the uid change makes moot)."""
    for cap in range(_last_cap() + 1):
        if cap in keep:
            continue
        try:
            _prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            log.debug("bounding set: cannot drop capability %d: %s", cap, exc.strerror)
            return


def status() -> dict[str, str]:
    """This process's /proc/self/status fields (Uid, Gid, CapEff, NoNewPrivs...)."""
    with open("/proc/self/status") as file:
        return dict(line.rstrip("\n").split(":\t", 1) for line in file if ":\t" in line)


def _no_threads(account: Account, doing: str) -> None:
    """Capabilities and ``NO_NEW_PRIVS`` are per thread: refuse (one line naming the
    threads) while any other runs."""
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        raise NdpmonError(f"--user {account.name}: cannot {doing} while threads run "
                          f"({', '.join(others)}); a plugin must start its threads in "
                          f"started(), not earlier (plugins/README.md)")


def drop(account: Account, keep_net_raw: bool = False) -> None:
    """Become ``account`` for good, keeping CAP_NET_RAW only if asked.

    Must run before any thread starts: capabilities and ``NO_NEW_PRIVS`` are set per
    thread. Raises NdpmonError when a step fails; never returns half-dropped.
    """
    _no_threads(account, "drop root")
    keep = frozenset({CAP_NET_RAW} if keep_net_raw else ())
    if os.geteuid() != 0:
        if os.geteuid() != account.uid:
            raise NdpmonError(f"--user {account.name}: only root can switch users")
        _prctl(PR_SET_NO_NEW_PRIVS, 1)  # already that user: nothing else to give up
        return
    try:
        _drop_bounding(keep)
        try:
            _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        except OSError:
            pass  # Linux < 4.3: there is no ambient set
        _prctl(PR_SET_KEEPCAPS, 1 if keep else 0)
        os.setgroups(list(account.groups))
        os.setgid(account.gid)
        os.setuid(account.uid)
        _capset(keep)
        _prctl(PR_SET_KEEPCAPS, 0)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        raise NdpmonError(f"--user {account.name}: cannot switch to it: "
                          f"{exc.strerror or exc}") from None
    _verify(account, keep)
    log.info("running as user %s (uid %d, gid %d), %s", account.name, account.uid,
             account.gid, "keeping only CAP_NET_RAW" if keep else "no capabilities")


def _verify(account: Account, keep: frozenset[int]) -> None:
    """Refuse to go on if root could be had back."""
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise NdpmonError(f"--user {account.name}: the switch did not hold (setuid(0) "
                          f"still works); stopping")
    mask = sum(1 << cap for cap in keep)
    fields = status()
    if int(fields.get("CapEff", "0"), 16) != mask or int(fields.get("CapPrm", "0"), 16) \
            != mask:
        raise NdpmonError(f"--user {account.name}: capabilities left after the switch: "
                          f"{fields.get('CapPrm')}; stopping")


# -- the user's files, before the drop ----------------------------------------------------

@contextlib.contextmanager
def acting_as(account: Account | None) -> Iterator[None]:
    """Inside the block, files are opened and checked as ``account`` (root after it).

    The state files (the cache, alerts.xml) are the user's: the systemd unit bounds
    root's capabilities (no CAP_DAC_OVERRIDE nor CAP_DAC_READ_SEARCH), so root cannot
    even enter a state directory 0750 of the user's, and what the user wrote must not be
    read with root's rights anyway. Only the effective ids and the groups change; the
    real and saved uid stay root's, so the drop can still happen after the block. The
    kernel clears the effective capabilities while the effective uid is not 0 and gives
    them back with it. ``os.access`` must be called with ``effective_ids=True`` here.
    A no-op without ``--user``, or once ndpmon runs as the user.
    """
    if account is None or os.geteuid() != 0:
        yield
        return
    _no_threads(account, "read its files")  # setxid reaches every thread: keep it simple
    groups, gid = os.getgroups(), os.getegid()
    try:
        os.setgroups(list(account.groups))
        os.setegid(account.gid)
        os.seteuid(account.uid)
    except OSError as exc:
        _become_root(groups, gid)
        raise NdpmonError(f"--user {account.name}: cannot act as that user: "
                          f"{exc.strerror or exc}") from None
    try:
        yield
    finally:
        _become_root(groups, gid)


def _become_root(groups: list[int], gid: int) -> None:
    """Back from ``acting_as``: root's effective ids and groups."""
    os.seteuid(0)
    os.setegid(gid)
    os.setgroups(groups)


# -- what the user will need ------------------------------------------------------------

@dataclass(frozen=True)
class Need:
    """A file the user must be able to use after the drop."""

    path: str
    write: bool  # write (in its directory, or the file itself); else read


def _fix(account: Account, path: str, write: bool) -> str:
    if write:
        return f"chown {account.name} {path}"
    try:
        group = grp.getgrgid(account.gid).gr_name
    except KeyError:
        group = str(account.gid)
    return f"chgrp {group} {path} && chmod g+r {path}"


def _problems(account: Account, needs: list[Need]) -> list[str]:
    """As the user: which of ``needs`` it cannot use (run in the child)."""
    found = []
    for need in needs:
        path = os.path.abspath(need.path)
        if not need.write:
            if os.path.exists(path) and not os.access(path, os.R_OK):
                found.append(f"{need.path}: not readable by user {account.name} "
                             f"({_fix(account, path, False)})")
            continue
        folder = os.path.dirname(path)
        if os.path.exists(path) and not os.access(path, os.W_OK):
            found.append(f"{need.path}: not writable by user {account.name} "
                         f"({_fix(account, path, True)})")
        elif os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
            found.append(f"{need.path}: directory {folder} not writable by user "
                         f"{account.name} ({_fix(account, folder, True)})")
    return found


def as_user(account: Account, func: Callable[[], list[str]]) -> list[str]:
    """Run ``func`` in a child process that has become ``account``; its result."""
    if os.geteuid() == account.uid:
        return func()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_fd)
            os.setgroups(list(account.groups))
            os.setgid(account.gid)
            os.setuid(account.uid)
            os.write(write_fd, json.dumps(func()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, code = os.waitpid(pid, 0)
    if code != 0:
        raise NdpmonError(f"--user {account.name}: cannot check files as that user")
    return json.loads(data)


def check_access(account: Account, read: Iterable[str], write: Iterable[str]) -> None:
    """Fail (one line) unless ``account`` can read ``read`` and write ``write``."""
    if os.geteuid() != 0 and os.geteuid() != account.uid:
        raise NdpmonError(f"--user {account.name}: only root can switch users")
    needs = [Need(p, False) for p in read if p] + [Need(p, True) for p in write if p]
    problems = as_user(account, lambda: _problems(account, needs))
    if problems:
        raise NdpmonError(problems[0])


def program_runs(account: Account, programs: Iterable[str]) -> None:
    """Fail unless ``account`` may execute every pipe program."""
    def check() -> list[str]:
        return [f"{p}: not executable by user {account.name} (chmod o+x {p}, or its "
                f"directories)" for p in programs if not os.access(p, os.X_OK)]
    problems = as_user(account, check)
    if problems:
        raise NdpmonError(problems[0])


