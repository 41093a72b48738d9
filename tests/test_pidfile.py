"""The pid file (ndpmon.run.pidfile): root creates it before ``--user`` takes effect, so
nothing another account plants may steer what root opens, truncates, chmods or removes
(issue 14, item 2). The live side (the fds of a dropped ndpmon) is in
test_privs_live.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from pathlib import Path

import pytest

from ndpmon.commands.main import main
from ndpmon.errors import NdpmonError
from ndpmon.run.daemon import PidFile
import asuser
from needs import need_root

ROOT = Path(__file__).resolve().parents[1]
FIX = "refusing to write the pid file there (put it where only root can write, " \
      "e.g. --pidfile /run/ndpmon.pid)"


@pytest.fixture
def run_dir():
    """A directory like /run: ours, 0755, in /tmp (sticky, root's)."""
    folder = asuser.etcdir()
    yield folder
    shutil.rmtree(folder)


def precious(folder: Path) -> Path:
    """A root file with content and a private mode, that a link will point at."""
    target = folder / "shadow"
    target.write_text("secret\n")
    target.chmod(0o600)
    return target


def untouched(target: Path) -> bool:
    return target.read_text() == "secret\n" and stat.S_IMODE(target.stat().st_mode) == 0o600


def nobody() -> pwd.struct_passwd:
    need_root()
    return pwd.getpwnam("nobody")


def test_directory_of_the_user_is_refused_with_a_link_planted_there(run_dir):
    """The pid file in a directory the ``--user`` owns (/var/lib/ndpmon as the README makes it):
    a link planted there by that user must not make root truncate or chmod its target; the
    directory is refused with the fix, and the target is as it was."""
    user = nobody()
    target = precious(run_dir)
    var = run_dir / "var"
    var.mkdir(mode=0o750)
    os.chown(var, user.pw_uid, user.pw_gid)
    link = var / "ndpmon.pid"
    link.symlink_to(target)
    os.lchown(link, user.pw_uid, user.pw_gid)
    with pytest.raises(NdpmonError) as info:
        with PidFile(str(link)):
            pass
    assert str(info.value) == f"{link}: directory {var} is owned by user nobody; {FIX}"
    assert untouched(target) and link.is_symlink()


@pytest.mark.parametrize("mode", [0o1777, 0o775])
def test_directory_others_can_write_is_refused_even_sticky(run_dir, mode):
    """A directory others can write in (even sticky, like /tmp) is refused before anything is
    created there."""
    shared = run_dir / "shared"
    shared.mkdir()
    shared.chmod(mode)
    with pytest.raises(NdpmonError) as info:
        PidFile(str(shared / "ndpmon.pid")).check()
    assert str(info.value) == (f"{shared / 'ndpmon.pid'}: directory {shared} is writable "
                               f"by other users; {FIX}")
    assert os.listdir(shared) == []


def test_directory_above_owned_by_another_user_is_refused(run_dir):
    """A directory above the pid file's that another user owns (they could rename it away) is
    refused, naming it."""
    user = nobody()
    outer = run_dir / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    os.chown(outer, user.pw_uid, user.pw_gid)
    with pytest.raises(NdpmonError) as info:
        PidFile(str(inner / "ndpmon.pid")).check()
    assert str(info.value) == (f"{inner / 'ndpmon.pid'}: directory {outer} is owned by user "
                               f"nobody; {FIX}")


def test_another_users_link_on_the_way_is_refused(run_dir):
    """A symbolic link of another user's on the way to the directory (in sticky /tmp, say)
    is refused: that user chooses where it points."""
    user = nobody()
    link = run_dir / "to-run"
    link.symlink_to(run_dir)
    os.lchown(link, user.pw_uid, user.pw_gid)
    with pytest.raises(NdpmonError) as info:
        PidFile(str(link / "ndpmon.pid")).check()
    assert str(info.value) == (f"{link / 'ndpmon.pid'}: symbolic link {link} is owned by "
                               f"user nobody; {FIX}")


def test_link_in_roots_directory_is_not_followed(run_dir):
    """Even in root's own directory, a symbolic link named like the pid file is refused
    (O_NOFOLLOW): its target is neither truncated nor chmodded."""
    target = precious(run_dir)
    link = run_dir / "ndpmon.pid"
    link.symlink_to(target)
    with pytest.raises(NdpmonError) as info:
        with PidFile(str(link)):
            pass
    assert str(info.value) == (f"{link}: is a symbolic link; refusing to use it as the pid "
                               "file (remove it)")
    assert untouched(target)


@pytest.mark.parametrize("kind", ["fifo", "hardlink"])
def test_fifo_or_second_link_is_refused_without_blocking(run_dir, kind):
    """A FIFO (which would block an open) or a file with a second hard link is not used as
    the pid file; a hard-linked file is left as it was."""
    path = run_dir / "ndpmon.pid"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        os.link(precious(run_dir), path)
    with pytest.raises(NdpmonError) as info:
        with PidFile(str(path)):
            pass
    assert str(info.value) == (f"{path}: not a regular file of root's with one link; "
                               "refusing to use it as the pid file (remove it)")
    if kind == "hardlink":
        assert untouched(run_dir / "shadow")


def read_only_fds(path: Path) -> list[bool]:
    """For each fd of this process open on ``path``: is it read-only (fdinfo flags)?"""
    wanted = path.stat()
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(f"/proc/self/fd/{fd}")
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (wanted.st_dev, wanted.st_ino):
            flags = int(info.split("flags:")[1].split()[0], 8)
            found.append(flags & os.O_ACCMODE == os.O_RDONLY)
    return found


def test_lock_is_held_through_a_read_only_fd(run_dir):
    """Once the pid is written, the only fd left on the pid file is read-only (and it holds
    the lock: a second PidFile is refused with our pid); the file is 0644 under umask 027."""
    path = run_dir / "ndpmon.pid"
    old = os.umask(0o027)
    try:
        with PidFile(str(path)):
            assert read_only_fds(path) == [True]
            assert path.read_text() == f"{os.getpid()}\n"
            assert stat.S_IMODE(path.stat().st_mode) == 0o644
            with pytest.raises(NdpmonError, match=rf"already running \(pid {os.getpid()}\)"):
                PidFile(str(path)).check()
    finally:
        os.umask(old)
    assert not path.exists()


def test_exit_removes_only_the_file_it_locked(run_dir):
    """At exit the pid file is removed only if the name still is the locked file: a link or
    another file put there meanwhile stays."""
    path = run_dir / "ndpmon.pid"
    with PidFile(str(path)):
        path.unlink()
        path.symlink_to(precious(run_dir))
    assert path.is_symlink() and untouched(run_dir / "shadow")


def test_check_config_refuses_a_pid_file_in_the_users_directory(run_dir, capsys):
    """``--check-config --user nobody --pidfile /var/lib/ndpmon/ndpmon.pid`` (the README's state
    directory, owned by the user) is refused: one line with the fix, exit 2."""
    user = nobody()
    var = run_dir / "var"
    var.mkdir(mode=0o750)
    os.chown(var, user.pw_uid, user.pw_gid)
    config = run_dir / "config_ndpmon.xml"
    shutil.copy(ROOT / "config_ndpmon.xml", config)
    rc = main(["--check-config", "--user", "nobody", "-f", str(config), "-g",
               str(var / "cache.xml"), "--pidfile", str(var / "ndpmon.pid")])
    err = capsys.readouterr().err
    assert (rc, err) == (2, f"ndpmon: {var / 'ndpmon.pid'}: directory {var} is owned by "
                            f"user nobody; {FIX}\n")
