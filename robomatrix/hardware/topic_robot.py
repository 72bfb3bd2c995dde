"""`TopicRobot`: the `Robot` contract over ROS 2 topics, for nodes that drive a robot they do not own.

The skill server uses it to run the same `SkillRunner` it runs in process, against whatever
publishes the hardware topics (`hardware_node` with a simulator, or a real robot's driver):

Subscribes  /camera/color/image_raw (rgb8/bgr8), /camera/depth/image_raw (32FC1 m or 16UC1 mm),
            /camera/camera_info, /odom (nav_msgs/Odometry), /joint_states (arm_x_joint,
            arm_z_joint, gripper_opening)
Publishes   /cmd_vel (Twist, base frame), /arm/command (Point: x, z of the gripper),
            /gripper/command (Float64, 0 closed … 1 open)

It has no `advance`: time is the robot's, and the runner ticks on the wall clock. The camera's
extrinsics come from the robot description (the URDF's fixed camera joints), as on a real robot.
Message callbacks run on the node's executor; the getters may be called from any thread.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from robomatrix import comm
from robomatrix.errors import RoboMatrixError
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.robot import Action, CameraIntrinsics, Observation, Robot, RobotConfig, clip_action
from robomatrix.msgs import CameraInfo, Float64, Image, JointState, Odometry, Point, Twist

TOPICS = {
    "rgb": "/camera/color/image_raw", "depth": "/camera/depth/image_raw", "info": "/camera/camera_info",
    "odom": "/odom", "joints": "/joint_states",
    "cmd_vel": "/cmd_vel", "arm": "/arm/command", "gripper": "/gripper/command",
}


RGB_FRAMES_KEPT = 4
ODOM_HISTORY = 100  # odometry messages kept (2 s at 50 Hz) to find the one taken with a camera frame


def _stamp(msg) -> float:
    return float(msg.header.stamp.sec) + 1e-9 * float(msg.header.stamp.nanosec)


def intrinsics_from_camera_info(msg: CameraInfo) -> CameraIntrinsics:
    k = list(msg.k)
    return CameraIntrinsics(width=int(msg.width), height=int(msg.height), fx=float(k[0]), fy=float(k[4]),
                            cx=float(k[2]), cy=float(k[5]))


class TopicRobot(Robot):
    """See the module docstring. `node` is a `comm.Node` that someone spins."""

    name = "topics"

    def __init__(self, node: comm.Node, config: RobotConfig | None = None,
                 camera_pose_base: np.ndarray | None = None, topics: dict[str, str] | None = None):
        super().__init__(config or RobotConfig())
        self.node = node
        self.topics = {**TOPICS, **(topics or {})}
        if camera_pose_base is None:
            from robomatrix.perception.robot_model import camera_pose_base as urdf_camera_pose

            camera_pose_base = urdf_camera_pose()
        self.camera_pose_base = np.asarray(camera_pose_base, float)
        self._lock = threading.Lock()
        self._odom: Odometry | None = None
        self._odom_history: deque[Odometry] = deque(maxlen=ODOM_HISTORY)  # to match camera stamps
        self._joints: dict[str, float] = {}
        self._rgb: dict[float, Image] = {}  # the last few colour frames by stamp, to pair with depth
        self._depth: Image | None = None
        self._info: CameraInfo | None = None
        self._connected = False
        self._last_velocity = (0.0, 0.0, 0.0)
        self._last_arm: tuple[float, float] | None = None
        self._last_gripper: float | None = None
        self._pubs: dict = {}

    # ------------------------------------------------------------------ lifecycle
    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        if self._connected:
            return
        n, t, sensor = self.node, self.topics, comm.QOS_SENSOR_DATA
        n.create_subscription(Image, t["rgb"], self._on_rgb, sensor)
        n.create_subscription(Image, t["depth"], lambda m: self._keep("_depth", m), sensor)
        n.create_subscription(CameraInfo, t["info"], lambda m: self._keep("_info", m), sensor)
        n.create_subscription(Odometry, t["odom"], self._on_odom, 10)
        n.create_subscription(JointState, t["joints"], self._on_joints, 10)
        self._pubs = {"cmd_vel": n.create_publisher(Twist, t["cmd_vel"], 10),
                      "arm": n.create_publisher(Point, t["arm"], 10),
                      "gripper": n.create_publisher(Float64, t["gripper"], 10)}
        self._connected = True

    def disconnect(self) -> None:
        if self._connected:
            try:
                self.stop()
            except RoboMatrixError:
                pass
        self._connected = False

    def _keep(self, attr: str, msg) -> None:
        with self._lock:
            setattr(self, attr, msg)

    def _on_odom(self, msg: Odometry) -> None:
        with self._lock:
            self._odom = msg
            self._odom_history.append(msg)

    def _on_rgb(self, msg: Image) -> None:
        with self._lock:
            self._rgb[_stamp(msg)] = msg
            for old in sorted(self._rgb)[:-RGB_FRAMES_KEPT]:
                del self._rgb[old]

    def _on_joints(self, msg: JointState) -> None:
        with self._lock:
            self._joints.update({name: float(p) for name, p in zip(msg.name, msg.position)})

    def wait_for_data(self, timeout_s: float = 10.0, camera: bool = True,
                      clock: Callable[[], float] = time.monotonic) -> bool:
        """Block until odometry, joint states (and a camera frame) have arrived; False on timeout."""
        deadline = clock() + timeout_s
        while clock() < deadline:
            if self._ready(camera):
                return True
            time.sleep(0.01)
        return self._ready(camera)

    def _ready(self, camera: bool) -> bool:
        with self._lock:
            have = self._odom is not None and all(j in self._joints for j in (*conv.ARM_JOINTS, conv.GRIPPER_JOINT))
            return have and (not camera or (bool(self._rgb) and self._depth is not None and self._info is not None))

    def reset(self, scene="office", seed: int = 0) -> Observation:
        """A robot on topics cannot reset the world: it only stops."""
        self.stop()
        return self.get_observation()

    # ------------------------------------------------------------------ sensing
    def get_state(self, at_stamp_s: float | None = None) -> Observation:
        """Proprioception now, or (`at_stamp_s`) with the odometry closest to that time."""
        with self._lock:
            odom, joints, info = self._odom, dict(self._joints), self._info
            if at_stamp_s is not None and self._odom_history:
                odom = min(self._odom_history, key=lambda m: abs(_stamp(m) - at_stamp_s))
        if odom is None or conv.GRIPPER_JOINT not in joints:
            raise RoboMatrixError(f"no odometry/joint states yet on {self.topics['odom']} and {self.topics['joints']}: "
                                  "is the hardware node running?")
        pose = odom.pose.pose
        twist = odom.twist.twist
        intrinsics = intrinsics_from_camera_info(info) if info is not None else CameraIntrinsics(
            self.config.camera_width, self.config.camera_height, 1.0, 1.0, 0.0, 0.0)
        return Observation(
            rgb=None, depth=None, intrinsics=intrinsics, camera_pose_base=self.camera_pose_base.copy(),
            base_pose=np.array([pose.position.x, pose.position.y, conv.quaternion_to_yaw(pose.orientation)]),
            base_velocity=np.array([twist.linear.x, twist.linear.y, twist.angular.z]),
            ee_position=np.array([joints.get(conv.ARM_JOINTS[0], 0.0), joints.get(conv.ARM_JOINTS[1], 0.0)]),
            gripper_opening=float(joints[conv.GRIPPER_JOINT]), stamp_s=_stamp(odom))

    def get_observation(self) -> Observation:
        """The latest camera frame, with the base pose from the odometry taken with it (a moving
        base would otherwise place what the camera saw where the robot is now, not where it was)."""
        with self._lock:
            depth, info = self._depth, self._info
            # the colour frame taken with the latest depth frame, else the newest one
            rgb = None if depth is None else self._rgb.get(_stamp(depth))
            rgb = rgb if rgb is not None or not self._rgb else self._rgb[max(self._rgb)]
        if rgb is None or depth is None or info is None:
            raise RoboMatrixError(f"no camera frames yet on {self.topics['rgb']} / {self.topics['depth']}: "
                                  "is the camera publishing?")
        obs = self.get_state(at_stamp_s=_stamp(depth))
        obs.rgb = conv.image_to_array(rgb)
        obs.depth = conv.image_to_array(depth)
        obs.intrinsics = intrinsics_from_camera_info(info)
        return obs

    # ------------------------------------------------------------------ acting
    def send_action(self, action: Action) -> Action:
        if not self._connected:
            raise RoboMatrixError("TopicRobot is not connected: call connect() first.")
        applied = clip_action(action, self.config, self._last_velocity)
        vx, vy, wz = applied.base_velocity
        msg = Twist()
        msg.linear.x, msg.linear.y, msg.angular.z = float(vx), float(vy), float(wz)
        self._pubs["cmd_vel"].publish(msg)
        self._last_velocity = applied.base_velocity
        if applied.arm_target is not None:
            self._last_arm = applied.arm_target
            self._pubs["arm"].publish(Point(x=float(applied.arm_target[0]), y=0.0, z=float(applied.arm_target[1])))
        if applied.gripper is not None:
            self._last_gripper = applied.gripper
            self._pubs["gripper"].publish(Float64(data=float(applied.gripper)))
        return applied

    def stop(self) -> None:
        """Zero the base at once; the arm and gripper keep their last commands (what they hold)."""
        if not self._connected:
            return
        self._pubs["cmd_vel"].publish(Twist())
        self._last_velocity = (0.0, 0.0, 0.0)
