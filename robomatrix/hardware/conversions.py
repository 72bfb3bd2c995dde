"""Pure conversions between the `Robot` contract's arrays and ROS 2 messages.

No middleware here: every function takes numpy arrays / floats and returns a message
object from `robomatrix.msgs` (or the reverse), so the hardware node stays a thin
wrapper and these are unit-tested on their own.

Frames (REP 105 / REP 103): `odom` is the world-fixed frame the base pose is given
in, `base_link` the robot base, `camera_color_optical_frame` the camera (x right,
y down, z forward). Depth images use encoding `32FC1` in metres, as
`depth_image_proc` expects.
"""
from __future__ import annotations

import math

import numpy as np

from robomatrix.msgs import (
    CameraInfo,
    Header,
    Image,
    JointState,
    Odometry,
    Point,
    Quaternion,
    Time,
    Twist,
)

ODOM_FRAME = "odom"
BASE_FRAME = "base_link"
CAMERA_FRAME = "camera_color_optical_frame"

# Joint names of the robot description (sim/assets/robomatrix_ep.urdf).
ARM_JOINTS = ("arm_x_joint", "arm_z_joint")
GRIPPER_JOINT = "gripper_opening"


def header(stamp_s: float, frame_id: str) -> Header:
    return Header(stamp=Time.from_sec(stamp_s), frame_id=frame_id)


def yaw_to_quaternion(yaw: float) -> Quaternion:
    """Rotation about +z by `yaw` radians."""
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2.0), w=math.cos(yaw / 2.0))


def quaternion_to_yaw(q: Quaternion) -> float:
    """Yaw (rotation about +z) of a quaternion, radians in (-pi, pi]."""
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def rgb_to_image(rgb: np.ndarray, stamp_s: float, frame_id: str = CAMERA_FRAME) -> Image:
    """(H, W, 3) uint8 → sensor_msgs/Image `rgb8`."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    h, w, _ = rgb.shape
    return Image(header=header(stamp_s, frame_id), height=h, width=w, encoding="rgb8",
                 is_bigendian=0, step=w * 3, data=np.ascontiguousarray(rgb).tobytes())


def depth_to_image(depth_m: np.ndarray, stamp_s: float, frame_id: str = CAMERA_FRAME) -> Image:
    """(H, W) float metres → sensor_msgs/Image `32FC1` (little-endian)."""
    if depth_m.ndim != 2:
        raise ValueError(f"depth must be (H, W), got {depth_m.shape}")
    h, w = depth_m.shape
    data = np.ascontiguousarray(depth_m, dtype="<f4").tobytes()
    return Image(header=header(stamp_s, frame_id), height=h, width=w, encoding="32FC1",
                 is_bigendian=0, step=w * 4, data=data)


def image_to_array(msg: Image) -> np.ndarray:
    """sensor_msgs/Image → numpy: `rgb8`/`bgr8` → (H, W, 3) uint8 RGB; `32FC1` → (H, W) float32;
    `16UC1` (millimetres, as many RGB-D drivers publish) → (H, W) float32 metres."""
    h, w, enc = msg.height, msg.width, msg.encoding
    buf = bytes(msg.data) if not isinstance(msg.data, (bytes, bytearray, memoryview)) else msg.data
    if enc in ("rgb8", "bgr8"):
        arr = np.frombuffer(buf, np.uint8).reshape(h, msg.step)[:, : w * 3].reshape(h, w, 3)
        return arr[:, :, ::-1].copy() if enc == "bgr8" else arr
    if enc == "32FC1":
        dt = ">f4" if msg.is_bigendian else "<f4"
        return np.frombuffer(buf, dt).reshape(h, msg.step // 4)[:, :w].astype(np.float32)
    if enc == "16UC1":
        dt = ">u2" if msg.is_bigendian else "<u2"
        return np.frombuffer(buf, dt).reshape(h, msg.step // 2)[:, :w].astype(np.float32) / 1000.0
    raise ValueError(f"Unsupported image encoding '{enc}' (expected rgb8, bgr8, 32FC1 or 16UC1)")


def camera_info(intrinsics, stamp_s: float, frame_id: str = CAMERA_FRAME) -> CameraInfo:
    """Pinhole intrinsics (width, height, fx, fy, cx, cy) → sensor_msgs/CameraInfo (no distortion)."""
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    return CameraInfo(
        header=header(stamp_s, frame_id), height=intrinsics.height, width=intrinsics.width,
        distortion_model="plumb_bob", d=[0.0] * 5,
        k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
        r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )


def joint_state(ee_position, gripper_opening: float, stamp_s: float) -> JointState:
    """Arm joint values are the gripper's (x, z) in the base frame (prismatic joints), plus the
    gripper opening (0 closed … 1 open)."""
    return JointState(header=header(stamp_s, BASE_FRAME), name=[*ARM_JOINTS, GRIPPER_JOINT],
                      position=[float(ee_position[0]), float(ee_position[1]), float(gripper_opening)],
                      velocity=[], effort=[])


def odometry(base_pose, base_velocity, stamp_s: float) -> Odometry:
    """Base pose (x, y, yaw) in `odom` and velocity (vx, vy, wz) in `base_link` → nav_msgs/Odometry."""
    msg = Odometry(header=header(stamp_s, ODOM_FRAME), child_frame_id=BASE_FRAME)
    msg.pose.pose.position = Point(x=float(base_pose[0]), y=float(base_pose[1]), z=0.0)
    msg.pose.pose.orientation = yaw_to_quaternion(float(base_pose[2]))
    msg.twist.twist.linear.x = float(base_velocity[0])
    msg.twist.twist.linear.y = float(base_velocity[1])
    msg.twist.twist.angular.z = float(base_velocity[2])
    return msg


def twist_to_base_velocity(msg: Twist) -> tuple[float, float, float]:
    """geometry_msgs/Twist (base frame) → (vx, vy, wz); non-finite values become 0."""
    vals = (msg.linear.x, msg.linear.y, msg.angular.z)
    return tuple(float(v) if math.isfinite(v) else 0.0 for v in vals)
