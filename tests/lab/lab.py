#!/usr/bin/env python3
"""A small IPv6 LAN in network namespaces, to run ndpmon against software nobody here wrote.

Unit samples prove the checks; this lab proves the tool on a real link. It builds, with
``ip netns`` and nothing else of the host touched::

                       lan: br0 (IPv6 off, no snooping, no MAC learning)
     +------------+-----------+-----------+-----------+-----------+
   router        host1       host2        mon         atk
   radvd: 2001:db8:1::/64    SLAAC +     ndpmon      thc-ipv6
   (valid 600 s), RDNSS,     privacy     (no autoconf)  2001:db8:1::bad
   DNSSL, a route
     | eth1: 2001:db8:ff::1
   wan (2001:db8:ff::2, default route via the router): an off-link attacker

Every ND frame reaches every port: the bridge floods all multicast (``mcast_snooping 0``)
and, with MAC learning off, all unicast too, so the monitor port sees solicited NAs and
unicast NSs as a mirror port would (LAB-NOTES gotcha 1). host2 uses temporary addresses
with short lifetimes, so a new one (with its DAD) appears every ~35 s (gotcha 6). radvd
advertises its prefix valid for 10 minutes, as for a short DHCPv6-PD lease: learned so,
its RAs must raise no alert (issue 18 item 10; NDPMon raised a high one on each).

Usage (root; run with the project's venv python so ndpmon and scapy import)::

    .venv/bin/python tests/lab/lab.py up        # build it (~6 s)
    .venv/bin/python tests/lab/lab.py try       # up, learn 20 s, then monitor until Ctrl-C
    .venv/bin/python tests/lab/lab.py status    # namespaces, addresses, routes
    .venv/bin/python tests/lab/lab.py down      # remove everything it made

``--name`` picks another lab name (namespaces are ``NAME-router`` ...), so two labs can
run side by side; the test suite uses ``ndpl<pid>``, and removes labs of dead test runs.
Everything ``up`` creates lives in those namespaces and in ``/tmp/NAME``; ``down`` kills
every process left in them and deletes them, also after a failed ``up``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PREFIX = "2001:db8:1::"
ROUTER_ADDR = "2001:db8:1::1"
RDNSS, DNSSL, ROUTE = "2001:db8:1::53", "lab.example", "2001:db8:99::/48"
ATTACKER_ADDR = "2001:db8:1::bad"
WAN, WAN_ROUTER, WAN_HOST = "2001:db8:ff::/64", "2001:db8:ff::1", "2001:db8:ff::2"
PORTS = ("router", "host1", "host2", "mon", "atk")  # the roles plugged into br0
ROLES = (*PORTS, "wan")
HOSTS = ("host1", "host2")

# Set in a role's namespace (all + default) before its eth0 exists, so eth0 inherits them.
SYSCTLS = {
    "router": {"forwarding": 1},
    "host1": {},
    "host2": {"use_tempaddr": 2, "temp_prefered_lft": 40, "temp_valid_lft": 120,
              "max_desync_factor": 5},
    "mon": {"accept_ra": 0, "autoconf": 0, "accept_redirects": 0},
    "atk": {"accept_ra": 0, "autoconf": 0},
    "wan": {"accept_ra": 0, "autoconf": 0},
}

RADVD_CONF = f"""\
interface eth0 {{
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 6;
    prefix {PREFIX}/64 {{ AdvOnLink on; AdvAutonomous on;
                          AdvValidLifetime 600; AdvPreferredLifetime 300; }};
    route {ROUTE} {{ AdvRouteLifetime 1800; }};
    RDNSS {RDNSS} {{ AdvRDNSSLifetime 600; }};
    DNSSL {DNSSL} {{ AdvDNSSLLifetime 600; }};
}};
"""

TOOLS = ("ip", "bridge", "sysctl", "radvd", "timeout")


class LabError(RuntimeError):
    """A step of building the lab failed; the message says which."""


def run(argv: list[str], *, timeout: float = 30, check: bool = True,
        **kw) -> subprocess.CompletedProcess:
    """Run a command; on failure raise LabError with its stderr."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode:
        raise LabError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done


class Lab:
    """One lab: its namespaces (``NAME-ROLE``), its work directory, its processes."""

    def __init__(self, name: str = "ndplab", workdir: Path | None = None) -> None:
        self.name = name
        self.workdir = Path(workdir or f"/tmp/{name}")

    def ns(self, role: str) -> str:
        return f"{self.name}-{role}"

    def exec_argv(self, role: str, argv: list[str]) -> list[str]:
        """``argv`` run inside ``role``'s namespace."""
        return ["ip", "netns", "exec", self.ns(role), *argv]

    def sh(self, role: str, *argv: str, timeout: float = 30,
           check: bool = True) -> subprocess.CompletedProcess:
        return run(self.exec_argv(role, list(argv)), timeout=timeout, check=check)

    def popen(self, role: str, argv: list[str], log: Path, **kw) -> subprocess.Popen:
        """Start ``argv`` in ``role``'s namespace, stdout and stderr to ``log``."""
        with log.open("ab") as out:
            return subprocess.Popen(self.exec_argv(role, argv), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)

    # -- building -------------------------------------------------------------------

    def up(self, hosts: bool = True) -> None:
        """Build the lab; with ``hosts=False`` the hosts' links stay down (``hosts_up``)."""
        missing = [t for t in TOOLS if not shutil.which(t, path=_path())]
        if missing:
            raise LabError(f"missing tools: {', '.join(missing)}")
        self.down()
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._switch()
            for role in PORTS:
                self._port(role)
            self._wan()
            self._router()
            for role in ("mon", "atk"):
                self.sh(role, "ip", "link", "set", "eth0", "up")
            # thc-ipv6 needs a usable link-local (LAB-NOTES 7) and a route to on-link
            # globals ("No idea where to route the packet"): a static address gives both
            self.sh("atk", "ip", "-6", "addr", "add", f"{ATTACKER_ADDR}/64", "dev", "eth0",
                    "nodad")
            self.wait_lla("atk")
            if hosts:
                self.hosts_up()
        except BaseException:
            self.down()
            raise

    def _switch(self) -> None:
        lan = self.ns("lan")
        run(["ip", "netns", "add", lan])
        self.sh("lan", "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1")
        run(["ip", "-n", lan, "link", "add", "br0", "type", "bridge", "stp_state", "0",
             "forward_delay", "0", "ageing_time", "0", "mcast_snooping", "0",
             "mcast_querier", "0"])
        run(["ip", "-n", lan, "link", "set", "br0", "up"])

    def _netns(self, role: str) -> str:
        """``role``'s namespace, with lo up and its sysctls set (before any eth0)."""
        ns = self.ns(role)
        run(["ip", "netns", "add", ns])
        self.sh(role, "ip", "link", "set", "lo", "up")
        settings = [f"net.ipv6.conf.{scope}.{key}={value}"
                    for key, value in SYSCTLS[role].items() for scope in ("all", "default")]
        if settings:
            self.sh(role, "sysctl", "-qw", *settings)
        return ns

    def _port(self, role: str) -> None:
        """``role``'s namespace and its eth0, plugged into br0 as port ``p-ROLE``."""
        ns, lan, port = self._netns(role), self.ns("lan"), f"p-{role}"
        run(["ip", "-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0",
             "netns", ns])
        run(["ip", "-n", lan, "link", "set", port, "master", "br0", "up"])
        run(["bridge", "-n", lan, "link", "set", "dev", port, "learning", "off", "flood", "on",
             "mcast_flood", "on"])
        if role == "mon":
            self.sh(role, "ip", "link", "set", "eth0", "promisc", "on")

    def _wan(self) -> None:
        """An upstream link: the router's eth1 to ``wan``, an off-link attacker's place."""
        ns = self._netns("wan")
        self.sh("router", "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth0",
                "netns", ns)
        self.sh("router", "ip", "link", "set", "eth1", "up")
        self.sh("router", "ip", "-6", "addr", "add", f"{WAN_ROUTER}/64", "dev", "eth1", "nodad")
        self.sh("wan", "ip", "link", "set", "eth0", "up")
        self.sh("wan", "ip", "-6", "addr", "add", f"{WAN_HOST}/64", "dev", "eth0", "nodad")
        self.sh("wan", "ip", "-6", "route", "add", "default", "via", WAN_ROUTER)

    def _router(self) -> None:
        """The router's address, then radvd once its link-local is usable (gotcha 4)."""
        self.sh("router", "ip", "link", "set", "eth0", "up")
        self.sh("router", "ip", "-6", "addr", "add", f"{ROUTER_ADDR}/64", "dev", "eth0")
        self.wait_lla("router")
        conf = self.workdir / "radvd.conf"
        conf.write_text(RADVD_CONF)
        conf.chmod(0o644)
        self.popen("router", ["radvd", "-n", "-m", "stderr", "-C", str(conf),
                              "-p", str(self.workdir / "radvd.pid")],
                   self.workdir / "radvd.log")
        _wait(lambda: (self.workdir / "radvd.pid").exists(), 10, "radvd did not start: "
              + str(self.workdir / "radvd.log"))

    def hosts_up(self) -> None:
        """Bring the hosts' links up and wait until SLAAC gave each a global address."""
        for role in HOSTS:
            self.sh(role, "ip", "link", "set", "eth0", "up")
        for role in HOSTS:
            _wait(lambda r=role: self.globals(r), 30, f"{role} got no SLAAC address")

    def attack(self, role: str, argv: list[str], seconds: float, log: Path) -> int:
        """Run a tool in ``role`` for ``seconds`` (SIGINT, as Ctrl-C), then kill whatever
        it forked (thc-ipv6 tools fork, LAB-NOTES 9). Returns its exit status."""
        proc = self.popen(role, ["timeout", "-s", "INT", "-k", "2", f"{seconds:g}", *argv], log)
        try:
            return proc.wait(seconds + 10)
        finally:
            _kill_all(self.ns(role))

    def wait_lla(self, role: str, timeout: float = 10) -> None:
        """Wait until ``role``'s link-local is no longer tentative (DAD done)."""
        def ready() -> bool:
            out = self.sh(role, "ip", "-6", "-o", "addr", "show", "dev", "eth0",
                          "scope", "link").stdout
            return bool(out) and "tentative" not in out
        _wait(ready, timeout, f"{role}: link-local still tentative")

    # -- looking ----------------------------------------------------------------------

    def addresses(self, role: str) -> list[dict]:
        """``ip -j addr`` of ``role``'s eth0 (each with local, scope, flags)."""
        out = self.sh(role, "ip", "-6", "-j", "addr", "show", "dev", "eth0").stdout
        return [a for link in json.loads(out or "[]") for a in link.get("addr_info", [])]

    def globals(self, role: str) -> list[str]:
        """``role``'s usable global addresses."""
        return [a["local"] for a in self.addresses(role)
                if a.get("scope") == "global" and not a.get("tentative")]

    def slaac(self, role: str) -> str:
        """``role``'s stable SLAAC address in the lab prefix (not a temporary one, not
        one a rogue RA gave it)."""
        found: list[str] = []

        def usable() -> bool:
            found[:] = [a["local"] for a in self.addresses(role)
                        if a["local"].startswith(PREFIX[:-1]) and a.get("dynamic")
                        and not (a.get("temporary") or a.get("tentative")
                                 or a.get("dadfailed"))]
            return bool(found)
        _wait(usable, 15, f"{role} has no SLAAC address in {PREFIX}/64")
        return found[0]

    def lla(self, role: str) -> str:
        return next(a["local"] for a in self.addresses(role) if a.get("scope") == "link")

    def mac(self, role: str) -> str:
        out = self.sh(role, "ip", "-j", "link", "show", "dev", "eth0").stdout
        return json.loads(out)[0]["address"]

    def status(self) -> str:
        lines = []
        for role in PORTS:
            if not _ns_exists(self.ns(role)):
                lines.append(f"{self.ns(role)}: not there")
                continue
            addrs = " ".join(a["local"] for a in self.addresses(role))
            routes = self.sh(role, "ip", "-6", "route", "show", check=False).stdout
            lines.append(f"{self.ns(role)}: {self.mac(role)} {addrs}")
            lines += [f"    {r}" for r in routes.splitlines() if not r.startswith("fe80")]
        return "\n".join(lines)

    # -- tearing down -------------------------------------------------------------------

    def down(self) -> None:
        """Kill every process in the lab's namespaces and delete them. Idempotent."""
        names = [self.ns(role) for role in (*ROLES, "lan")]
        for ns in names:
            if _ns_exists(ns):
                _kill_all(ns)
        for ns in names:
            if _ns_exists(ns):
                run(["ip", "netns", "delete", ns], check=False)


def _path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def _ns_exists(ns: str) -> bool:
    return os.path.exists(f"/run/netns/{ns}")


def _kill_all(ns: str) -> None:
    """SIGTERM every process in ``ns``, SIGKILL what is left after 3 s."""
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)):
        pids = _pids(ns)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline and _pids(ns):
            time.sleep(0.05)


def _pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:g} s: {what}")
        time.sleep(0.1)


def reap_stale(prefix: str = "ndpl") -> None:
    """Remove labs of test runs that died (``ndpl<pid>-*`` with no such process)."""
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return
    for name in names:
        tag = name.partition("-")[0]
        pid = tag[len(prefix):]
        if tag.startswith(prefix) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            Lab(tag).down()


def main(argv: list[str] | None = None) -> int:
    from ndpmon_run import try_it  # the hand-run mode needs ndpmon's Python environment

    parser = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status", "try"))
    parser.add_argument("--name", default="ndplab", help="lab name (namespace prefix)")
    args = parser.parse_args(argv)
    lab = Lab(args.name)
    try:
        if args.command == "up":
            lab.up()
            print(lab.status())
        elif args.command == "down":
            lab.down()
        elif args.command == "status":
            print(lab.status())
        else:
            try_it(lab)
    except (LabError, subprocess.TimeoutExpired) as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
