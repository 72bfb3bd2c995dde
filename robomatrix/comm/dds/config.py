"""Cyclone DDS configuration for the `dds` transport: who we talk to, on which interface.

Localhost (the default, like ROS 2's `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`): only
the loopback interface, no multicast, unicast discovery to 127.0.0.1 with automatic
participant indices (up to `MAX_LOCAL_PARTICIPANTS` participants per domain on one
machine), and 64 KB datagrams (loopback's MTU allows them). Nothing leaves the machine.

LAN (explicit opt-in): Cyclone's default interface choice and multicast discovery, plus
unicast peers from `ROBOMATRIX_DDS_PEERS` and an interface from `ROBOMATRIX_DDS_INTERFACE`.

Peers (explicit opt-in, for a stack split over machines, e.g. a robot computer and a GPU server):
unicast discovery to exactly the hosts in `ROBOMATRIX_DDS_PEERS` (list every host, this one
included: its other processes are found through its own address), multicast off, and only the
interface `ROBOMATRIX_DDS_INTERFACE` (a name like `eth0`, or one of this host's addresses).
Nothing is sent anywhere else.
"""
from __future__ import annotations

import ipaddress
import os
import re
import threading
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from robomatrix.errors import UsageError, unknown_name

DISCOVERY_MODES = ("localhost", "lan", "peers")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
# Unicast discovery probes one port pair per participant index: 100 indices stay below the
# next domain's ports (Cyclone spaces domains 250 ports apart, indices 2 ports apart).
MAX_LOCAL_PARTICIPANTS = 100
LOOPBACK_MAX_MESSAGE_BYTES = 65000  # UDP datagrams on loopback (Cyclone's default: 14720)
LOOPBACK_FRAGMENT_BYTES = 64000  # sample fragment size on loopback (Cyclone's default: 1344)


@dataclass(frozen=True)
class DiscoveryConfig:
    """Where discovery and data go. Build it with `discovery_config()`, which reads the environment."""

    mode: str = "localhost"  # 'localhost' (loopback only), 'lan' or 'peers' (explicit opt-ins)
    peers: tuple[str, ...] = ()  # unicast peers (host names or addresses): extra ones for 'lan', all for 'peers'
    interface: str = ""  # network interface name or address ('' = Cyclone's choice; required for 'peers')
    max_participants: int = MAX_LOCAL_PARTICIPANTS  # participant indices probed on localhost

    def __post_init__(self):
        if self.mode not in DISCOVERY_MODES:
            raise unknown_name("discovery mode", self.mode, DISCOVERY_MODES)
        if self.mode == "localhost" and (self.peers or self.interface):
            raise UsageError("DiscoveryConfig: peers/interface only apply to discovery 'lan' or 'peers' "
                             f"(got peers={self.peers!r}, interface={self.interface!r}); "
                             "set ROBOMATRIX_DISCOVERY=peers (or lan) to use them.")
        for peer in self.peers:
            if not _valid_host(peer):
                raise UsageError(f"DDS peer {peer!r} (ROBOMATRIX_DDS_PEERS) is not an IP address or host name.")
        if self.interface and not (_INTERFACE_NAME.match(self.interface) or _valid_host(self.interface)):
            raise UsageError(f"DDS interface {self.interface!r} (ROBOMATRIX_DDS_INTERFACE) is not an interface "
                             "name (e.g. eth0) or an address.")
        if self.mode == "peers" and not (self.peers and self.interface):
            raise UsageError("ROBOMATRIX_DISCOVERY=peers needs ROBOMATRIX_DDS_PEERS (every host's address, this one "
                             "included, comma-separated) and ROBOMATRIX_DDS_INTERFACE (the interface to use, e.g. "
                             f"eth0); got peers={','.join(self.peers) or '(none)'}, "
                             f"interface={self.interface or '(none)'}.")
        if not isinstance(self.max_participants, int) or not 1 <= self.max_participants <= 120:
            raise UsageError(f"DiscoveryConfig.max_participants must be 1..120, got {self.max_participants!r}")

    def to_xml(self) -> str:
        """The Cyclone DDS XML configuration for this discovery mode."""
        if self.mode == "localhost":
            # Loopback's MTU is 64 KiB: big datagrams cut a 640x480 image from ~700 fragments
            # to ~15, which is what lets reliable image streams run at hundreds of Hz.
            general = ('<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces>'
                       "<AllowMulticast>false</AllowMulticast>"
                       f"<MaxMessageSize>{LOOPBACK_MAX_MESSAGE_BYTES}B</MaxMessageSize>"
                       f"<FragmentSize>{LOOPBACK_FRAGMENT_BYTES}B</FragmentSize>")
            discovery = ("<ParticipantIndex>auto</ParticipantIndex>"
                         f"<MaxAutoParticipantIndex>{self.max_participants - 1}</MaxAutoParticipantIndex>"
                         '<Peers><Peer address="127.0.0.1"/></Peers>')
        elif self.mode == "peers":
            general = (f"<Interfaces>{self._interface_xml()}</Interfaces>"
                       "<AllowMulticast>false</AllowMulticast>")
            discovery = ("<ParticipantIndex>auto</ParticipantIndex>"
                         f"<MaxAutoParticipantIndex>{self.max_participants - 1}</MaxAutoParticipantIndex>"
                         "<Peers>" + "".join(f"<Peer address={quoteattr(p)}/>" for p in self.peers) + "</Peers>")
        else:
            general = f"<Interfaces>{self._interface_xml()}</Interfaces>" if self.interface else ""
            discovery = ""
            if self.peers:
                discovery = ("<ParticipantIndex>auto</ParticipantIndex>"
                             f"<MaxAutoParticipantIndex>{self.max_participants - 1}</MaxAutoParticipantIndex>"
                             "<Peers>" + "".join(f"<Peer address={quoteattr(p)}/>" for p in self.peers)
                             + "</Peers>")
        return ('<CycloneDDS xmlns="https://cdds.io/config"><Domain id="any">'
                f"<General>{general}</General><Discovery>{discovery}</Discovery>"
                "</Domain></CycloneDDS>")


    def _interface_xml(self) -> str:
        attr = "address" if _is_address(self.interface) else "name"
        return f"<NetworkInterface {attr}={quoteattr(self.interface)}/>"


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid_host(text: str) -> bool:
    return _is_address(text) or bool(_HOST_NAME.match(text))


def discovery_config(discovery: str | None = None, env: dict | None = None) -> DiscoveryConfig:
    """The discovery configuration from the argument, else `ROBOMATRIX_DISCOVERY`, else localhost."""
    env = os.environ if env is None else env
    mode = (discovery or env.get("ROBOMATRIX_DISCOVERY") or "localhost").strip().lower()
    if mode not in DISCOVERY_MODES:
        raise unknown_name("discovery mode", mode, DISCOVERY_MODES)
    if mode == "localhost":
        return DiscoveryConfig()
    peers = tuple(p.strip() for p in env.get("ROBOMATRIX_DDS_PEERS", "").split(",") if p.strip())
    return DiscoveryConfig(mode=mode, peers=peers, interface=env.get("ROBOMATRIX_DDS_INTERFACE", "").strip())


def domain_id_from(domain_id: int | None = None, env: dict | None = None) -> int:
    """The DDS domain: the argument, else `ROS_DOMAIN_ID`, else 0 (0..232, as ROS 2 allows)."""
    env = os.environ if env is None else env
    if domain_id is None:
        raw = env.get("ROS_DOMAIN_ID", "").strip()
        if not raw:
            return 0
        try:
            domain_id = int(raw)
        except ValueError:
            raise UsageError(f"ROS_DOMAIN_ID must be an integer 0..232, got {raw!r}") from None
    if isinstance(domain_id, bool) or not isinstance(domain_id, int) or not 0 <= domain_id <= 232:
        raise UsageError(f"DDS domain id must be an integer 0..232, got {domain_id!r}")
    return domain_id


_domains: dict[int, str] = {}  # domain id → the XML we created it with (kept for the process)
_domains_keep: list = []
_domains_lock = threading.Lock()


def open_domain(domain_id: int, config: DiscoveryConfig) -> str:
    """Make sure this process's Cyclone domain `domain_id` runs with `config`; returns where
    the configuration came from, for logs.

    A user's `CYCLONEDDS_URI` wins (it is logged once). Otherwise the domain is created with
    `config.to_xml()` before any participant exists; every later transport of the process on
    that domain must ask for the same discovery mode."""
    from cyclonedds.domain import Domain

    from robomatrix.comm.log import comm_logger

    user_uri = os.environ.get("CYCLONEDDS_URI", "").strip()
    if user_uri:
        comm_logger().info(f"dds: using the Cyclone DDS configuration in CYCLONEDDS_URI ({user_uri[:120]}); "
                           f"discovery '{config.mode}' is not applied.", once=True)
        return "CYCLONEDDS_URI"
    xml = config.to_xml()
    with _domains_lock:
        known = _domains.get(domain_id)
        if known is not None:
            if known != xml:
                raise UsageError(f"DDS domain {domain_id} already runs in this process with another discovery "
                                 f"configuration; use the same discovery ('{config.mode}' was asked) for every "
                                 "dds context of a process.")
            return f"robomatrix ({config.mode})"
        try:
            domain = Domain(domain_id, xml)
        except Exception as exc:
            raise UsageError(f"Could not configure DDS domain {domain_id} for discovery '{config.mode}': {exc}. "
                             "Was a DomainParticipant created before robomatrix.comm's?") from None
        _domains[domain_id] = xml
        _domains_keep.append(domain)
    return f"robomatrix ({config.mode})"
