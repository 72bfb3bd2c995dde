"""`perception_node`: perception as a ROS 2 node.

Subscribes
  /camera/color/image_raw   sensor_msgs/Image (rgb8/bgr8)
  /camera/depth/image_raw   sensor_msgs/Image (32FC1 m or 16UC1 mm), registered to the colour image
  /camera/camera_info       sensor_msgs/CameraInfo
  /odom                     nav_msgs/Odometry      base pose in odom
  /joint_states             sensor_msgs/JointState arm (x, z) and gripper opening
Publishes (at the camera rate: one message per colour+depth pair with the same stamp)
  /robomatrix/detections    robomatrix.messages.Detections as JSON in std_msgs/String
  /robomatrix/scene         robomatrix.planners.base.SceneObjects.to_dict() as JSON in std_msgs/String
                            (the tracked memory: positions in base_link, in-view flags, held object,
                            drawer open, containment)

The camera's extrinsics come from the robot description (parameter `urdf_path`, default the
shipped URDF), as on a real robot. Thin wrapper: `FrameAssembler` pairs the messages into an
`Observation` (no middleware), `Perception` does the work.
"""
from __future__ import annotations

import json
import math

import numpy as np

from robomatrix import comm
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.robot import CameraIntrinsics, Observation
from robomatrix.messages import Detections
from robomatrix.msgs import CameraInfo, Image, JointState, Odometry, String
from robomatrix.node_main import run_node
from robomatrix.perception.robot_model import camera_pose_base, load_robot_description
from robomatrix.perception.tracking import Perception


def intrinsics_from_camera_info(msg: CameraInfo) -> CameraIntrinsics:
    """sensor_msgs/CameraInfo (K row-major) → CameraIntrinsics."""
    k = list(msg.k)
    return CameraIntrinsics(width=int(msg.width), height=int(msg.height), fx=float(k[0]), fy=float(k[4]),
                            cx=float(k[2]), cy=float(k[5]))


class FrameAssembler:
    """Collects the latest camera, odometry and joint messages (already decoded) and hands out an
    `Observation` when a colour and a depth image with the same stamp are both in."""

    def __init__(self, camera_pose_base: np.ndarray):
        self.camera_pose_base = np.asarray(camera_pose_base, float)
        self.intrinsics: CameraIntrinsics | None = None
        self.base_pose = np.zeros(3)
        self.base_velocity = np.zeros(3)
        self.ee_position = np.array([0.22, 0.16])
        self.gripper_opening = 1.0
        self.have_odom = self.have_joints = False
        self._rgb: tuple[float, np.ndarray] | None = None
        self._depth: tuple[float, np.ndarray] | None = None
        self._last_stamp = -math.inf

    def set_odometry(self, base_pose, base_velocity) -> None:
        self.base_pose, self.base_velocity = np.asarray(base_pose, float), np.asarray(base_velocity, float)
        self.have_odom = True

    def set_joints(self, names, positions) -> None:
        values = dict(zip(names, positions))
        if all(j in values for j in conv.ARM_JOINTS):
            self.ee_position = np.array([float(values[j]) for j in conv.ARM_JOINTS])
        if conv.GRIPPER_JOINT in values:
            self.gripper_opening = float(values[conv.GRIPPER_JOINT])
        self.have_joints = True

    def state(self, stamp_s: float) -> Observation:
        """A state-only observation (no images) from the latest odometry and joints."""
        k = self.intrinsics or CameraIntrinsics(1, 1, 1.0, 1.0, 0.0, 0.0)
        return Observation(rgb=None, depth=None, intrinsics=k, camera_pose_base=self.camera_pose_base,
                           base_pose=self.base_pose.copy(), base_velocity=self.base_velocity.copy(),
                           ee_position=self.ee_position.copy(), gripper_opening=self.gripper_opening,
                           stamp_s=float(stamp_s))

    def add_rgb(self, stamp_s: float, rgb: np.ndarray) -> Observation | None:
        self._rgb = (stamp_s, rgb)
        return self._pair()

    def add_depth(self, stamp_s: float, depth: np.ndarray) -> Observation | None:
        self._depth = (stamp_s, depth)
        return self._pair()

    def _pair(self) -> Observation | None:
        if self._rgb is None or self._depth is None or self.intrinsics is None:
            return None
        (ts, rgb), (td, depth) = self._rgb, self._depth
        if abs(ts - td) > 1e-6 or ts <= self._last_stamp or rgb.shape[:2] != depth.shape:
            return None
        self._last_stamp = ts
        obs = self.state(ts)
        obs.rgb, obs.depth = rgb, depth
        if (obs.intrinsics.width, obs.intrinsics.height) != (rgb.shape[1], rgb.shape[0]):
            return None  # camera_info of another resolution: wait for the matching one
        return obs


class PerceptionNode(comm.Node):
    def __init__(self, **node_kwargs):
        super().__init__("perception_node", **node_kwargs)
        urdf = self.declare_parameter("urdf_path", "", description="robot URDF ('' = the shipped one)").value
        self.perception = Perception()
        self.frames = FrameAssembler(camera_pose_base(load_robot_description(urdf or None)))
        sensor = comm.QOS_SENSOR_DATA
        self.pub_detections = self.create_json_publisher(Detections, "/robomatrix/detections", 10)
        self.pub_scene = self.create_publisher(String, "/robomatrix/scene", 10)
        self.create_subscription(Image, "/camera/color/image_raw", self._on_rgb, sensor)
        self.create_subscription(Image, "/camera/depth/image_raw", self._on_depth, sensor)
        self.create_subscription(CameraInfo, "/camera/camera_info", self._on_info, sensor)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(JointState, "/joint_states", self._on_joints, 10)
        self.get_logger().info(f"perception ready ({self.perception.detector.name} detector)")

    def _on_info(self, msg: CameraInfo) -> None:
        self.frames.intrinsics = intrinsics_from_camera_info(msg)

    def _on_odom(self, msg: Odometry) -> None:
        p, t = msg.pose.pose, msg.twist.twist
        self.frames.set_odometry((p.position.x, p.position.y, conv.quaternion_to_yaw(p.orientation)),
                                 (t.linear.x, t.linear.y, t.angular.z))

    def _on_joints(self, msg: JointState) -> None:
        self.frames.set_joints(list(msg.name), list(msg.position))
        if self.frames.have_odom:
            self.perception.update_proprio(self.frames.state(msg.header.stamp.to_sec()))

    def _on_rgb(self, msg: Image) -> None:
        self._process(self.frames.add_rgb(msg.header.stamp.to_sec(), conv.image_to_array(msg)))

    def _on_depth(self, msg: Image) -> None:
        self._process(self.frames.add_depth(msg.header.stamp.to_sec(), conv.image_to_array(msg)))

    def _process(self, obs: Observation | None) -> None:
        if obs is None:
            return
        state = self.perception.update(obs)
        self.pub_detections.publish(Detections(stamp=float(obs.stamp_s), detections=list(state.detections)))
        self.pub_scene.publish(String(data=json.dumps(state.to_scene_objects().to_dict())))


def main(args=None):
    """Entry point for `ros2 run robomatrix perception_node` and `robomatrix launch`."""
    run_node(PerceptionNode, args)


if __name__ == "__main__":
    main()
