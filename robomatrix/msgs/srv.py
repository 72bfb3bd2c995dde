"""Standard ROS 2 service types (std_srvs), importable without ROS 2.

A service type is a class with `Request` and `Response` message classes and a
ROS 2 name; over DDS the request/response structs are prefixed with the request
header rmw_cyclonedds uses (see robomatrix.comm.dds).
"""
from dataclasses import dataclass

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import uint8


class ServiceType:
    """Base of service types: subclasses set `Request`, `Response` and `ros_name`."""

    Request: type
    Response: type
    ros_name: str  # e.g. 'std_srvs/srv/Trigger'


@dataclass
class _TriggerRequest(IdlStruct, typename="std_srvs::srv::dds_::Trigger_Request_"):
    structure_needs_at_least_one_member: uint8 = 0


@dataclass
class _TriggerResponse(IdlStruct, typename="std_srvs::srv::dds_::Trigger_Response_"):
    success: bool = False
    message: str = ""


class Trigger(ServiceType):
    Request = _TriggerRequest
    Response = _TriggerResponse
    ros_name = "std_srvs/srv/Trigger"


@dataclass
class _SetBoolRequest(IdlStruct, typename="std_srvs::srv::dds_::SetBool_Request_"):
    data: bool = False


@dataclass
class _SetBoolResponse(IdlStruct, typename="std_srvs::srv::dds_::SetBool_Response_"):
    success: bool = False
    message: str = ""


class SetBool(ServiceType):
    Request = _SetBoolRequest
    Response = _SetBoolResponse
    ros_name = "std_srvs/srv/SetBool"


@dataclass
class _EmptyRequest(IdlStruct, typename="std_srvs::srv::dds_::Empty_Request_"):
    structure_needs_at_least_one_member: uint8 = 0


@dataclass
class _EmptyResponse(IdlStruct, typename="std_srvs::srv::dds_::Empty_Response_"):
    structure_needs_at_least_one_member: uint8 = 0


class EmptySrv(ServiceType):
    Request = _EmptyRequest
    Response = _EmptyResponse
    ros_name = "std_srvs/srv/Empty"


SERVICE_TYPES = {t.ros_name: t for t in (Trigger, SetBool, EmptySrv)}
