"""The ROS 2 graph over DDS: which nodes a participant holds, on `ros_discovery_info`.

ROS 2 maps many nodes onto one DDS participant, so DDS discovery alone knows participants,
readers and writers, not nodes. rmw_cyclonedds (like every DDS rmw) publishes, from each
participant, one `rmw_dds_common/msg/ParticipantEntitiesInfo` on the DDS topic
`ros_discovery_info`: the participant's GID and, per node, its namespace, name and the GIDs
of its readers and writers, sent again whenever a node or one of its endpoints comes or goes.
`ros2 node list`, `ros2 node info` and the node names of `ros2 topic info -v` read it.

- `GraphAnnouncer` (one per `DdsTransport`) does the same for our nodes: the writer is
  reliable, transient-local, keep-last 1 (late joiners get the current sample), and a GID is
  the entity's 16-byte DDS GUID zero-padded to the GID size, as rmw_cyclonedds makes it, so
  the GIDs match the keys other participants see in DDS's built-in publication and
  subscription topics. A service counts its request reader and reply writer, a client its
  request writer and reply reader, as in rmw_cyclonedds.
- `GraphReader` reads it (keep-all, so no participant's sample is overwritten by another's)
  for `robomatrix node list|info`; it sees real ROS 2 nodes on rmw_cyclonedds_cpp too.

The participant also carries the user data `enclave=/;` (`PARTICIPANT_USER_DATA`): ROS 2's
graph cache adds a remote participant only when it names its security enclave.
The GID layout (16 or 24 bytes) follows the ROS 2 distribution: `robomatrix.msgs.graph`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cyclonedds.builtin import BuiltinDataReader, BuiltinTopicDcpsParticipant
from cyclonedds.core import InstanceState
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from robomatrix.comm.dds.reader_loop import delete_entity
from robomatrix.comm.log import comm_logger
from robomatrix.msgs.graph import GidLayout, gid_layout, guid_of

DISCOVERY_TOPIC = "ros_discovery_info"  # no `rt/` prefix: rmw creates it outside ROS naming
PARTICIPANT_USER_DATA = b"enclave=/;"


def discovery_qos(reader: bool) -> Qos:
    """rmw_cyclonedds' QoS on `ros_discovery_info`: reliable, transient-local; the writer keeps
    its last sample, a reader keeps all (the topic is keyless: one history for every writer)."""
    return Qos(
        Policy.Reliability.Reliable(max_blocking_time=duration(seconds=0.1)),
        Policy.Durability.TransientLocal,
        Policy.History.KeepAll if reader else Policy.History.KeepLast(1),
        Policy.DataRepresentation(use_cdrv0_representation=True),
    )


class GraphAnnouncer:
    """Publishes this participant's nodes and their endpoints' GIDs on `ros_discovery_info`."""

    def __init__(self, participant, layout: GidLayout | None = None):
        self.layout = layout or gid_layout()
        self.participant = participant
        self.guid = participant.guid.bytes
        self.topic = Topic(participant, DISCOVERY_TOPIC, self.layout.participant)
        self.writer = DataWriter(participant, self.topic, qos=discovery_qos(reader=False))
        self._lock = threading.Lock()
        self._nodes: dict[Any, Any] = {}  # key → its NodeEntitiesInfo
        self._last = None
        self._closed = False
        self._publish()

    def set_node(self, key: Any, namespace: str, name: str, readers, writers) -> None:
        """Node `key` (any hashable) is `namespace`/`name` and owns exactly these reader/writer GUIDs."""
        to_gid = self.layout.to_gid
        entry = self.layout.node(node_namespace=namespace, node_name=name,
                                 reader_gid_seq=[to_gid(g) for g in readers],
                                 writer_gid_seq=[to_gid(g) for g in writers])
        with self._lock:
            self._nodes[key] = entry
            self._publish()

    def remove_node(self, key: Any) -> None:
        with self._lock:
            if self._nodes.pop(key, None) is not None:
                self._publish()

    def message(self):
        """The current `ParticipantEntitiesInfo` (nodes in creation order)."""
        return self.layout.participant(gid=self.layout.to_gid(self.guid),
                                       node_entities_info_seq=list(self._nodes.values()))

    def _publish(self) -> None:
        """Write the current sample if it changed (call with the lock held: keep-last 1, last write wins)."""
        if self._closed:
            return
        msg = self.message()
        if msg == self._last:
            return
        try:
            self.writer.write(msg)
        except Exception as exc:  # the graph is a courtesy to tools: never fail a node over it
            comm_logger().warning(f"dds: could not publish {DISCOVERY_TOPIC}: {exc}", once=True)
            return
        self._last = msg

    def close(self) -> None:
        with self._lock:
            self._closed = True
        delete_entity(self.writer)
        delete_entity(self.topic)


@dataclass
class GraphNode:
    """One node as another participant announced it."""

    namespace: str
    name: str
    participant: bytes  # the participant's GUID
    readers: list[bytes] = field(default_factory=list)  # GUIDs
    writers: list[bytes] = field(default_factory=list)

    @property
    def fully_qualified_name(self) -> str:
        return self.namespace.rstrip("/") + "/" + self.name


class GraphReader:
    """The nodes other participants announce on `ros_discovery_info` (ours and ROS 2's).

    Built on a transport's announcer (`DdsTransport.graph_reader()`), which it shares the topic
    with. `poll()` takes what arrived; a participant's newest sample replaces its older one, and a
    participant that leaves (DDS disposes it) is dropped with its nodes."""

    def __init__(self, announcer: GraphAnnouncer):
        self.layout = announcer.layout
        participant = announcer.participant
        self.own_guid = announcer.guid
        self.reader = DataReader(participant, announcer.topic, qos=discovery_qos(reader=True))
        self.participants_reader = BuiltinDataReader(participant, BuiltinTopicDcpsParticipant)
        self._infos: dict[bytes, Any] = {}
        self._gone: set[bytes] = set()

    def poll(self) -> None:
        for sample in self.participants_reader.take(N=256):
            info = getattr(sample, "sample_info", None)
            if info is not None and info.instance_state != InstanceState.Alive:
                self._gone.add(sample.key.bytes)
                self._infos.pop(sample.key.bytes, None)
        while True:
            try:
                samples = self.reader.take(N=64)
            except Exception as exc:  # e.g. a ROS 2 graph whose GID size is the other layout's
                comm_logger().warning(f"dds: undecodable {DISCOVERY_TOPIC} sample dropped ({exc}); if the graph "
                                      "runs another ROS 2 distribution, set ROS_DISTRO to it (GID size).", once=True)
                return
            for sample in samples:
                if isinstance(sample, self.layout.participant):
                    guid = guid_of(sample.gid)
                    if guid != self.own_guid and guid not in self._gone:
                        self._infos[guid] = sample
            if len(samples) < 64:
                return

    def wait(self, seconds: float) -> list[GraphNode]:
        """Poll for `seconds` (discovery and the transient-local samples need a moment), then `nodes()`."""
        deadline = time.monotonic() + seconds
        while True:
            self.poll()
            if time.monotonic() >= deadline:
                return self.nodes()
            time.sleep(0.05)

    def nodes(self) -> list[GraphNode]:
        """Every announced node, sorted by fully qualified name."""
        found = [GraphNode(n.node_namespace, n.node_name, participant,
                           [guid_of(g) for g in n.reader_gid_seq], [guid_of(g) for g in n.writer_gid_seq])
                 for participant, info in self._infos.items() for n in info.node_entities_info_seq]
        return sorted(found, key=lambda n: (n.fully_qualified_name, n.participant))

    def close(self) -> None:
        for entity in (self.reader, self.participants_reader):
            delete_entity(entity)
