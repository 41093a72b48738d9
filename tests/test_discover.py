"""The sub-commands can be found and typed as people type them (issue 18, item 7).

``ndpmon --help`` lists ``report``, ``query`` and ``central``; ``ndpmon -f CONFIG query
mac X`` (options first) works like ``ndpmon query -f CONFIG mac X``; the man page has
every sub-command; and ``LAUNCH AFTER n`` is described the way the countermeasures
plugin (and NDPMon, REFERENCE §5.2: "answer after the n-th call") behave, in the sample
config and in the README.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_query import files  # noqa: F401 - the fixture

from ndpmon.commands import main as cli
from ndpmon.commands.main import SUBCOMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_sub_command():
    """``ndpmon --help`` names each sub-command with what it does."""
    text = build_parser().format_help()
    for word in SUBCOMMANDS:
        assert re.search(rf"^  ndpmon {word}\b", text, re.M), word


def test_options_may_come_before_the_command_word(files, tmp_path, capsys):  # noqa: F811
    """``ndpmon -g CACHE query --files mac X`` answers as ``ndpmon query -g CACHE --files mac
    X`` does (it printed ndpmon's whole usage)."""
    cache = str(tmp_path / "neighbors.xml")
    assert main(["query", "-g", cache, "--files", "mac", "0:11:22:33:44:55"]) == 0
    expected = capsys.readouterr().out
    assert main(["-g", cache, "query", "--files", "mac", "0:11:22:33:44:55"]) == 0
    assert capsys.readouterr().out == expected
    assert main(["-f", str(tmp_path / "none.xml"), "-g", cache, "query", "--files", "mac",
                 "0:11:22:33:44:55"]) == 0


@pytest.mark.parametrize("argv, index", [
    (["query", "mac", "x"], 0),
    (["-f", "cfg", "query", "mac", "x"], 2),
    (["-fcfg", "-v", "report", "--out", "d"], 2),
    (["--store=postgresql://h/db", "central"], 1),
    (["-f", "query", "-r", "x.pcap"], None),  # a config file named query
    (["-g", "c", "-r", "x.pcap"], None),
    (["--", "query"], None),
])
def test_the_command_word_is_the_first_non_option(argv, index):
    """An option's value is never taken for a command word."""
    assert cli.command_word(argv) == index


def test_the_man_page_has_every_sub_command():
    """doc/ndpmon.8: each sub-command in the synopsis and in COMMANDS; groff finds nothing
    to warn about."""
    page = (ROOT / "doc" / "ndpmon.8").read_text()
    commands = page.split(".SH COMMANDS", 1)[1].split(".SH ", 1)[0]
    for word in SUBCOMMANDS:
        assert f".B ndpmon {word}\n" in page.split(".SH DESCRIPTION")[0], word
        assert f".B ndpmon {word}\n" in commands, word
    groff = shutil.which("groff")
    if groff:
        result = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", str(ROOT / "doc" /
                                                                       "ndpmon.8")],
                                capture_output=True, text=True)
        assert (result.returncode, result.stderr) == (0, "")


def test_launch_after_is_described_as_it_behaves():
    """``LAUNCH AFTER 2`` answers the 3rd call on: the sample config and the README both say
    "from the (n+1)-th" (the sample said "from the n-th time on")."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cm", ROOT / "plugins" / "countermeasures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    guard = module.GuardState("LAUNCH AFTER", 2)
    assert [guard.welcome() for _ in range(4)] == [False, False, True, True]
    sample = (ROOT / "config_ndpmon.xml").read_text()
    line = re.search(r"^\s*LAUNCH AFTER n\s+(.*)$", sample, re.M)
    assert line and "(n+1)-th" in line.group(1), line
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "`LAUNCH AFTER n`: after the first n times, from the (n+1)-th on" in readme
