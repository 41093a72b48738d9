"""Files other users can modify are refused; what ndpmon writes gets safe modes;
``--user`` checks what the user will need before anything starts (issue 7, part 3).

The live side (the drop itself, /proc/PID/status after it) is in test_privs_live.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

import asuser
from needs import need_root
from netns import run_forked
from ndpmon.run import privs, safepath
from ndpmon.files.atomic import write_atomic
from ndpmon.commands.main import main
from ndpmon.run.daemon import PidFile

ROOT = Path(__file__).resolve().parents[1]
CONFIG = (ROOT / "config_ndpmon.xml").read_text(encoding="latin-1")
DEMO = str(ROOT / "samples" / "demo.pcap")


def run(capsys, *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().err


def write_config(folder: Path, pipe: str = "") -> Path:
    path = folder / "config_ndpmon.xml"
    high = '<actions_high_priority sendmail="0" syslog="1" exec_pipe_program="'
    text = CONFIG.replace(f'{high}"', f'{high}{pipe}"')
    assert pipe == "" or text != CONFIG
    path.write_text(text, encoding="latin-1")
    return path


def program(folder: Path, mode: int = 0o755) -> Path:
    path = folder / "alert.sh"
    path.write_text("#!/bin/sh\ncat >/dev/null\n")
    path.chmod(mode)
    return path


@pytest.fixture
def home():
    """A folder in /tmp that any user can enter (pytest's tmp_path is private to us),
    owned by us, writable by nobody else."""
    folder = Path(tempfile.mkdtemp(prefix="ndpmon-privs-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_group_writable_pipe_program_is_refused(home, capsys):
    """A group-writable pipe program is refused at --check-config with the chmod that fixes it, exit
    2."""
    script = program(home, 0o775)
    config = write_config(home, str(script))
    rc, err = run(capsys, "--check-config", "-f", str(config), "-g", str(home / "c.xml"))
    assert rc == 2
    assert err == (f"ndpmon: {script}: writable by other users (chmod g-w {script}); "
                   "refusing to run it\n")


def test_pipe_program_in_a_writable_directory_is_refused(home, capsys):
    """A pipe program (with arguments) in a world-writable directory is refused, naming the
    directory and the chmod."""
    bin_dir = home / "bin"
    bin_dir.mkdir()
    script = program(bin_dir)
    bin_dir.chmod(0o777)
    config = write_config(home, f"{script} --flag")
    rc, err = run(capsys, "--check-config", "-f", str(config), "-g", str(home / "c.xml"))
    assert rc == 2
    assert err == (f"ndpmon: {script}: directory {bin_dir} writable by other users "
                   f"(chmod go-w {bin_dir}); refusing to run it\n")


def test_world_writable_config_is_refused(home, capsys):
    """A world-writable config is refused with one line naming the fix, exit 2."""
    config = write_config(home)
    config.chmod(0o666)
    rc, err = run(capsys, "--check-config", "-f", str(config), "-g", str(home / "c.xml"))
    assert rc == 2
    assert err == (f"ndpmon: {config}: writable by other users (chmod go-w {config}); "
                   "refusing to read it\n")


def test_safe_files_pass(home, capsys):
    """A config and pipe program owned by the user and writable by nobody else pass --check-config
    silently."""
    config = write_config(home, str(program(home)))
    rc, err = run(capsys, "--check-config", "-f", str(config), "-g", str(home / "c.xml"))
    assert (rc, err) == (0, "")


def test_sticky_directory_is_refused_for_outputs_but_accepted_higher_up(home):
    """An output directly in a world-writable directory is refused even with the sticky
    bit (anyone may plant the name there first, issue 14); a sticky directory higher
    up is accepted (others cannot rename the trusted folder below it)."""
    shared = home / "shared"
    shared.mkdir()
    for mode in (0o1777, 0o777):
        shared.chmod(mode)
        with pytest.raises(safepath.UnsafeFile) as info:
            safepath.check_outputs([str(shared / "alerts.xml")])
        assert str(info.value) == (f"{shared / 'alerts.xml'}: directory {shared} writable "
                                   f"by other users (chmod go-w {shared}); refusing to "
                                   "write there")
    shared.chmod(0o1777)
    (shared / "mine").mkdir(mode=0o755)
    safepath.check_outputs([str(shared / "mine" / "alerts.xml")])


def test_replay_refuses_to_write_in_a_world_writable_directory(home, capsys):
    """A replay refuses a cache path in a world-writable directory before writing anything there
    (one line, exit 2)."""
    out = home / "out"
    out.mkdir()
    out.chmod(0o777)
    rc, err = run(capsys, "-r", DEMO, "-q", "-f", str(write_config(home)),
                  "-g", str(out / "cache.xml"))
    assert rc == 2
    assert err.startswith(f"ndpmon: {out / 'cache.xml'}: directory {out} writable by "
                          "other users") and err.count("\n") == 1
    assert os.listdir(out) == []


def test_plugin_module_writable_by_others_is_refused(home, capsys):
    """A plugin module writable by others is refused at load, naming the file and the chmod."""
    plugins = home / "plugins"
    plugins.mkdir()
    module = plugins / "mine.py"
    module.write_text("from ndpmon.plugin import Plugin\n")
    module.chmod(0o646)
    text = write_config(home).read_text(encoding="latin-1").replace(
        "</config_ndpmon>", '<plugins><plugin name="mine"/></plugins>\n</config_ndpmon>')
    (home / "config_ndpmon.xml").write_text(text, encoding="latin-1")
    rc, err = run(capsys, "--check-config", "-f", str(home / "config_ndpmon.xml"),
                  "-g", str(home / "c.xml"))
    assert rc == 2
    assert err == (f"ndpmon: {module}: writable by other users (chmod o-w {module}); "
                   "refusing to load it\n")


def test_symlinked_program_names_the_real_file(home):
    """A symlinked program is judged by its target, and the error names the real file."""
    real = program(home, 0o757)
    link = home / "alert-link"
    link.symlink_to(real)
    with pytest.raises(safepath.UnsafeFile) as info:
        safepath.check_file(str(link), "refusing to run it")
    assert str(info.value) == (f"{link}: {real} writable by other users (chmod o-w "
                               f"{real}); refusing to run it")


def test_file_owned_by_another_user_is_refused(home):
    """A file owned by another user is refused (with the chown that fixes it); only where
    ndpmon writes may the ``--user`` own it (``uids``)."""
    need_root()
    nobody = pwd.getpwnam("nobody")
    script = program(home)
    os.chown(script, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(safepath.UnsafeFile) as info:
        safepath.check_file(str(script), "refusing to run it")
    assert str(info.value) == (f"{script}: owned by user nobody (chown root {script}); "
                               "refusing to run it")
    safepath.check_file(str(script), "writing", [nobody.pw_uid])  # the --user's state dir


# -- modes of what ndpmon writes ------------------------------------------------------

def test_replay_outputs_are_0640(home, capsys):
    """umask 027 and explicit modes: cache, alerts.xml and JSON alerts are 0640."""
    out = home / "var"
    out.mkdir()
    config = write_config(home)
    old = os.umask(0o000)  # whatever the caller's umask, ndpmon sets its own
    try:
        rc, err = run(capsys, "-r", DEMO, "-q", "-f", str(config),
                      "-g", str(out / "cache.xml"), "--json-alerts", str(out / "a.jsonl"))
    finally:
        assert os.umask(old) == 0o000  # and gives the caller's back
    assert rc == 0, err
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes == {"cache.xml": 0o640, "alerts.xml": 0o640, "a.jsonl": 0o640}


def test_write_atomic_new_file_0640_existing_keeps_its_mode(tmp_path):
    """write_atomic creates new files 0640 whatever the umask and keeps an existing file's mode."""
    path = tmp_path / "f"
    old = os.umask(0)
    try:
        write_atomic(str(path), b"one")
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        path.chmod(0o600)
        write_atomic(str(path), b"two")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_pid_file_is_0644_under_umask_027(tmp_path):
    """The pid file is world-readable (0644) even under ndpmon's umask 027."""
    old = os.umask(0o027)
    try:
        pidfile = PidFile(str(tmp_path / "ndpmon.pid"))
        with pidfile:
            assert stat.S_IMODE((tmp_path / "ndpmon.pid").stat().st_mode) == 0o644
    finally:
        os.umask(old)


# -- --user: lookups and access checks made as that user ------------------------------

def test_lookup_errors():
    """``--user``/``--group`` lookups: unknown names and root are refused with one-line errors; a
    valid user gets its uid, gid and groups."""
    with pytest.raises(privs.NdpmonError, match="^--user no-such-user-x: no such user$"):
        privs.lookup("no-such-user-x")
    with pytest.raises(privs.NdpmonError, match="that is root"):
        privs.lookup("root")
    with pytest.raises(privs.NdpmonError, match="^--group no-such-group-x: no such group$"):
        privs.lookup("nobody", "no-such-group-x")
    account = privs.lookup("nobody")
    assert (account.name, account.uid) == ("nobody", pwd.getpwnam("nobody").pw_uid)
    assert account.gid in account.groups


def test_group_needs_user(capsys):
    """``--group`` without ``--user`` is a one-line error, exit 2."""
    rc, err = run(capsys, "--group", "nogroup", "--check-config")
    assert (rc, err) == (2, "ndpmon: --group needs --user\n")


def test_cache_directory_not_writable_by_the_user(home, capsys):
    """Checked as the user before anything starts: one line, the fix."""
    need_root()
    var = home / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    rc, err = run(capsys, "--check-config", "--user", "nobody", "-f",
                  str(write_config(home)), "-g", str(var / "cache.xml"))
    assert rc == 2
    assert err == (f"ndpmon: {var / 'cache.xml'}: directory {var} not writable by user "
                   f"nobody (chown nobody {var})\n")


def test_config_not_readable_by_the_user(home, capsys):
    """A config the ``--user`` cannot read is refused before dropping privileges, with the
    chgrp/chmod that fixes it."""
    need_root()
    var = home / "var"
    var.mkdir()
    os.chown(var, pwd.getpwnam("nobody").pw_uid, -1)
    config = write_config(home)
    config.chmod(0o600)
    rc, err = run(capsys, "--check-config", "--user", "nobody", "-f", str(config),
                  "-g", str(var / "cache.xml"))
    assert rc == 2
    assert err == (f"ndpmon: {config}: not readable by user nobody "
                   f"(chgrp nogroup {config} && chmod g+r {config})\n")


def test_pipe_program_not_executable_by_the_user(home, capsys):
    """A pipe program the ``--user`` cannot execute is refused before dropping privileges."""
    need_root()
    var = home / "var"
    var.mkdir()
    os.chown(var, pwd.getpwnam("nobody").pw_uid, -1)
    script = program(home, 0o700)
    rc, err = run(capsys, "--check-config", "--user", "nobody", "-f",
                  str(write_config(home, str(script))), "-g", str(var / "cache.xml"))
    assert rc == 2
    assert err.startswith(f"ndpmon: {script}: not executable by user nobody")


def test_replay_as_nobody(home):
    """-r with --user: the replay runs as the user, whose files it writes, 0640."""
    python = asuser.python()
    var = asuser.workdir()
    try:
        result = subprocess.run(
            [python, "-m", "ndpmon", "-r", DEMO, "-q", "--user", "nobody", "-f",
             str(write_config(home)), "-g", str(var / "cache.xml")],
            env=asuser.env(), capture_output=True, text=True, cwd="/")
        assert result.returncode == 0, result.stderr
        assert "running as user nobody (uid " in result.stderr and "no capabilities" \
            in result.stderr
        for name in ("cache.xml", "alerts.xml"):
            st = (var / name).stat()
            assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (pwd.getpwnam("nobody").pw_uid, 0o640)
    finally:
        shutil.rmtree(var)


def test_acting_as_switches_the_effective_ids_and_back():
    """``privs.acting_as`` (files touched as the ``--user`` before the drop): inside, the
    effective uid, gid and groups are the user's while the saved uid stays root's (so the drop
    can still happen); after it, everything is root's as before."""
    need_root()
    user = pwd.getpwnam("nobody")

    def body():
        account = privs.lookup("nobody")
        before = (os.getresuid(), os.getresgid(), sorted(os.getgroups()))
        with privs.acting_as(account):
            inside = (os.geteuid(), os.getegid(), os.getresuid()[2], sorted(os.getgroups()),
                      os.access("/root", os.R_OK, effective_ids=True))
        return before, inside, (os.getresuid(), os.getresgid(), sorted(os.getgroups()))

    before, inside, after = run_forked(body)
    assert inside == (user.pw_uid, user.pw_gid, 0, sorted(privs.lookup("nobody").groups),
                      False)
    assert after == before
