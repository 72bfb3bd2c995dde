"""`inproc`: the in-process transport (one process, any number of threads).

Publishing hands the message object itself to every matched subscription (zero
copy): subscribers must treat received messages as read-only, and publishers must
not modify a message after publishing it. Delivery runs on the publisher's thread
and only enqueues the message for the subscribing node's executor, so `publish`
never waits for a callback. QoS follows ROS 2:
- history: KEEP_LAST `depth`, enforced by the subscribing node's queue (a slow
  subscriber keeps only the newest `depth` messages);
- durability: a TRANSIENT_LOCAL publisher keeps its last `depth` messages and hands
  them to each new TRANSIENT_LOCAL subscription ("latching");
- compatibility: a RELIABLE subscription does not match a BEST_EFFORT publisher, and a
  TRANSIENT_LOCAL subscription does not match a VOLATILE publisher (a warning says so).
Services: a request goes to the first server of that name; with no server it is lost
and the client's call times out, as over DDS.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from robomatrix.comm.log import comm_logger
from robomatrix.comm.transport import (
    Durability,
    EndpointTracking,
    QoSProfile,
    Reliability,
    Transport,
    TransportClient,
    TransportEndpoint,
    TransportPublisher,
    register_transport,
    reply_once,
)


def qos_compatible(pub: QoSProfile, sub: QoSProfile) -> str | None:
    """None when a publisher and subscription with these QoS match; else why not (ROS 2 rules)."""
    if sub.reliability is Reliability.RELIABLE and pub.reliability is Reliability.BEST_EFFORT:
        return "the subscription asks for RELIABLE but the publisher offers BEST_EFFORT"
    if sub.durability is Durability.TRANSIENT_LOCAL and pub.durability is Durability.VOLATILE:
        return "the subscription asks for TRANSIENT_LOCAL but the publisher offers VOLATILE"
    return None


class _Topic:
    def __init__(self, name: str, msg_type: type):
        self.name = name
        self.msg_type = msg_type
        self.publishers: list[_Publisher] = []
        self.subscriptions: list[_Subscription] = []


class _Closable(TransportEndpoint):
    def __init__(self, transport: InprocTransport):
        self._transport = transport
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._transport._forget(self)


class _Publisher(_Closable, TransportPublisher):
    def __init__(self, transport, topic: _Topic, qos: QoSProfile):
        super().__init__(transport)
        self.topic, self.qos = topic, qos
        self.matched: list[_Subscription] = []  # replaced wholesale under the transport lock
        self.history: deque = deque(maxlen=qos.depth)

    def publish(self, msg: Any) -> None:
        if self.closed:
            raise RuntimeError(f"publish on closed publisher of '{self.topic.name}'")
        if not isinstance(msg, self.topic.msg_type):
            raise TypeError(f"'{self.topic.name}' carries {self.topic.msg_type.__name__}, "
                            f"got {type(msg).__name__}")
        if self.qos.durability is Durability.TRANSIENT_LOCAL:
            with self._transport._lock:
                self.history.append(msg)
        for sub in self.matched:
            sub.deliver(msg)

    def subscription_count(self) -> int:
        return len(self.matched)


class _Subscription(_Closable):
    def __init__(self, transport, topic: _Topic, qos: QoSProfile, deliver: Callable[[Any], None]):
        super().__init__(transport)
        self.topic, self.qos = topic, qos
        self._deliver = deliver

    def deliver(self, msg: Any) -> None:
        if not self.closed:
            self._deliver(msg)


class _Service(_Closable):
    def __init__(self, transport, name: str, srv_type: type, deliver):
        super().__init__(transport)
        self.name, self.srv_type, self.deliver = name, srv_type, deliver


class _Client(_Closable, TransportClient):
    def __init__(self, transport, name: str, srv_type: type):
        super().__init__(transport)
        self.name, self.srv_type = name, srv_type

    def send_request(self, request: Any, on_response: Callable[[Any], None]) -> None:
        if self.closed:
            raise RuntimeError(f"request on closed client of '{self.name}'")
        server = self._transport._server(self.name)
        if server is None or server.closed:
            return  # lost, like a DDS request with no server: the caller times out
        def send(response: Any) -> None:
            if not self.closed:
                on_response(response)

        server.deliver(request, reply_once(self.name, send))

    def service_is_ready(self) -> bool:
        server = self._transport._server(self.name)
        return server is not None and not server.closed


class InprocTransport(EndpointTracking, Transport):
    """Topics and services inside one process; see the module docstring for the semantics."""

    name = "inproc"

    def __init__(self):
        self._init_tracking()
        self._topics: dict[str, _Topic] = {}
        self._services: dict[str, list[_Service]] = {}

    def _topic(self, name: str, msg_type: type) -> _Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = _Topic(name, msg_type)
        elif topic.msg_type is not msg_type and (topic.publishers or topic.subscriptions):
            raise TypeError(f"Topic '{name}' already carries {topic.msg_type.__name__}, "
                            f"not {msg_type.__name__}")
        topic.msg_type = msg_type
        return topic

    def _rematch(self, topic: _Topic) -> None:
        for pub in topic.publishers:
            pub.matched = [s for s in topic.subscriptions if qos_compatible(pub.qos, s.qos) is None]

    def _warn_incompatible(self, topic: _Topic, pub: _Publisher, sub: _Subscription) -> None:
        why = qos_compatible(pub.qos, sub.qos)
        if why:
            comm_logger().warning(f"Incompatible QoS on '{topic.name}': {why}; they will not communicate.",
                                  once=True)

    def create_publisher(self, topic: str, msg_type: type, qos: QoSProfile) -> TransportPublisher:
        with self._lock:
            self._check_open()
            t = self._topic(topic, msg_type)
            pub = _Publisher(self, t, qos)
            t.publishers.append(pub)
            self._endpoints.add(pub)
            for sub in t.subscriptions:
                self._warn_incompatible(t, pub, sub)
            self._rematch(t)
            return pub

    def create_subscription(self, topic, msg_type, qos, deliver) -> TransportEndpoint:
        with self._lock:
            self._check_open()
            t = self._topic(topic, msg_type)
            sub = _Subscription(self, t, qos, deliver)
            t.subscriptions.append(sub)
            self._endpoints.add(sub)
            latched = []
            for pub in t.publishers:
                self._warn_incompatible(t, pub, sub)
                if qos_compatible(pub.qos, qos) is None and qos.durability is Durability.TRANSIENT_LOCAL:
                    latched.extend(pub.history)
            self._rematch(t)
        for msg in latched:
            sub.deliver(msg)
        return sub

    def create_service(self, name, srv_type, deliver) -> TransportEndpoint:
        with self._lock:
            self._check_open()
            servers = self._services.setdefault(name, [])
            if servers:
                comm_logger().warning(f"Service '{name}' has more than one server; the first one answers.")
            srv = _Service(self, name, srv_type, deliver)
            servers.append(srv)
            self._endpoints.add(srv)
            return srv

    def create_client(self, name, srv_type) -> TransportClient:
        with self._lock:
            self._check_open()
            client = _Client(self, name, srv_type)
            self._endpoints.add(client)
            return client

    def _server(self, name: str) -> _Service | None:
        with self._lock:
            servers = self._services.get(name)
            return servers[0] if servers else None

    def _forget(self, endpoint: _Closable) -> None:
        with self._lock:
            self._untrack(endpoint)
            if isinstance(endpoint, (_Publisher, _Subscription)):
                t = endpoint.topic
                if endpoint in t.publishers:
                    t.publishers.remove(endpoint)
                if endpoint in t.subscriptions:
                    t.subscriptions.remove(endpoint)
                self._rematch(t)
            elif isinstance(endpoint, _Service):
                servers = self._services.get(endpoint.name, [])
                if endpoint in servers:
                    servers.remove(endpoint)

    def topic_names_and_types(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(t.name, t.msg_type.__name__) for t in self._topics.values()
                    if t.publishers or t.subscriptions]

    def shutdown(self) -> None:
        if not self._close_endpoints():
            return
        with self._lock:
            self._topics.clear()
            self._services.clear()


register_transport("inproc", InprocTransport)
