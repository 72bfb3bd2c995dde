"""The robot's own geometry from its URDF, for perception: camera extrinsics and a self-mask.

Pure functions on the robot description (sim/assets/robomatrix_ep.urdf), no simulator:
- `camera_pose_base()`: the 4x4 transform camera optical frame → base_link, from the URDF's fixed
  camera joints (what the perception node uses on a real robot, where no simulator reports it);
- `RobotGeometry.boxes(ee_position, gripper_opening)`: every visual part of the robot (chassis,
  wheels, arm rails, palm, finger pads) as oriented boxes in base_link for the current arm and
  gripper state, so that the detector can ignore image pixels that belong to the robot itself.

Joint values: `arm_x_joint` = gripper x, `arm_z_joint` = gripper z (the URDF defines them so),
finger joints = opening (0..1) x the finger joint's upper limit.
"""
from __future__ import annotations

import functools
import importlib.resources
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robomatrix.errors import UsageError

CAMERA_OPTICAL_FRAME = "camera_optical_frame"
BASE_FRAME = "base_link"


def default_urdf_path() -> Path:
    """The robot description shipped with the simulation layer."""
    return Path(str(importlib.resources.files("robomatrix.sim") / "assets" / "robomatrix_ep.urdf"))


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """URDF fixed-axis roll-pitch-yaw → (3, 3) rotation: Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch),
                              math.cos(yaw), math.sin(yaw))
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _origin(elem) -> np.ndarray:
    t = np.eye(4)
    o = elem.find("origin") if elem is not None else None
    if o is not None:
        t[:3, 3] = [float(v) for v in o.get("xyz", "0 0 0").split()]
        t[:3, :3] = rpy_matrix(*(float(v) for v in o.get("rpy", "0 0 0").split()))
    return t


@dataclass(frozen=True)
class Joint:
    name: str
    kind: str  # "fixed" | "prismatic" | ...
    parent: str
    child: str
    origin: np.ndarray  # (4, 4) parent → joint frame at zero
    axis: np.ndarray  # (3,) unit axis in the joint frame
    upper: float  # upper limit (prismatic: m)
    mimic: str | None  # joint this one mirrors


@dataclass(frozen=True)
class VisualBox:
    link: str
    origin: np.ndarray  # (4, 4) link → box centre
    half_extents: np.ndarray  # (3,) m, of the visual or of its bounding box (cylinders)


@dataclass(frozen=True)
class RobotDescription:
    joints: dict[str, Joint]
    visuals: tuple[VisualBox, ...]

    def link_poses(self, joint_values: dict[str, float]) -> dict[str, np.ndarray]:
        """Every link's (4, 4) pose in base_link for the given joint values (missing → 0; mimic
        joints follow their leader)."""
        poses = {BASE_FRAME: np.eye(4)}
        pending = list(self.joints.values())
        while pending:
            progressed = False
            for j in list(pending):
                if j.parent not in poses:
                    continue
                q = joint_values.get(j.mimic if j.mimic else j.name, 0.0) if j.kind == "prismatic" else 0.0
                motion = np.eye(4)
                motion[:3, 3] = j.axis * q
                poses[j.child] = poses[j.parent] @ j.origin @ motion
                pending.remove(j)
                progressed = True
            if not progressed:
                raise ValueError(f"URDF joints not connected to {BASE_FRAME}: {[j.name for j in pending]}")
        return poses


def parse_urdf(text: str) -> RobotDescription:
    """The joints and visual geometry (boxes; cylinders as their bounding boxes) of a URDF."""
    root = ET.fromstring(text)
    joints = {}
    for j in root.findall("joint"):
        axis = np.array([float(v) for v in (j.find("axis").get("xyz") if j.find("axis") is not None
                                            else "1 0 0").split()])
        limit = j.find("limit")
        mimic = j.find("mimic")
        joints[j.get("name")] = Joint(
            name=j.get("name"), kind=j.get("type"), parent=j.find("parent").get("link"),
            child=j.find("child").get("link"), origin=_origin(j), axis=axis / np.linalg.norm(axis),
            upper=float(limit.get("upper", 0.0)) if limit is not None else 0.0,
            mimic=mimic.get("joint") if mimic is not None else None)
    visuals = []
    for link in root.findall("link"):
        for vis in link.findall("visual"):
            geom = vis.find("geometry")
            box, cyl = geom.find("box"), geom.find("cylinder")
            if box is not None:
                half = np.array([float(v) for v in box.get("size").split()]) / 2
            elif cyl is not None:
                r, length = float(cyl.get("radius")), float(cyl.get("length"))
                half = np.array([r, r, length / 2])
            else:
                continue
            visuals.append(VisualBox(link.get("name"), _origin(vis), half))
    return RobotDescription(joints=joints, visuals=tuple(visuals))


@functools.lru_cache(maxsize=4)
def load_robot_description(path: str | None = None) -> RobotDescription:
    """Parse (once) the URDF at `path` (default: the shipped robot description)."""
    file = Path(path or default_urdf_path())
    if not file.is_file():
        raise UsageError(f"robot description not found: '{file}' (give the path of a URDF file).")
    try:
        return parse_urdf(file.read_text())
    except (ET.ParseError, AttributeError, ValueError) as exc:
        raise UsageError(f"robot description '{file}' is not a URDF this reader understands: {exc}") from None


def camera_pose_base(description: RobotDescription | None = None) -> np.ndarray:
    """(4, 4) transform camera optical frame (OpenCV: x right, y down, z forward) → base_link, from
    the URDF's fixed camera joints. The camera does not move with the arm."""
    d = description or load_robot_description()
    return d.link_poses({})[CAMERA_OPTICAL_FRAME].copy()


class RobotGeometry:
    """The robot's visual parts as oriented boxes in base_link, for masking its own pixels."""

    def __init__(self, description: RobotDescription | None = None):
        self.description = description or load_robot_description()
        finger = self.description.joints.get("left_finger_joint")
        self.finger_travel_m = finger.upper if finger is not None else 0.05

    def joint_values(self, ee_position, gripper_opening: float) -> dict[str, float]:
        q = self.finger_travel_m * float(np.clip(gripper_opening, 0.0, 1.0))
        return {"arm_x_joint": float(ee_position[0]), "arm_z_joint": float(ee_position[1]),
                "left_finger_joint": q, "right_finger_joint": q}

    def boxes(self, ee_position, gripper_opening: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(pose (4, 4) in base_link, half extents (3,))] of every visual part."""
        poses = self.description.link_poses(self.joint_values(ee_position, gripper_opening))
        return [(poses[v.link] @ v.origin, v.half_extents) for v in self.description.visuals if v.link in poses]

    def mask_points(self, points_base: np.ndarray, ee_position, gripper_opening: float,
                    margin_m: float = 0.015) -> np.ndarray:
        """Boolean (N,) or (H, W): True where a base_link point lies on the robot (inside a part
        inflated by `margin_m`)."""
        flat = points_base.reshape(-1, 3)
        hit = np.zeros(len(flat), bool)
        for pose, half in self.boxes(ee_position, gripper_opening):
            local = (flat - pose[:3, 3]) @ pose[:3, :3]
            hit |= np.all(np.abs(local) <= half + margin_m, axis=1)
        return hit.reshape(points_base.shape[:-1])
