"""ndpmon on a real LAN (tests/lab/lab.py) against radvd, SLAAC hosts and thc-ipv6.

One lab and one ndpmon for the whole module, in order: a learning run (``-L``) while the
hosts come up; a monitoring run with what it learned through a benign minute (radvd's
periodic RAs, DAD of new temporary addresses, pings, rdisc6/ndisc6, an address added and
removed) that must raise no high-priority alert and only the expected low ones; then
each attack of tests/lab/attacks.py, which must raise the alerts that name it, with the
monitor's memory under its cap; last, one rogue RA after all the floods must still be
caught. The measured table is written to $NDPMON_LAB_TABLE (default
/tmp/ndpmon-lab-table.md) and printed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from needs import need_root, need_tool

from attacks import AFTER_FLOODS, ATTACKS, ROGUE_LLA, ROGUE_MAC, Attack
from lab import HOSTS, ROUTER_ADDR, Lab, reap_stale
from ndpmon_run import Ndpmon

from ndpmon.codec.addr import mac_str

#: peak RSS allowed for ndpmon with <limits max_neighbors="5000"> through every flood
RSS_CAP_KIB = 150 * 1024
BENIGN_SECONDS = 70
LOW_EXPECTED = {"new station", "new IP", "new lla"}
TABLE = Path(os.environ.get("NDPMON_LAB_TABLE", "/tmp/ndpmon-lab-table.md"))
ROWS: list[str] = []


class Run:
    """The lab, its ndpmon and what each phase saw."""

    def __init__(self, lab: Lab, mon: Ndpmon) -> None:
        self.lab, self.mon = lab, mon
        self.seen = 0

    def new_alerts(self) -> list[dict]:
        """Alerts raised since the last call."""
        alerts = self.mon.alerts()
        fresh, self.seen = alerts[self.seen:], len(alerts)
        return fresh

    def settle(self, quiet: float = 1.5, limit: float = 30) -> None:
        """Wait until no alert arrived for ``quiet`` s (ndpmon drained its backlog)."""
        deadline, last, count = time.monotonic() + limit, time.monotonic(), -1
        while time.monotonic() < deadline:
            now_count = len(self.mon.alerts())
            if now_count != count:
                count, last = now_count, time.monotonic()
            elif time.monotonic() - last >= quiet:
                return
            time.sleep(0.25)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    need_root()
    need_tool("ip", "bridge", "radvd", "rdisc6", "ndisc6", "ping", "atk6-fake_router6",
              "timeout", "sysctl")
    reap_stale()
    lab = Lab(f"ndpl{os.getpid()}", tmp_path_factory.mktemp("lab"))
    lab.up(hosts=False)
    try:
        workdir = lab.workdir / "ndpmon"
        workdir.mkdir()
        yield Run(lab, Ndpmon(lab, workdir, max_neighbors=5000))
    finally:
        lab.down()
        if ROWS:
            TABLE.write_text("\n".join(ROWS) + "\n")
            print("\n" + TABLE.read_text())


def ping(lab: Lab, role: str, dst: str, count: int = 2) -> None:
    lab.sh(role, "ping", "-c", str(count), "-i", "0.2", "-W", "1", dst, check=False)


def resolve(lab: Lab) -> None:
    """Flush the hosts' neighbour caches and ping across: NS and NA on the wire."""
    host1, host2 = lab.slaac("host1"), lab.slaac("host2")
    for role in HOSTS:
        lab.sh(role, "ip", "-6", "neigh", "flush", "dev", "eth0", check=False)
    ping(lab, "host1", host2)
    ping(lab, "host2", host1)
    ping(lab, "host1", ROUTER_ADDR)


def test_learning_run_writes_the_router_and_the_neighbours(run):
    """``-L`` on the lab raises no alert and writes radvd's router (MAC, prefix, its global address
    from its NA, DNSSL domain, route) into the config and every host into the cache."""
    lab, mon = run.lab, run.mon
    mon.start("-L")
    lab.hosts_up()
    resolve(lab)
    lab.sh("host2", "ndisc6", "-q", ROUTER_ADDR, "eth0", check=False)
    time.sleep(7)  # at least one periodic RA (MaxRtrAdvInterval 6)
    assert mon.stop() == 0, mon.stderr()
    assert mon.alerts() == []
    config = mon.config.read_text()
    assert ether(lab.mac("router")) in config
    assert "<address>2001:db8:1::</address>" in config
    assert ROUTER_ADDR in config  # learned from the router's NA (Router flag)
    assert "lab.example" in config and "2001:db8:99::" in config
    cache = mon.cache.read_text()
    assert all(f"<mac>{ether(lab.mac(role))}</mac>" in cache for role in ("router", *HOSTS))


def test_benign_minute_raises_no_high_alert(run):
    """A minute of ordinary traffic (RS, NS/NA, an address added and removed) gives no high alert,
    only the expected low reasons, including ``new IP`` for the new address."""
    lab, mon = run.lab, run.mon
    mon.start()
    started = time.monotonic()
    lab.sh("host1", "rdisc6", "-q", "eth0", check=False)
    round_ = 0
    while time.monotonic() - started < BENIGN_SECONDS:
        round_ += 1
        resolve(lab)
        lab.sh("host2", "ndisc6", "-q", ROUTER_ADDR, "eth0", check=False)
        if round_ == 2:
            lab.sh("host1", "ip", "-6", "addr", "add", "2001:db8:1::1234/64", "dev", "eth0")
        if round_ == 5:
            lab.sh("host1", "ip", "-6", "addr", "del", "2001:db8:1::1234/64", "dev", "eth0")
        time.sleep(4)
    run.settle()
    alerts = run.new_alerts()
    high = [a["message"] for a in alerts if a["priority"] == "high"]
    low = Counter(a["reason"] for a in alerts if a["priority"] == "low")
    ROWS.extend(["| phase | alerts |", "|---|---|",
                 f"| benign {BENIGN_SECONDS} s | {_counts(alerts) or 'none'} |", ""])
    assert high == []
    assert set(low) <= LOW_EXPECTED, low
    new_ips = [a["message"] for a in alerts if a["reason"] == "new IP"]
    assert any("2001:db8:1:0:0:0:0:1234" in m or "2001:db8:1::1234" in m for m in new_ips)
    assert mon.running()


MEANWHILE = {
    "": lambda lab: None,
    "resolve": resolve,
    "new_address": lambda lab: new_addresses(lab, "2001:db8:1::77", "2001:db8:1::78"),
}


def new_addresses(lab: Lab, *addresses: str) -> None:
    """host1 takes new addresses, 1.5 s apart: each starts a DAD."""
    for address in addresses:
        lab.sh("host1", "ip", "-6", "addr", "add", f"{address}/64", "dev", "eth0")
        time.sleep(1.5)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_raises_the_alerts_that_name_it(run, attack: Attack):
    """Each THC/ndisc6 attack raises at least one of the reasons that name it, ndpmon keeps running
    and its peak RSS stays under the cap."""
    lab, mon = run.lab, run.mon
    assert mon.running(), mon.stderr()
    run.settle(quiet=2.5)  # longer than the lab's rate_window: a new ND flood window
    run.new_alerts()
    # the attack before may have filled the router's neighbour table (ndpexhaust): a
    # full table stops it from soliciting, which would hide the next exhaustion attack
    lab.sh("router", "ip", "-6", "neigh", "flush", "all", check=False)
    fields = {"host1": lab.slaac("host1"), "router_lla": lab.lla("router"),
              "atk_lla": lab.lla("atk")}
    argv = [part.format(**fields) for part in attack.argv]
    log = lab.workdir / f"{attack.name.split()[0]}.log"
    proc_started = time.monotonic()
    tool = _start_meanwhile(lab, attack)
    lab.attack(attack.role, argv, attack.seconds, log)
    tool.join()
    run.settle()
    alerts = run.new_alerts()
    rss = mon.peak_rss_kib()
    if not ROWS or not ROWS[-1].startswith("| `"):
        ROWS.extend(["| tool and options (from) | alerts raised (count) | ndpmon peak RSS |",
                     "|---|---|---|"])
    ROWS.append(f"| `{' '.join(attack.argv)}` ({attack.role}) | {_counts(alerts) or 'none'} | "
                f"{rss // 1024} MiB |")
    reasons = {a["reason"] for a in alerts}
    missing = [sorted(alt) for alt in attack.must if not alt & reasons]
    assert not missing, (f"{attack.name}: none of {missing} in {_counts(alerts)}; "
                         f"{time.monotonic() - proc_started:.0f} s; tool log: "
                         f"{log.read_text(errors='replace')[-500:]}")
    assert mon.running(), mon.stderr()
    assert rss < RSS_CAP_KIB


def test_single_rogue_ra_after_the_floods_is_caught(run):
    """After all the floods, one rogue RA still gives ``wrong ipv6 router`` with the rogue's MAC and
    address, and ndpmon stops cleanly without a traceback."""
    lab, mon = run.lab, run.mon
    run.settle()
    run.new_alerts()
    lab.attack("atk", list(AFTER_FLOODS), 5, lab.workdir / "after.log")
    run.settle()
    rogue = [a for a in run.new_alerts() if a["reason"] == "wrong ipv6 router"]
    assert [a["mac"] for a in rogue] == [ether(ROGUE_MAC)], rogue
    assert rogue[0]["ipv6"] in ("fe80:0:0:0:0:0:0:dead", ROGUE_LLA)
    assert mon.stop() == 0
    assert "Traceback" not in mon.stderr()


def _start_meanwhile(lab: Lab, attack: Attack):
    """Run the attack's LAN action 2 s into the attack (the tool has started listening
    by then, also on a busy machine), in a thread."""

    def act() -> None:
        time.sleep(2)
        MEANWHILE[attack.meanwhile](lab)

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def ether(mac: str) -> str:
    """``ip``'s MAC as ndpmon (and NDPMon, ether_ntoa) writes it: no leading zeros."""
    return mac_str(bytes.fromhex(mac.replace(":", "")))


def _counts(alerts: list[dict]) -> str:
    counts = Counter((a["priority"], a["reason"]) for a in alerts)
    return ", ".join(f"{reason} ({prio}) {n}" for (prio, reason), n in
                     sorted(counts.items(), key=lambda kv: (kv[0][0] != "high", -kv[1])))
