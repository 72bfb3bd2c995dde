"""`DdsTransport`: topics and services over Cyclone DDS, as a ROS 2 node puts them on the wire.

- A ROS topic `/camera/color/image_raw` is the DDS topic `rt/camera/color/image_raw`, with
  the ROS 2 DDS type name of its message class (`sensor_msgs::msg::dds_::Image_`), XCDR1.
- QoS as rmw_cyclonedds maps it (`robomatrix.comm.dds.qos`): a reliable subscription
  does not match a best-effort publisher, transient-local late joiners get the last
  `depth` samples — DDS itself enforces these.
- Services: see `robomatrix.comm.dds.services`.
- Nodes: announced with their endpoints' GIDs on `ros_discovery_info`, as rmw_cyclonedds
  does (`robomatrix.comm.dds.graph`), so `ros2 node list` sees them.
One DomainParticipant per transport; one reader thread (`ReaderLoop`) delivers everything.
"""
from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import Any

from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

from robomatrix.comm.dds.config import DiscoveryConfig, discovery_config, domain_id_from, open_domain
from robomatrix.comm.dds.fastbytes import prepare_type
from robomatrix.comm.dds.graph import PARTICIPANT_USER_DATA, GraphAnnouncer, GraphReader
from robomatrix.comm.dds.qos import to_dds_qos
from robomatrix.comm.dds.reader_loop import ReaderLoop, delete_entity
from robomatrix.comm.transport import (
    Durability,
    EndpointTracking,
    QoSProfile,
    Transport,
    TransportClient,
    TransportEndpoint,
    TransportPublisher,
)


def dds_topic_name(ros_name: str, prefix: str = "rt") -> str:
    """ROS 2 name mangling: '/camera/color/image_raw' → 'rt/camera/color/image_raw'."""
    if not ros_name.startswith("/"):
        ros_name = "/" + ros_name
    return prefix + ros_name


class _Endpoint(TransportEndpoint):
    def __init__(self, transport: DdsTransport, label: str):
        self._transport, self.label, self.closed = transport, label, False
        self._gids: tuple | None = None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._release()
            self._transport._untrack(self)

    def gids(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """(reader GUIDs, writer GUIDs) of this endpoint's DDS reader and writer, for the ROS graph."""
        if self._gids is None:
            reader, writer = getattr(self, "reader", None), getattr(self, "writer", None)
            self._gids = (() if reader is None else (reader.guid.bytes,),
                          () if writer is None else (writer.guid.bytes,))
        return self._gids

    @abc.abstractmethod
    def _release(self) -> None:
        """Delete this endpoint's DDS entities."""


class DdsPublisher(_Endpoint, TransportPublisher):
    def __init__(self, transport: DdsTransport, topic: str, msg_type: type, qos: QoSProfile):
        super().__init__(transport, topic)
        self.msg_type = msg_type
        self.writer = DataWriter(transport.participant, transport._topic(dds_topic_name(topic), msg_type),
                                 qos=to_dds_qos(qos))

    def publish(self, msg: Any) -> None:
        if self.closed:
            raise RuntimeError(f"publish on closed publisher of '{self.label}'")
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"'{self.label}' carries {self.msg_type.__name__}, got {type(msg).__name__}")
        self.writer.write(msg)

    def subscription_count(self) -> int:
        if self.closed:
            return 0
        return self.writer.get_publication_matched_status().current_count

    def _release(self) -> None:
        delete_entity(self.writer)


class DdsSubscription(_Endpoint):
    def __init__(self, transport: DdsTransport, topic: str, msg_type: type, qos: QoSProfile,
                 deliver: Callable[[Any], None]):
        super().__init__(transport, topic)
        self.reader = DataReader(transport.participant, transport._topic(dds_topic_name(topic), msg_type),
                                 qos=to_dds_qos(qos))
        self._deliver = deliver
        handler = deliver
        if qos.durability is Durability.VOLATILE:
            self._created_ns = time.time_ns()
            self._latching_writers: dict[int, bool] = {}
            handler = self._deliver_new_only
        self._entry = transport.loop.add(self.reader, msg_type, handler, topic)

    def _deliver_new_only(self, msg: Any) -> None:
        # Cyclone hands a volatile reader the history a transient-local writer resends to a
        # transient-local reader matched at the same moment; ROS 2 semantics say a volatile
        # subscription gets only samples written after it exists. (Across machines this relies
        # on roughly synchronised clocks, and only for latched topics.)
        info = getattr(msg, "sample_info", None)
        if info is not None and info.source_timestamp < self._created_ns and self._latching(info.publication_handle):
            return
        self._deliver(msg)

    def _latching(self, publication_handle: int) -> bool:
        latching = self._latching_writers.get(publication_handle)
        if latching is None:
            try:
                endpoint = self.reader.get_matched_publication_data(publication_handle)
                latching = endpoint is not None and endpoint.qos[Policy.Durability] != Policy.Durability.Volatile
            except Exception:
                latching = False
            self._latching_writers[publication_handle] = latching
        return latching

    def publisher_count(self) -> int:
        return 0 if self.closed else self.reader.get_subscription_matched_status().current_count

    def _release(self) -> None:
        self._transport.loop.remove(self._entry)


class DdsTransport(EndpointTracking, Transport):
    """Cyclone DDS speaking the ROS 2 wire protocol.

    `domain_id`: the argument, else `ROS_DOMAIN_ID`, else 0. `discovery`: 'localhost'
    (default; loopback only), 'peers' or 'lan', else `ROBOMATRIX_DISCOVERY` — see
    `robomatrix.comm.dds` for the environment variables.
    """

    name = "dds"

    def __init__(self, domain_id: int | None = None, discovery: str | None = None):
        self.domain_id = domain_id_from(domain_id)
        self.discovery: DiscoveryConfig = discovery_config(discovery)
        self.config_source = open_domain(self.domain_id, self.discovery)
        self._init_tracking()
        self._topics: dict[str, tuple[Topic, type]] = {}
        self.participant = DomainParticipant(self.domain_id, qos=Qos(Policy.Userdata(PARTICIPANT_USER_DATA)))
        self.loop = ReaderLoop(self.participant)
        self.graph = GraphAnnouncer(self.participant)

    # ------------------------------------------------------------------ bookkeeping
    def _topic(self, dds_name: str, msg_type: type) -> Topic:
        """The participant's topic of that name (one per name; the type must stay the same)."""
        with self._lock:
            self._check_open()
            known = self._topics.get(dds_name)
            if known is not None:
                topic, known_type = known
                if known_type is not msg_type:
                    raise TypeError(f"Topic '{dds_name}' already carries {known_type.__name__}, "
                                    f"not {msg_type.__name__}")
                return topic
            topic = Topic(self.participant, dds_name, prepare_type(msg_type))
            self._topics[dds_name] = (topic, msg_type)
            return topic

    # ------------------------------------------------------------------ Transport
    def create_publisher(self, topic: str, msg_type: type, qos: QoSProfile) -> TransportPublisher:
        return self._track(DdsPublisher(self, topic, msg_type, qos))

    def create_subscription(self, topic: str, msg_type: type, qos: QoSProfile,
                            deliver: Callable[[Any], None]) -> TransportEndpoint:
        return self._track(DdsSubscription(self, topic, msg_type, qos, deliver))

    def create_service(self, name: str, srv_type: type, deliver) -> TransportEndpoint:
        from robomatrix.comm.dds.services import DdsService

        return self._track(DdsService(self, name, srv_type, deliver))

    def create_client(self, name: str, srv_type: type) -> TransportClient:
        from robomatrix.comm.dds.services import DdsClient

        return self._track(DdsClient(self, name, srv_type))

    def update_node(self, node: Any, namespace: str, name: str, endpoints: list) -> None:
        readers, writers = [], []
        for endpoint in endpoints:
            if isinstance(endpoint, _Endpoint) and endpoint._transport is self and not endpoint.closed:
                endpoint_readers, endpoint_writers = endpoint.gids()
                readers += endpoint_readers
                writers += endpoint_writers
        self.graph.set_node(node, namespace, name, readers, writers)

    def remove_node(self, node: Any) -> None:
        self.graph.remove_node(node)

    def graph_reader(self) -> GraphReader:
        """A reader of the nodes other participants announce (close it when done)."""
        self._check_open()
        return GraphReader(self.graph)

    def shutdown(self) -> None:
        if not self._close_endpoints():
            return
        self.graph.close()
        self.loop.stop()
        with self._lock:
            for topic, _ in self._topics.values():
                delete_entity(topic)
            self._topics.clear()
        delete_entity(self.participant)

    def __repr__(self) -> str:
        return f"<DdsTransport domain {self.domain_id}, {self.discovery.mode}{' (shut down)' if self._closed else ''}>"
