"""The `dds` transport: Eclipse Cyclone DDS speaking the ROS 2 wire protocol.

A ROS 2 machine sees our topics (`ros2 topic echo /cmd_vel`) and calls our services:
topics `rt/<name>`, ROS 2 DDS type names, XCDR1, reliable by default; services as
`rq/<name>Request` / `rr/<name>Reply` with rmw_cyclonedds' request header. Images are
(de)serialised with one byte copy (`fastbytes`), same bytes on the wire.

    ctx = comm.Context(transport="dds")                       # loopback only
    ctx = comm.Context(transport="dds", discovery="lan", domain_id=7)

Environment:
  ROS_DOMAIN_ID             DDS domain (0..232) when `domain_id` is not given; default 0.
  ROBOMATRIX_DISCOVERY      'localhost' (default: loopback interface, no multicast, unicast
                            discovery to 127.0.0.1) or 'lan' (explicit opt-in: Cyclone's
                            default interface and multicast discovery) when `discovery` is
                            not given.
                            or 'peers' (explicit opt-in: unicast discovery to exactly the
                            hosts below, multicast off, one interface; for a stack split
                            over machines).
  ROBOMATRIX_DDS_PEERS      'peers' (required) and 'lan': comma-separated hosts to discover by
                            unicast (e.g. `10.0.0.2,10.0.0.3`); with 'peers', every host of the
                            stack, this one included.
  ROBOMATRIX_DDS_INTERFACE  'peers' (required) and 'lan': the network interface (e.g. `eth0`)
                            or one of this host's addresses.
  CYCLONEDDS_URI            A Cyclone DDS configuration of your own: used as is (and logged);
                            then the discovery settings above are not applied.
"""
from robomatrix.comm.dds.config import DiscoveryConfig, discovery_config, domain_id_from
from robomatrix.comm.dds.fastbytes import prepare_type
from robomatrix.comm.dds.services import DdsClient, DdsService, service_topic_names, wire_types
from robomatrix.comm.dds.transport import DdsPublisher, DdsSubscription, DdsTransport, dds_topic_name
from robomatrix.comm.transport import register_transport
from robomatrix.msgs import MESSAGE_TYPES
from robomatrix.msgs.srv import SERVICE_TYPES

for _msg_type in MESSAGE_TYPES.values():
    prepare_type(_msg_type)
for _srv_type in SERVICE_TYPES.values():
    prepare_type(_srv_type.Request)
    prepare_type(_srv_type.Response)

register_transport("dds", DdsTransport)

__all__ = [
    "DdsClient", "DdsPublisher", "DdsService", "DdsSubscription", "DdsTransport", "DiscoveryConfig",
    "dds_topic_name", "discovery_config", "domain_id_from", "prepare_type", "service_topic_names",
    "wire_types",
]
