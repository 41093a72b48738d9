"""Frozen value objects for the configuration: what ndpmon.config.build produces and the
checks read.

The runtime never walks lxml trees: config_ndpmon.xml is converted once into these objects.
Addresses are kept as 16-byte ``bytes`` and MACs as 6-byte ``bytes``, the same form the
decoder produces, so that checks compare raw values without conversions on the hot path.
A ``None`` parameter means "not given in the config": it is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "ActionSet",
    "Limits",
    "LEARNED_KINDS",
    "Delivery",
    "Store",
    "Metrics",
    "Settings",
    "Prefix",
    "Route",
    "Router",
    "MatchClause",
    "Rule",
    "Probe",
    "Proxy",
    "Guard",
    "Config",
    "PluginSpec",
    "COUNTERMEASURES",
]

#: The countermeasure guards of NDPMon 2.1 (COMPATIBILITY.md §4.10), in DTD order.
COUNTERMEASURES = (
    "kill_illegitimate_router",
    "kill_wrong_prefix",
    "propagate_router_params",
    "propagate_router_dns",
    "propagate_router_routes",
    "propagate_neighbor_mac",
    "indicate_ndpmon_presence",
)


@dataclass(frozen=True, slots=True)
class ActionSet:
    """``<actions_high_priority>`` / ``<actions_low_priority>``: what to do with an alert."""

    sendmail: bool = False
    syslog: bool = False
    exec_pipe_program: str | None = None


#: What learning caps (``<limits max_learned_KIND>``): routers per probe, then the
#: lists of each router.
LEARNED_KINDS = ("routers", "prefixes", "routes", "rdnss", "dnssl", "addresses")


@dataclass(frozen=True, slots=True)
class Limits:
    """``<limits>`` (ndpmon extension): bounds of the per-probe state."""

    max_neighbors: int = 100_000
    max_addresses: int = 16
    #: ND flood check (checks/rates.py): messages per second per type, averaged over
    #: ``rate_window`` seconds; 0 turns a type off.
    ra_rate: int = 10
    rs_rate: int = 50
    ns_rate: int = 100
    na_rate: int = 100
    redirect_rate: int = 20
    rate_window: float = 10.0
    #: Learning (``ndpmon -L``, ndpmon.state.learn): learning adds no router to a probe
    #: that holds ``max_learned_routers`` (configured ones count), and no entry to a
    #: router's list that holds the maximum of its kind; what is kept out is reported.
    max_learned_routers: int = 32
    max_learned_prefixes: int = 32
    max_learned_routes: int = 32
    max_learned_rdnss: int = 16
    max_learned_dnssl: int = 16
    max_learned_addresses: int = 16


@dataclass(frozen=True, slots=True)
class Delivery:
    """``<delivery>`` (ndpmon extension): how alerts leave the process.

    ``mail_relay`` None means the local sendmail program if there is one, else
    localhost:25. ``dedupe_window`` 0 sends every alert; ``dedupe_window`` and ``burst``
    hold for the console, alerts.xml and the JSON lines too (ndpmon.alerts.summary).
    alerts.xml is rotated when a write would take it over ``alerts_xml_size`` bytes,
    ``alerts_xml_files`` files kept in all (alerts.xml, alerts.xml.1, ...).
    """

    mail_relay: tuple[str, int] | None = None
    mail_from: str | None = None
    sendmail_program: str = "/usr/sbin/sendmail"
    syslog_socket: str = "/dev/log"
    dedupe_window: float = 60.0
    queue_size: int = 1000
    burst: int = 20
    exec_timeout: float = 10.0
    dns_timeout: float = 1.0
    alerts_xml_size: int = 64 * 2**20
    alerts_xml_files: int = 5


@dataclass(frozen=True, slots=True)
class Store:
    """``<store>`` (ndpmon extension): the PostgreSQL store (ndpmon.store).

    ``url`` is a libpq URL or key=value string without a password; the password comes
    from ``password_file`` or libpq's environment (PGPASSWORD, ~/.pgpass). ``source``
    prefixes this instance's probe names in the store (``source/eth0``; default: the
    host name). ``queue_size``: rows waiting for the database at most.
    """

    url: str
    password_file: str | None = None
    source: str | None = None
    queue_size: int = 100_000
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Metrics:
    """``<metrics listen>`` (ndpmon extension): serve Prometheus metrics over HTTP on
    ``host`` (an IP address) and ``port`` (ndpmon.run.metrics)."""

    host: str = "127.0.0.1"
    port: int = 9464
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Settings:
    """``<settings>``: global behaviour."""

    actions_high: ActionSet = ActionSet()
    actions_low: ActionSet = ActionSet()
    admin_mail: str = "root@localhost"
    ignor_autoconf: int | None = None
    syslog_facility: str = "LOG_LOCAL1"
    use_reverse_hostlookups: bool = False
    limits: Limits = Limits()
    delivery: Delivery = Delivery()
    store: Store | None = None
    metrics: Metrics | None = None


@dataclass(frozen=True, slots=True)
class Prefix:
    """A router's ``<prefix>``: a Prefix Information option it is allowed to send."""

    address: bytes
    length: int  #: the prefix length (``<mask>`` in the XML)
    flags: int | None = None
    valid: int | None = None
    preferred: int | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """A router's ``<route>``: a Route Information option (RFC 4191) it is allowed to send."""

    address: bytes
    length: int  #: the prefix length (``<mask>`` in the XML)
    pref: int
    lifetime: int


@dataclass(frozen=True, slots=True)
class Router:
    """A legitimate router, identified by the pair (MAC, link-local address)."""

    mac: bytes
    lla: bytes
    curhoplimit: int | None = None
    flags: int | None = None
    router_lifetime: int | None = None
    reachable_timer: int | None = None
    retrans_timer: int | None = None
    mtu: int | None = None
    params_volatile: bool = True
    addresses: tuple[bytes, ...] = ()
    prefixes: tuple[Prefix, ...] = ()
    rdnss: tuple[tuple[bytes, int], ...] = ()
    dnssl: tuple[tuple[str, int], ...] = ()
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchClause:
    """One ``<match>`` or ``<no-match>`` of a user rule; ``operand`` is the value
    converted for the field (ndpmon.config.rulefields.parse)."""

    field: str
    value: str | None
    negate: bool = False
    operand: object = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Rule:
    """A user rule (rules plugin): every clause must hold for the rule to match."""

    description: str
    clauses: tuple[MatchClause, ...] = ()


@dataclass(frozen=True, slots=True)
class Proxy:
    """A declared ND proxy of a probe's link (``<proxies><proxy mac prefix/>``): its NAs
    for targets inside ``prefix/length`` are answers on behalf of others (RFC 4861
    §7.2.8, RFC 4389), not a station claiming those addresses."""

    mac: bytes
    prefix: bytes
    length: int


@dataclass(frozen=True, slots=True)
class Probe:
    """A ``<probe>``: one capture point (an interface) or a remote probe."""

    name: str
    type: str = "interface"
    countermeasures_enabled: bool = False
    routers: tuple[Router, ...] = ()
    rules: tuple[Rule, ...] = ()
    proxies: tuple[Proxy, ...] = ()
    #: the line of ``<probe>`` in the config (for error messages)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Guard:
    """A countermeasure guard: SUPPRESS, RESPOND, CEASE AFTER n or LAUNCH AFTER n."""

    kind: str = "SUPPRESS"
    count: int = 0


@dataclass(frozen=True, slots=True)
class PluginSpec:
    """A ``<plugin name>`` of ``<plugins>`` (ndpmon extension): a plugin switched on,
    its ``<param name value/>`` pairs, and the line it is on (for error messages)."""

    name: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                      hash=False)
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """The whole of config_ndpmon.xml, validated and converted."""

    path: str
    settings: Settings = Settings()
    probes: tuple[Probe, ...] = ()
    countermeasures: Mapping[str, Guard] = field(
        default_factory=lambda: MappingProxyType({}), hash=False)
    plugins: tuple[PluginSpec, ...] = ()
    plugin_dir: str | None = None
    #: What the file asks for that ndpmon does differently, one line each, to log at start
    #: (ndpmon.config.legacy: NDPMon 2.1 faults run with, ``<soap>``).
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def probe(self, name: str) -> Probe | None:
        """The probe called ``name``, or None."""
        for probe in self.probes:
            if probe.name == name:
                return probe
        return None
