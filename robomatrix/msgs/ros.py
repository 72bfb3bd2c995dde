"""Standard ROS 2 messages as Cyclone DDS IDL structs (ROS 2 wire layout).

Type names follow rmw_cyclonedds: ``<pkg>::msg::dds_::<Type>_``; extensibility is
final (XCDR1), which is what ROS 2 speaks. Fields, order and types match the ROS 2
Humble definitions; `tests/test_msgs_wire.py` checks the bytes against `rosbags`.
"""
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float64, int32, sequence, uint8, uint32

# ---------------------------------------------------------------- builtin_interfaces / std_msgs


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0

    @classmethod
    def from_sec(cls, t: float) -> "Time":
        """A Time from seconds (float); negative times are clamped to zero."""
        t = max(0.0, float(t))
        sec = int(t)
        return cls(sec=sec, nanosec=int(round((t - sec) * 1e9)) % 1_000_000_000)

    def to_sec(self) -> float:
        return self.sec + self.nanosec * 1e-9


@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class String(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    data: str = ""


@dataclass
class Bool(IdlStruct, typename="std_msgs::msg::dds_::Bool_"):
    data: bool = False


@dataclass
class Float64(IdlStruct, typename="std_msgs::msg::dds_::Float64_"):
    data: float64 = 0.0


@dataclass
class Empty(IdlStruct, typename="std_msgs::msg::dds_::Empty_"):
    # ROS 2 gives an empty message one padding byte on the wire.
    structure_needs_at_least_one_member: uint8 = 0


# ---------------------------------------------------------------- geometry_msgs


@dataclass
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
class PoseStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PoseStamped_"):
    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@dataclass
class PointStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PointStamped_"):
    """A point with a frame and a time (e.g. an arm's end point as its driver estimates it)."""

    header: Header = field(default_factory=Header)
    point: Point = field(default_factory=Point)


@dataclass
class Twist(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


@dataclass
class PoseWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    pose: Pose = field(default_factory=Pose)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


@dataclass
class TwistWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::TwistWithCovariance_"):
    twist: Twist = field(default_factory=Twist)
    covariance: array[float64, 36] = field(default_factory=lambda: [0.0] * 36)


# ---------------------------------------------------------------- sensor_msgs / nav_msgs


@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    """A camera image. `data` is `bytes` (row-major, `step` bytes per row)."""

    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = b""


@dataclass
class RegionOfInterest(IdlStruct, typename="sensor_msgs::msg::dds_::RegionOfInterest_"):
    x_offset: uint32 = 0
    y_offset: uint32 = 0
    height: uint32 = 0
    width: uint32 = 0
    do_rectify: bool = False


@dataclass
class CameraInfo(IdlStruct, typename="sensor_msgs::msg::dds_::CameraInfo_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    distortion_model: str = ""
    d: sequence[float64] = field(default_factory=list)
    k: array[float64, 9] = field(default_factory=lambda: [0.0] * 9)
    r: array[float64, 9] = field(default_factory=lambda: [0.0] * 9)
    p: array[float64, 12] = field(default_factory=lambda: [0.0] * 12)
    binning_x: uint32 = 0
    binning_y: uint32 = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@dataclass
class JointState(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    header: Header = field(default_factory=Header)
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)


@dataclass
class Odometry(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    pose: PoseWithCovariance = field(default_factory=PoseWithCovariance)
    twist: TwistWithCovariance = field(default_factory=TwistWithCovariance)


@dataclass
class Clock(IdlStruct, typename="rosgraph_msgs::msg::dds_::Clock_"):
    """Simulated time, published on /clock (ROS 2 `use_sim_time`)."""

    clock: Time = field(default_factory=Time)


# ---------------------------------------------------------------- naming

MESSAGE_TYPES: dict[str, type] = {}


def dds_type_name(msg_type: type) -> str:
    """The DDS type name, e.g. 'geometry_msgs::msg::dds_::Twist_'."""
    return msg_type.__idl_typename__


def ros_type_name(msg_type: type) -> str:
    """The ROS 2 type name, e.g. 'geometry_msgs/msg/Twist'."""
    pkg, kind, _dds, name = dds_type_name(msg_type).split("::")
    return f"{pkg}/{kind}/{name.rstrip('_')}"


for _cls in (Time, Header, String, Bool, Float64, Empty, Vector3, Point, PointStamped, Quaternion, Pose,
             PoseStamped, Twist, PoseWithCovariance, TwistWithCovariance, Image,
             RegionOfInterest, CameraInfo, JointState, Odometry, Clock):
    MESSAGE_TYPES[ros_type_name(_cls)] = _cls


def message_type(name: str) -> type:
    """Look up a message class by ROS 2 type name ('sensor_msgs/msg/Image' or 'sensor_msgs/Image')."""
    key = name if name.count("/") == 2 else name.replace("/", "/msg/", 1)
    if key not in MESSAGE_TYPES:
        import difflib

        close = difflib.get_close_matches(key, list(MESSAGE_TYPES), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise KeyError(f"Unknown message type '{name}'.{hint}")
    return MESSAGE_TYPES[key]
