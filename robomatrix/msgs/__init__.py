"""ROS 2 message types, importable without ROS 2.

Each class mirrors one standard ROS 2 message field for field (same names, same
order, same types) and carries its ROS 2 DDS type name, so the same object is used
by every transport: in-process it is passed as is, over Cyclone DDS it is serialised
as XCDR1 exactly as rmw_cyclonedds does, and over rclpy it is converted field by field.

Byte payloads (`Image.data`, `CompressedImage.data`) are `bytes`, not lists of ints.
`robomatrix.msgs.graph` holds the `rmw_dds_common` messages of the ROS 2 node graph
(`ros_discovery_info`), in Humble's and in later distributions' GID sizes.
"""
from robomatrix.msgs.ros import (
    MESSAGE_TYPES,
    Bool,
    CameraInfo,
    Clock,
    Empty,
    Float64,
    Header,
    Image,
    JointState,
    Odometry,
    Point,
    PointStamped,
    Pose,
    PoseStamped,
    PoseWithCovariance,
    Quaternion,
    RegionOfInterest,
    String,
    Time,
    Twist,
    TwistWithCovariance,
    Vector3,
    dds_type_name,
    message_type,
    ros_type_name,
)

__all__ = [
    "Bool", "CameraInfo", "Clock", "Empty", "Float64", "Header", "Image", "JointState", "Odometry",
    "Point", "PointStamped", "Pose", "PoseStamped", "PoseWithCovariance", "Quaternion", "RegionOfInterest",
    "String", "Time", "Twist", "TwistWithCovariance", "Vector3", "ros_type_name",
    "dds_type_name", "MESSAGE_TYPES", "message_type",
]
