"""The one robot description (URDF): a well-formed tree ROS 2 tools can read, and what MuJoCo builds."""
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from robomatrix.hardware.robot import make_robot
from robomatrix.sim.mujoco_model import URDF_PATH


def test_urdf_is_a_tree_rooted_at_base_link():
    root = ET.parse(URDF_PATH).getroot()
    links = {link.get("name") for link in root.findall("link")}
    joints = {j.get("name"): j for j in root.findall("joint")}
    children = [j.find("child").get("link") for j in joints.values()]
    assert len(children) == len(set(children))  # every link has at most one parent
    assert links - set(children) == {"base_link"}  # one root
    assert all(j.find("parent").get("link") in links and j.find("child").get("link") in links for j in joints.values())
    assert {"arm_x_joint", "arm_z_joint", "left_finger_joint", "right_finger_joint"} <= set(joints)
    assert joints["arm_x_joint"].get("type") == joints["arm_z_joint"].get("type") == "prismatic"
    assert joints["right_finger_joint"].find("mimic").get("joint") == "left_finger_joint"
    assert {"camera_link", "camera_optical_frame"} <= links
    for link in root.findall("link"):  # positive masses, positive-definite diagonal inertia
        inertial = link.find("inertial")
        if inertial is not None:
            assert float(inertial.find("mass").get("value")) > 0
            assert all(float(inertial.find("inertia").get(k)) > 0 for k in ("ixx", "iyy", "izz"))


def test_camera_pose_matches_the_description():
    with make_robot("mujoco", camera_width=32, camera_height=24) as robot:
        obs = robot.reset("empty", 0)
    t = obs.camera_pose_base
    pitch = math.radians(50.0)
    assert t[:3, 3] == pytest.approx([0.06, 0.0, 0.40], abs=1e-6)
    assert t[:3, 2] == pytest.approx([math.cos(pitch), 0.0, -math.sin(pitch)], abs=1e-4)  # optical z: forward, 50° down
    assert t[:3, 0] == pytest.approx([0.0, -1.0, 0.0], abs=1e-4)  # optical x: image right = robot's right
    assert np.allclose(t[:3, :3] @ t[:3, :3].T, np.eye(3), atol=1e-6)
