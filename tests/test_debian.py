"""The Debian package (issue 19 item 2): debian/ builds, installs, runs and purges cleanly.

The package runs ndpmon with Debian's /usr/bin/python3 and Debian's libraries, older than
PyPI's (bookworm: scapy 2.5, lxml 4.9, python-daemon 2.3, prometheus-client 0.16), so
part of the suite also runs under that Python here. The rest builds the package from a
copy of the tree with ``dpkg-buildpackage``, runs lintian, installs it into this system
(CI's, as root), runs the installed ndpmon as the user ``ndpmon`` the package makes, and
purges it, checking that nothing is left. The package is purged whatever happens; an
ndpmon already installed here is never touched (the test refuses to start instead).
"""

from __future__ import annotations

import configparser
import grp
import os
import pwd
import re
import resource
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

import ndpmon
from ndpmon.run.daemon import FD_LIMIT_FLOOR, fd_hard_limit
from needs import missing, need_file, need_root, need_tool
from netns import NamespaceGroup, ip

ROOT = Path(__file__).resolve().parents[1]
DEBIAN = ROOT / "debian"
SAMPLE = ROOT / "samples" / "demo.pcap"
UNIT = Path("/lib/systemd/system/ndpmon.service")
#: what the package installs or makes, and purge must remove
LEFTOVERS = ("/etc/ndpmon", "/var/lib/ndpmon", "/var/log/ndpmon", "/usr/bin/ndpmon",
             "/usr/share/ndpmon", "/usr/lib/python3/dist-packages/ndpmon",
             "/etc/logrotate.d/ndpmon", "/usr/share/doc/ndpmon", str(UNIT))
#: Debian's names of the PyPI requirements whose name is not python3-<name>
DEBIAN_NAMES = {"python-daemon": "python3-daemon"}
#: an environment without the project's virtualenv: Debian's python3 and tools
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
              "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
#: parts of the suite that cover what Debian's older libraries do (replay with scapy,
#: the config and the report with lxml, -D with python-daemon)
DEBIAN_PYTHON_TESTS = (
    "tests/test_golden.py", "tests/test_replay.py", "tests/test_decode.py",
    "tests/test_config.py", "tests/test_cli.py", "tests/test_samples.py",
    "tests/test_report.py", "tests/test_upgrade.py", "tests/test_pidfile.py",
    "tests/test_hostile_files.py::test_dtd_with_external_parameter_entity_is_not_fetched",
    "tests/test_live.py::test_daemon_detaches_writes_pidfile_and_logs_to_syslog",
    # prometheus_client 0.16: the exposition, promtool, and the names the contrib files use
    "tests/test_metrics.py::test_the_endpoint_serves_the_text_format",
    "tests/test_metrics.py::test_promtool_check_metrics_passes",
    "tests/test_metrics.py::test_dashboard_and_rules_name_only_metrics_ndpmon_exposes")


def run(*cmd: str, check: bool = True, timeout: float = 300,
        **kw) -> subprocess.CompletedProcess:
    """``cmd`` with the system's environment; its output; fails the test if ``check``."""
    kw.setdefault("env", SYSTEM_ENV)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert result.returncode == 0, f"{cmd}: {result.stdout}{result.stderr}"
    return result


def changelog_version() -> str:
    """The upstream part of debian/changelog's newest version (no epoch, no revision)."""
    first = (DEBIAN / "changelog").read_text().splitlines()[0]
    version = re.fullmatch(r"ndpmon \(([^)]+)\) \S+; urgency=\S+", first)
    assert version, f"debian/changelog: not a changelog entry: {first!r}"
    upstream = version.group(1).split(":", 1)[-1]
    return upstream.rsplit("-", 1)[0] if "-" in upstream else upstream


def control_field(name: str) -> str:
    """A field of debian/control, its lines joined (the first stanza that has it)."""
    text = (DEBIAN / "control").read_text()
    found = re.search(rf"^{name}:(.*(?:\n[ \t].*)*)", text, re.M)
    assert found, f"debian/control has no {name}"
    return " ".join(found.group(1).split())


def requirements() -> list[tuple[str, str]]:
    """(name, lower bound) of setup.cfg's install_requires."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    pairs = []
    for line in cfg["options"]["install_requires"].split("\n"):
        if line.strip():
            name, bound = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", line.strip()).groups()
            pairs.append((name, bound))
    return pairs


def test_changelog_version_is_ndpmons():
    """debian/changelog's version is ndpmon.__version__ (the .deb says what it holds)."""
    assert changelog_version() == ndpmon.__version__


def test_depends_has_every_requirement_with_its_lower_bound():
    """Each install_requires of setup.cfg is a Depends on Debian's package, with the same
    lower bound, and the bounds are met by Debian bookworm's versions."""
    depends = control_field("Depends")
    bookworm = {"lxml": "4.9.2", "scapy": "2.5.0", "python-daemon": "2.3.2",
                "prometheus_client": "0.16.0", "prometheus-client": "0.16.0"}
    for name, bound in requirements():
        debian = DEBIAN_NAMES.get(name, "python3-" + name.lower().replace("_", "-"))
        assert f"{debian} (>= {bound})" in depends, f"debian/control: Depends: {debian}"
        if name in bookworm:
            have = tuple(int(p) for p in bookworm[name].split("."))
            assert have >= tuple(int(p) for p in bound.split(".")), (name, bound)
    assert "python3-daemon (>= 2.3)" in depends  # not 3.0: bookworm has 2.3.2
    build = control_field("Build-Depends")
    for package in ("debhelper-compat (= 13)", "dh-python", "python3-all",
                    "python3-setuptools", "pybuild-plugin-pyproject"):
        assert package in build


@pytest.mark.parametrize(("version", "soft", "hard", "want"), [
    ("2.3.2", 1024, 1048576, FD_LIMIT_FLOOR),       # bookworm's: brought down
    ("2.3.2", 8192, 1048576, 8192),                 # never below the soft limit
    ("2.3.2", 1024, resource.RLIM_INFINITY, FD_LIMIT_FLOOR),
    ("2.3.2", 1024, FD_LIMIT_FLOOR, None),          # low already
    ("3.1.2", 1024, 1048576, None),                 # 3.x keeps a range, not a set
    ("unknown", 1024, 1048576, None),
])
def test_fd_hard_limit_before_python_daemon(version, soft, hard, want):
    """python-daemon < 3 keeps a set of every descriptor below the hard limit: ndpmon
    lowers that limit first (ndpmon.run.daemon.fd_hard_limit)."""
    assert fd_hard_limit(version, soft, hard) == want


def need_debian_python() -> None:
    """Debian's python3 with the packages ndpmon depends on, and pytest (.ci/run)."""
    for module, package in (("scapy", "python3-scapy"), ("lxml", "python3-lxml"),
                            ("daemon", "python3-daemon"), ("pytest", "python3-pytest"),
                            ("hypothesis", "python3-hypothesis"),
                            ("prometheus_client", "python3-prometheus-client")):
        need_file(f"/usr/lib/python3/dist-packages/{module}", package)


def test_python_daemon_2_3_gets_a_low_fd_limit():
    """Under Debian's python3-daemon 2.3, ``bound_fd_limit`` lowers the hard limit on open
    files to FD_LIMIT_FLOOR before the import (else 80 MiB for a limit of 1048576)."""
    need_debian_python()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= FD_LIMIT_FLOOR:
        pytest.skip(f"the hard limit on open files is already {hard}")
    code = ("import resource; from ndpmon.run.daemon import bound_fd_limit; "
            "bound_fd_limit(); import daemon; "
            "print(*resource.getrlimit(resource.RLIMIT_NOFILE))")
    result = run("/usr/bin/python3", "-c", code, cwd=ROOT,
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)))
    assert result.stdout.split() == ["1024", str(FD_LIMIT_FLOOR)]


def test_suite_parts_pass_under_debians_python(tmp_path):
    """Replay, decoding, config, report, the hostile DTD and -D under /usr/bin/python3 with
    Debian's scapy 2.5, lxml 4.9 and python-daemon 2.3 (RawPcapReader is no context
    manager there; etree.DTD fetched a DTD's http:// entity)."""
    need_debian_python()
    env = dict(os.environ)
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    env["PATH"] = SYSTEM_ENV["PATH"]
    result = run("/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "-W", "ignore::pytest.PytestConfigWarning", f"--basetemp={tmp_path}/pt",
                 *DEBIAN_PYTHON_TESTS, check=False, timeout=600, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = re.search(r"^(\d+) passed", result.stdout.splitlines()[-1])
    assert passed and int(passed.group(1)) > 250, result.stdout[-2000:]


# -- the package --------------------------------------------------------------------


def copy_tree(dest: Path) -> None:
    """The files git knows (tracked, and new ones not ignored), links kept as links."""
    listed = run("git", "ls-files", "-z", "-c", "-o", "--exclude-standard", cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


@pytest.fixture(scope="module")
def deb():
    """The .deb built from a copy of the tree (dpkg-buildpackage writes beside it)."""
    need_root()
    need_tool("dpkg-buildpackage", "dpkg-checkbuilddeps", "lintian", "git")
    builddeps = run("dpkg-checkbuilddeps", check=False, cwd=ROOT)
    if builddeps.returncode != 0:
        missing(f"build dependencies: {builddeps.stderr.strip()}")
    base = Path(tempfile.mkdtemp(prefix="ndpmon-deb-"))
    try:
        copy_tree(base / "ndpmon")
        run("dpkg-buildpackage", "-us", "-uc", "-b", cwd=base / "ndpmon", timeout=600)
        debs = list(base.glob("ndpmon_*.deb"))
        assert [d.name for d in debs] == [f"ndpmon_{ndpmon.__version__}_all.deb"]
        yield debs[0]
    finally:
        shutil.rmtree(base)


def test_lintian_finds_no_error(deb):
    """lintian: no error and no warning (debian/ndpmon.lintian-overrides says why for
    what it overrides)."""
    result = run("lintian", "--fail-on", "error,warning", str(deb), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_contents_and_conffiles(deb):
    """The .deb holds the program, the config and DTD as conffiles, the unit, the man
    page, the logrotate file, the plugins; no test, sample or bytecode in the modules."""
    listing = run("dpkg-deb", "-c", str(deb)).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    for path in ("/usr/bin/ndpmon", "/etc/ndpmon/config_ndpmon.xml",
                 "/etc/ndpmon/config_ndpmon.dtd", str(UNIT), "/etc/logrotate.d/ndpmon",
                 "/usr/share/man/man8/ndpmon.8.gz", "/usr/share/ndpmon/plugins/rules.py",
                 "/usr/share/ndpmon/plugins/mac_resolv.py",
                 "/usr/lib/python3/dist-packages/ndpmon/run/daemon.py",
                 "/usr/lib/python3/dist-packages/ndpmon/data/config_ndpmon.dtd",
                 "/usr/lib/python3/dist-packages/ndpmon/data/alerts.xsl",
                 "/usr/share/doc/ndpmon/examples/demo.pcap",
                 "/usr/share/doc/ndpmon/examples/ndpmon-rules.yml",
                 "/usr/share/doc/ndpmon/examples/ndpmon.json"):
        assert path in paths, path
    modules = {p.split("/")[5] for p in paths
               if p.startswith("/usr/lib/python3/dist-packages/") and p.count("/") > 5}
    assert modules == {"ndpmon", f"ndpmon-{ndpmon.__version__}.dist-info"}
    assert not [p for p in paths if "__pycache__" in p or "/tests/" in p]
    conffiles = run("dpkg-deb", "-I", str(deb), "conffiles").stdout.split()
    assert sorted(conffiles) == ["/etc/logrotate.d/ndpmon", "/etc/ndpmon/config_ndpmon.dtd",
                                 "/etc/ndpmon/config_ndpmon.xml"]


def dpkg_status() -> str:
    """dpkg's status of the package ndpmon ('' when dpkg does not know it)."""
    return run("dpkg-query", "-W", "-f=${Status}", "ndpmon", check=False).stdout


def purge() -> None:
    run("dpkg", "--purge", "ndpmon", timeout=300)


@pytest.fixture(scope="module")
def installed(deb):
    """The package installed with its Depends (apt-get), purged afterwards whatever
    happens."""
    need_tool("apt-get", "dpkg", "runuser")
    if dpkg_status() not in ("", "unknown ok not-installed"):
        missing(f"ndpmon is already installed here ({dpkg_status()}): the test installs "
                f"and purges its own (dpkg --purge ndpmon first)")
    try:
        pwd.getpwnam("ndpmon")
        missing("a user ndpmon exists that the package did not make (purge would remove it)")
    except KeyError:
        pass
    try:
        run("apt-get", "install", "-y", "-q", "--no-install-recommends",
            "-o", "DPkg::Lock::Timeout=120", str(deb), timeout=600)
        yield deb
    finally:
        purge()


def test_installed_files_owners_and_modes(installed):
    """/usr/bin/ndpmon runs Debian's python3; the config is root's (the trust rule: root
    reads nothing another account can change) and readable by the group ndpmon only; the
    state and log directories are the user's; the user has no shell."""
    assert Path("/usr/bin/ndpmon").read_text().splitlines()[0] == "#!/usr/bin/python3"
    user = pwd.getpwnam("ndpmon")
    assert user.pw_shell == "/usr/sbin/nologin" and user.pw_uid < 1000
    gid = grp.getgrnam("ndpmon").gr_gid
    expect = {"/etc/ndpmon": (0, gid, 0o750), "/etc/ndpmon/config_ndpmon.xml": (0, gid, 0o640),
              "/etc/ndpmon/config_ndpmon.dtd": (0, gid, 0o640),
              "/var/lib/ndpmon": (user.pw_uid, gid, 0o750),
              "/var/log/ndpmon": (user.pw_uid, grp.getgrnam("adm").gr_gid, 0o750)}
    for path, (uid, group, mode) in expect.items():
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, group, mode), path
    for path in ("/usr/share/ndpmon/plugins", "/usr/share/ndpmon/plugins/rules.py"):
        st = os.stat(path)
        assert st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    where = run("runuser", "-u", "ndpmon", "--", "/usr/bin/python3", "-c",
                "import ndpmon, scapy, lxml, daemon; "
                "print(ndpmon.__file__, scapy.__file__, lxml.__file__, daemon.__file__)",
                cwd="/").stdout.split()
    assert [w.startswith("/usr/lib/python3/dist-packages/") for w in where] == [True] * 4


class Eth0(NamespaceGroup):
    """A network namespace with an ``eth0`` (a veth: no dummy module needed), the sample
    config's probe."""

    NAMES = ("a",)

    def _create(self) -> None:
        ip("netns", "add", self.ns["a"])
        self.run("a", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        self.run("a", "link", "set", "eth0", "up")


def unit_commands() -> list[list[str]]:
    """The installed unit's ExecStartPre and ExecStart command lines."""
    return [line.split() for line in re.findall(r"^ExecStart(?:Pre)?=(.*)$",
                                                UNIT.read_text(), re.M)]


def test_installed_unit_runs_usr_bin_ndpmon_and_verifies(installed):
    """The unit is contrib's, running /usr/bin/ndpmon as --user ndpmon; nothing left of
    the README's /opt/ndpmon; ``systemd-analyze verify`` finds nothing wrong."""
    tools = need_tool("systemd-analyze")
    commands = unit_commands()
    assert [c[0] for c in commands] == ["/usr/bin/ndpmon", "/usr/bin/ndpmon"]
    assert all(c[c.index("--user") + 1] == "ndpmon" for c in commands)
    assert "/opt/" not in UNIT.read_text()
    result = run(tools["systemd-analyze"], "verify", "--man=no", str(UNIT), check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def test_check_config_of_the_unit_and_as_the_user(installed):
    """The unit's ExecStartPre (root, --user ndpmon, --check-config) and a check run as
    the user ndpmon accept the installed config (in a namespace that has its eth0)."""
    need_tool("ip")
    check = unit_commands()[0]
    assert "--check-config" in check
    with Eth0() as ns:
        for cmd in (check, ["runuser", "-u", "ndpmon", "--", "/usr/bin/ndpmon",
                            "--check-config"]):
            result = run("ip", "netns", "exec", ns.ns["a"], *cmd, cwd="/", check=False)
            assert (result.returncode, result.stderr) == (0, ""), (cmd, result.stderr)
            assert result.stdout.startswith("/etc/ndpmon/config_ndpmon.xml: OK")


RULE = ('<rules><rule description="a router advertisement">'
        '<match field="nd.ra"/></rule></rules>\n      </probe>')


@pytest.fixture
def replay_dir():
    """A folder only root can change (the trust rule) with the installed config plus a
    rule and the ``rules`` plugin, and the sample capture; readable by the user."""
    etc = Path(tempfile.mkdtemp(prefix="ndpmon-deb-etc-", dir="/tmp"))
    try:
        etc.chmod(0o755)
        config = Path("/etc/ndpmon/config_ndpmon.xml").read_text()
        config = config.replace("\n    </probe>", "\n      " + RULE, 1)
        config = config.replace("</config_ndpmon>",
                                '<plugins><plugin name="rules"/></plugins>\n</config_ndpmon>')
        (etc / "config_ndpmon.xml").write_text(config)
        shutil.copy(SAMPLE, etc / "demo.pcap")
        for path in etc.iterdir():
            path.chmod(0o644)
        yield etc
    finally:
        shutil.rmtree(etc)


def replay(etc: Path, *more: str, user: tuple[str, ...] = ()) -> str:
    """The installed ndpmon's replay of the sample with ``etc``'s config; its stderr,
    which has the rule's alert (the plugin, found in /usr/share/ndpmon/plugins, ran)."""
    result = run(*user, "/usr/bin/ndpmon", "-f", str(etc / "config_ndpmon.xml"),
                 "-r", str(etc / "demo.pcap"), *more, cwd="/")
    assert "eth0 low: a router advertisement" in result.stderr, result.stderr
    return result.stderr


def test_replay_as_the_user_with_a_shipped_plugin_then_logrotate(installed, replay_dir,
                                                                  tmp_path):
    """The sample capture replayed by the user ndpmon into /var/lib/ndpmon and
    /var/log/ndpmon, with the installed config plus the ``rules`` plugin, found in
    /usr/share/ndpmon/plugins; then logrotate rotates the JSON alerts."""
    need_tool("logrotate")
    log = replay(replay_dir, "--json-alerts", "/var/log/ndpmon/alerts.jsonl",
                 user=("runuser", "-u", "ndpmon", "--"))
    assert "high: wrong ipv6 router 0:0:5e:0:53:66" in log
    uid = pwd.getpwnam("ndpmon").pw_uid
    written = ("/var/lib/ndpmon/neighbor_list.xml", "/var/lib/ndpmon/alerts.xml",
               "/var/log/ndpmon/alerts.jsonl")
    assert [os.stat(p).st_uid for p in written] == [uid] * 3
    assert "wrong ipv6 router" in Path("/var/log/ndpmon/alerts.jsonl").read_text()
    run("logrotate", "--force", "--state", str(tmp_path / "state"), "/etc/logrotate.d/ndpmon")
    assert sorted(os.listdir("/var/log/ndpmon")) == ["alerts.jsonl.1"]
    # the web report, with the stylesheets installed in the package (ndpmon/data)
    run("runuser", "-u", "ndpmon", "--", "/usr/bin/ndpmon", "report", "-f",
        str(replay_dir / "config_ndpmon.xml"), "--out", "/var/lib/ndpmon/web", cwd="/")
    assert "0:0:5e:0:53:66" in Path("/var/lib/ndpmon/web/alerts.html").read_text()


def test_purge_leaves_nothing(installed, replay_dir):
    """``dpkg --purge``: no file, directory, unit, module or user of ndpmon is left (the
    user goes too: it owned only /var/lib/ndpmon and /var/log/ndpmon, removed with it),
    also after root imported a shipped plugin (its bytecode is dh_python3's)."""
    replay(replay_dir, "-g", str(replay_dir / "neighbor_list.xml"))
    purge()
    assert dpkg_status() in ("", "unknown ok not-installed")
    assert [p for p in LEFTOVERS if os.path.lexists(p)] == []
    for lookup in (pwd.getpwnam, grp.getgrnam):
        with pytest.raises(KeyError):
            lookup("ndpmon")
