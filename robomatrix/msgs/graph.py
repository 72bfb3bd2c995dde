"""`rmw_dds_common` messages: which ROS 2 nodes a DDS participant holds (`ros_discovery_info`).

Every ROS 2 participant publishes one `ParticipantEntitiesInfo` on the DDS topic
`ros_discovery_info`: its own GID and, per node, the node's namespace, name and the GIDs of
its DDS readers and writers. `ros2 node list` and the node names in `ros2 topic info -v` come
from it. A GID is the 16-byte DDS GUID of the entity, zero-padded to the GID size:

- Humble (`rmw_dds_common` 1.x): `Gid.data` is `char[24]`;
- Iron, Jazzy and later (`rmw_dds_common` >= 2.0): `char[16]`.

The two layouts share one DDS type name, so a graph speaks one of them: `gid_layout()` picks
it from `ROBOMATRIX_ROS_DISTRO`, else `ROS_DISTRO` (set by a sourced ROS 2), else Jazzy's.
`tests/test_msgs_wire.py` checks both against rosbags' Humble and Jazzy definitions.
"""

import os
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, bounded_str, sequence, uint8

from robomatrix.errors import UsageError

GUID_BYTES = 16
NAME_MAX = 256  # rmw_dds_common: string<=256 for node names and namespaces
# ROS 2 distributions whose rmw_dds_common/msg/Gid holds 24 bytes (all others: 16).
GID24_DISTROS = ("ardent", "bouncy", "crystal", "dashing", "eloquent", "foxy", "galactic", "humble")


@dataclass
class Gid(IdlStruct, typename="rmw_dds_common::msg::dds_::Gid_"):
    """Iron and later: `char[16] data`."""

    data: array[uint8, 16] = bytes(16)


@dataclass
class NodeEntitiesInfo(IdlStruct, typename="rmw_dds_common::msg::dds_::NodeEntitiesInfo_"):
    node_namespace: bounded_str[NAME_MAX] = ""
    node_name: bounded_str[NAME_MAX] = ""
    reader_gid_seq: sequence[Gid] = field(default_factory=list)
    writer_gid_seq: sequence[Gid] = field(default_factory=list)


@dataclass
class ParticipantEntitiesInfo(IdlStruct, typename="rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_"):
    gid: Gid = field(default_factory=Gid)
    node_entities_info_seq: sequence[NodeEntitiesInfo] = field(default_factory=list)


@dataclass
class Gid24(IdlStruct, typename="rmw_dds_common::msg::dds_::Gid_"):
    """Humble and earlier: `char[24] data`."""

    data: array[uint8, 24] = bytes(24)


@dataclass
class NodeEntitiesInfo24(IdlStruct, typename="rmw_dds_common::msg::dds_::NodeEntitiesInfo_"):
    node_namespace: bounded_str[NAME_MAX] = ""
    node_name: bounded_str[NAME_MAX] = ""
    reader_gid_seq: sequence[Gid24] = field(default_factory=list)
    writer_gid_seq: sequence[Gid24] = field(default_factory=list)


@dataclass
class ParticipantEntitiesInfo24(IdlStruct, typename="rmw_dds_common::msg::dds_::ParticipantEntitiesInfo_"):
    gid: Gid24 = field(default_factory=Gid24)
    node_entities_info_seq: sequence[NodeEntitiesInfo24] = field(default_factory=list)


@dataclass(frozen=True)
class GidLayout:
    """One of the two wire layouts: its classes and GID size."""

    size: int
    gid: type
    node: type
    participant: type

    def to_gid(self, guid: bytes):
        """The GID message for a 16-byte DDS GUID (zero-padded, as rmw_cyclonedds does)."""
        if len(guid) != GUID_BYTES:
            raise ValueError(f"a DDS GUID has {GUID_BYTES} bytes, got {len(guid)}")
        return self.gid(data=bytes(guid) + bytes(self.size - GUID_BYTES))


GID16 = GidLayout(16, Gid, NodeEntitiesInfo, ParticipantEntitiesInfo)
GID24 = GidLayout(24, Gid24, NodeEntitiesInfo24, ParticipantEntitiesInfo24)


def gid_layout(env: dict | None = None) -> GidLayout:
    """The layout for the ROS 2 distribution in `ROBOMATRIX_ROS_DISTRO`, else `ROS_DISTRO`, else Jazzy's."""
    env = os.environ if env is None else env
    distro = (env.get("ROBOMATRIX_ROS_DISTRO") or env.get("ROS_DISTRO") or "jazzy").strip().lower()
    if not distro.isalpha():
        raise UsageError(f"ROS distribution {distro!r} (ROBOMATRIX_ROS_DISTRO / ROS_DISTRO) is not a name "
                         "like 'humble' or 'jazzy'.")
    return GID24 if distro in GID24_DISTROS else GID16


def guid_of(gid) -> bytes:
    """The 16-byte DDS GUID inside a GID message (either layout)."""
    return bytes(gid.data[:GUID_BYTES])
