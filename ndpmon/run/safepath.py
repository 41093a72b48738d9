"""Refusing files that another account could change under ndpmon (issues 7 and 14).

What a run reads as config (the config, its DTD, the plugin modules, the pipe programs,
the npd6.conf), and the directories it writes in, are checked here against the one rule
of ndpmon.files.trust: started as root, only root may be able to change what root reads,
imports or runs, not even the ``--user`` account; the directories it writes in may also
be that account's, but a directory others can write in (even sticky, like /tmp) is
refused. One line says what is wrong and how to fix it, exit code 2::

    ndpmon: /usr/local/bin/alert.sh: writable by other users
            (chmod go-w /usr/local/bin/alert.sh); refusing to run it      (one line)

Files that come with ndpmon itself (the packaged DTD, the shipped plugins) are as
trusted as its code and are not checked. The files themselves are opened safely where
they are written (ndpmon.files.secure).
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Iterable, Sequence

from lxml import etree

from ndpmon.config import loader as configmod
from ndpmon.files.trust import UnsafeFile, check_file
from ndpmon.config.model import Config
from ndpmon.run.plugins import SHIPPED_DIRS, plugin_dirs

__all__ = ["UnsafeFile", "check_file", "dtd_file", "check_inputs", "check_outputs",
           "pipe_programs"]

_OWN = (Path(configmod.__file__).resolve().parent.parent, *SHIPPED_DIRS)


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


def check_inputs(config: Config, dtd: str | None) -> None:
    """The config, its DTD, the plugin modules and the pipe programs (at start and at
    every SIGHUP): changeable by root alone when ndpmon started as root (the
    ``--user`` account included: ndpmon.files.trust)."""
    check_file(config.path, "refusing to read it")
    dtd = dtd_file(config, dtd)
    if dtd and not _own(dtd):
        check_file(dtd, "refusing to read it")
    for module in _plugin_files(config):
        if not _own(module):
            check_file(module, "refusing to load it")
    for program in pipe_programs(config):
        check_file(program, "refusing to run it")


def check_outputs(files: Iterable[str], uids: Sequence[int] = ()) -> None:
    """The directories ndpmon writes in (``RunOptions.output_files``): root's or the
    ``uids``' (the ``--user``), and writable by nobody else, not even with the sticky
    bit, so that nobody else can plant a link or a file where ndpmon writes."""
    for path in files:
        check_file(path, "refusing to write there", uids, folder=True)
        named = os.path.dirname(os.path.abspath(path))
        if os.path.realpath(named) != os.path.dirname(os.path.realpath(path)):
            check_file(named, "refusing to write there", uids)  # where the link is
