"""Refusing files that another user could change under ndpmon (issue 7).

ndpmon runs as root, or as the user of ``--user``: a config, DTD, plugin module or pipe
program that someone else can modify is a way for them to run code or change what
ndpmon trusts, and a directory where ndpmon writes that someone else can write in lets
them put a symbolic link where ndpmon's next file will be. So, like OpenSSH's
``StrictModes``, every such file and each directory above it must be owned by root or
by the user ndpmon runs as, and writable by nobody else (a directory with the sticky
bit, like /tmp, only lets others add files of their own). One line says what is wrong
and how to fix it, exit code 2::

    ndpmon: /usr/local/bin/alert.sh: writable by other users
            (chmod go-w /usr/local/bin/alert.sh); refusing to run it      (one line)

Files that come with ndpmon itself (the packaged DTD, the shipped plugins) are as
trusted as its code and are not checked.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import stat
from pathlib import Path
from typing import Iterable, Sequence

from lxml import etree

from ndpmon.config import loader as configmod
from ndpmon.errors import NdpmonError
from ndpmon.config.model import Config
from ndpmon.run.plugins import SHIPPED_DIRS, plugin_dirs

__all__ = ["UnsafeFile", "check_file", "dtd_file", "check_inputs", "check_outputs",
           "pipe_programs"]

_OWN = (Path(configmod.__file__).resolve().parent.parent, *SHIPPED_DIRS)


class UnsafeFile(NdpmonError):
    """A file or directory other users can modify; the text is the whole message."""


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _problem(path: str, st: os.stat_result, trusted: frozenset[int], is_dir: bool) -> str:
    """What is unsafe about one file or directory ('' if nothing)."""
    if st.st_uid not in trusted:
        return f"owned by user {_owner(st.st_uid)} (chown root {path})"
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if not writable or (is_dir and st.st_mode & stat.S_ISVTX):
        return ""
    who = "".join(c for c, bit in (("g", stat.S_IWGRP), ("o", stat.S_IWOTH))
                  if st.st_mode & bit)
    return f"writable by other users (chmod {who}-w {path})"


def check_file(path: str, doing: str, uids: Iterable[int] = (), *,
               folder: bool = False) -> None:
    """Raise UnsafeFile unless ``path`` and every directory above it are safe.

    ``uids``: the users besides root that may own them (the one ndpmon runs as);
    ``doing``: the end of the message (``refusing to run it``); ``folder``: check only
    the directory ``path`` is in (a file ndpmon will write). A path that does not exist
    is left to whoever opens it.
    """
    trusted = frozenset({0, *uids})
    real = os.path.realpath(path)
    if folder:
        real = os.path.dirname(real)
    if not os.path.exists(real):
        return
    current, is_dir = real, os.path.isdir(real)
    while True:
        try:
            st = os.stat(current)
        except OSError:
            return  # unreadable: whoever opens the file reports it
        why = _problem(current, st, trusted, is_dir)
        if why:
            where = ("" if current == path else f"directory {current} " if is_dir
                     else f"{current} ")
            raise UnsafeFile(f"{path}: {where}{why}; {doing}")
        parent = os.path.dirname(current)
        if parent == current:
            return
        current, is_dir = parent, True


def _own(path: str) -> bool:
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(folder.resolve()) for folder in _OWN)


def pipe_programs(config: Config) -> list[str]:
    """The programs ``exec_pipe_program`` runs (word 0, found in PATH if bare)."""
    programs = []
    for actions in (config.settings.actions_high, config.settings.actions_low):
        try:
            words = shlex.split(actions.exec_pipe_program or "")
        except ValueError:
            continue  # the pipe action reports it
        if not words:
            continue
        program = words[0] if "/" in words[0] else shutil.which(words[0])
        if program and program not in programs:
            programs.append(program)
    return programs


def dtd_file(config: Config, dtd: str | None) -> str | None:
    """The DTD the config is validated against, unless it is the packaged one."""
    if dtd:
        return dtd
    try:
        tree = etree.parse(config.path, etree.XMLParser(
            load_dtd=False, no_network=True, resolve_entities=False))
    except (OSError, etree.XMLSyntaxError):
        return None
    return configmod._doctype_dtd(config.path, tree)


def _plugin_files(config: Config) -> list[str]:
    """The plugin modules the config loads from plugin directories."""
    found = []
    dirs = plugin_dirs(config)
    for spec in config.plugins:
        for folder in dirs:
            path = folder / f"{spec.name}.py"
            if path.is_file():
                found.append(str(path))
                break
    return found


def check_inputs(config: Config, dtd: str | None, uids: Sequence[int] = ()) -> None:
    """The config, its DTD, the plugin modules and the pipe programs (at start and
    at every SIGHUP)."""
    check_file(config.path, "refusing to read it", uids)
    dtd = dtd_file(config, dtd)
    if dtd and not _own(dtd):
        check_file(dtd, "refusing to read it", uids)
    for module in _plugin_files(config):
        if not _own(module):
            check_file(module, "refusing to load it", uids)
    for program in pipe_programs(config):
        check_file(program, "refusing to run it", uids)


def check_outputs(files: Iterable[str], uids: Sequence[int] = ()) -> None:
    """The directories ndpmon writes in (``RunOptions.output_files``) must not let
    others plant links there."""
    for path in files:
        check_file(path, "refusing to write there", uids, folder=True)
        named = os.path.dirname(os.path.abspath(path))
        if os.path.realpath(named) != os.path.dirname(os.path.realpath(path)):
            check_file(named, "refusing to write there", uids)  # where the link is
