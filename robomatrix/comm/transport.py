"""The transport contract: how messages move between nodes.

A `Transport` is the middleware under `robomatrix.comm.Node`. Nodes never call a
transport's callbacks on their own thread: a transport hands each incoming message,
request or response to a `deliver` callable (which may be called from any thread);
the node queues it for its executor, exactly as rclpy queues work for `spin`.

Implementations: `inproc` (one process), `dds` (Cyclone DDS speaking the ROS 2
wire protocol), `rclpy` (real ROS 2, where installed). They register by name in
`TRANSPORTS` via `register_transport`.
"""
from __future__ import annotations

import abc
import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Reliability(enum.Enum):
    RELIABLE = "reliable"
    BEST_EFFORT = "best_effort"


class Durability(enum.Enum):
    VOLATILE = "volatile"
    TRANSIENT_LOCAL = "transient_local"  # late joiners get the last `depth` samples ("latched")


@dataclass(frozen=True)
class QoSProfile:
    """Quality of service for one publisher or subscription (ROS 2 semantics, KEEP_LAST history)."""

    depth: int = 10  # history depth: samples kept per endpoint
    reliability: Reliability = Reliability.RELIABLE
    durability: Durability = Durability.VOLATILE

    def __post_init__(self):
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"QoSProfile.depth must be a positive integer, got {self.depth!r}")


QOS_DEFAULT = QoSProfile()
# Sensor streams: never block the publisher, keep only the freshest frames.
QOS_SENSOR_DATA = QoSProfile(depth=5, reliability=Reliability.BEST_EFFORT)
# Latched state such as the current plan or parameters: late joiners get the last value.
QOS_LATCHED = QoSProfile(depth=1, durability=Durability.TRANSIENT_LOCAL)


class TransportEndpoint(abc.ABC):
    """Something a transport created for a node; `close()` releases it (idempotent)."""

    @abc.abstractmethod
    def close(self) -> None: ...


class TransportPublisher(TransportEndpoint):
    @abc.abstractmethod
    def publish(self, msg: Any) -> None:
        """Send one message of the publisher's type. Never blocks for long (best effort drops)."""

    @abc.abstractmethod
    def subscription_count(self) -> int:
        """Matched subscriptions right now."""


class TransportClient(TransportEndpoint):
    @abc.abstractmethod
    def send_request(self, request: Any, on_response: Callable[[Any], None]) -> None:
        """Send a request; `on_response(response)` is called once when its reply arrives."""

    @abc.abstractmethod
    def service_is_ready(self) -> bool:
        """True once a server for this service is matched."""


class Transport(abc.ABC):
    """One middleware context per process (or per test); creates endpoints for nodes."""

    name: str = ""

    @abc.abstractmethod
    def create_publisher(self, topic: str, msg_type: type, qos: QoSProfile) -> TransportPublisher: ...

    @abc.abstractmethod
    def create_subscription(
        self, topic: str, msg_type: type, qos: QoSProfile, deliver: Callable[[Any], None]
    ) -> TransportEndpoint:
        """`deliver(msg)` is called (from any thread) for each message received."""

    @abc.abstractmethod
    def create_service(
        self, name: str, srv_type: type, deliver: Callable[[Any, Callable[[Any], None]], None]
    ) -> TransportEndpoint:
        """`deliver(request, reply)` for each request; the node calls `reply(response)` once."""

    @abc.abstractmethod
    def create_client(self, name: str, srv_type: type) -> TransportClient: ...

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Close every endpoint; further use raises. Idempotent."""

    def update_node(self, node: Any, namespace: str, name: str, endpoints: list[TransportEndpoint]) -> None:
        """Node `node` (a hashable key) is `namespace`/`name` and owns exactly `endpoints` now.

        Called by the node whenever that changes. Transports that announce the ROS graph
        (`dds`: `ros_discovery_info`, for `ros2 node list`) override it; the default does nothing."""
        return None

    def remove_node(self, node: Any) -> None:
        """Node `node` is gone (see `update_node`); the default does nothing."""
        return None


def reply_once(service: str, send: Callable[[Any], None]) -> Callable[[Any], None]:
    """The `reply` callable a transport hands with one request: `send(response)` the first
    time, RuntimeError on a second answer to the same request."""
    answered = threading.Event()

    def reply(response: Any) -> None:
        if answered.is_set():
            raise RuntimeError(f"service '{service}' answered one request twice")
        answered.set()
        send(response)

    return reply


class EndpointTracking:
    """Bookkeeping a transport shares with the others: the endpoints it made, all closed by `shutdown`.

    Call `_init_tracking()` in `__init__`; `_track` each endpoint once built, `_untrack` it when
    it closes; `shutdown` starts with `_close_endpoints()`. `_lock` is reentrant."""

    name: str = ""

    def _init_tracking(self) -> None:
        self._lock = threading.RLock()
        self._endpoints: set = set()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the {self.name} transport is shut down")

    def _track(self, endpoint):
        """Remember a fully built endpoint so that `shutdown` closes it; returns it. On a shut-down
        transport the endpoint is closed again and RuntimeError raised."""
        with self._lock:
            if self._closed:
                endpoint.close()
                self._check_open()
            self._endpoints.add(endpoint)
        return endpoint

    def _untrack(self, endpoint) -> None:
        with self._lock:
            self._endpoints.discard(endpoint)

    def _close_endpoints(self) -> bool:
        """Close every endpoint, then mark the transport shut down; False when it already was."""
        with self._lock:
            if self._closed:
                return False
            endpoints = list(self._endpoints)
        for endpoint in endpoints:
            endpoint.close()
        with self._lock:
            self._closed = True
        return True


TRANSPORTS: dict[str, Callable[..., Transport]] = {}


def register_transport(name: str, factory: Callable[..., Transport]) -> None:
    TRANSPORTS[name] = factory
