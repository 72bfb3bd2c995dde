"""`QoSProfile` → Cyclone DDS QoS, as rmw_cyclonedds maps ROS 2 profiles.

KEEP_LAST(depth) history, reliability, durability, and XCDR1 data representation (what
ROS 2 speaks). A reliable writer whose history is full blocks at most
`RELIABLE_MAX_BLOCKING_S` (rmw_cyclonedds uses the same bound); a best-effort one never blocks.
"""
from __future__ import annotations

from cyclonedds.qos import Policy, Qos
from cyclonedds.util import duration

from robomatrix.comm.transport import Durability, QoSProfile, Reliability

RELIABLE_MAX_BLOCKING_S = 0.1
# ROS 2's rmw_qos_profile_services_default: reliable, volatile, keep last 10.
SERVICE_QOS = QoSProfile(depth=10)


def to_dds_qos(qos: QoSProfile) -> Qos:
    """The cyclonedds `Qos` for one endpoint with this profile (readers and writers alike)."""
    if qos.reliability is Reliability.RELIABLE:
        reliability = Policy.Reliability.Reliable(max_blocking_time=duration(seconds=RELIABLE_MAX_BLOCKING_S))
    else:
        reliability = Policy.Reliability.BestEffort
    durability = (Policy.Durability.TransientLocal if qos.durability is Durability.TRANSIENT_LOCAL
                  else Policy.Durability.Volatile)
    return Qos(
        reliability,
        durability,
        Policy.History.KeepLast(qos.depth),
        Policy.DataRepresentation(use_cdrv0_representation=True),
    )
