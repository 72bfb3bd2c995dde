"""Pure kinematics and camera geometry against hand-computed values."""
import math

import numpy as np
import pytest

from robomatrix.hardware.kinematics import (
    base_to_world_point,
    base_to_world_velocity,
    deproject,
    depth_to_points,
    gripper_point_odom,
    intrinsics_from_fovy,
    planar_pose_matrix,
    project,
    transform_points,
    world_to_base_point,
    world_to_base_velocity,
    wrap_angle,
)
from robomatrix.hardware.robot import CameraIntrinsics


def test_base_velocity_is_rotated_by_yaw_into_the_world():
    # Facing +y (yaw 90 deg): "forward" is world +y, "left" is world -x.
    assert base_to_world_velocity(1.0, 0.0, math.pi / 2) == pytest.approx((0.0, 1.0), abs=1e-12)
    assert base_to_world_velocity(0.0, 1.0, math.pi / 2) == pytest.approx((-1.0, 0.0), abs=1e-12)
    # yaw 30 deg: (1, 0) → (cos 30, sin 30)
    assert base_to_world_velocity(1.0, 0.0, math.radians(30)) == pytest.approx((math.sqrt(3) / 2, 0.5))
    # round trip
    assert world_to_base_velocity(*base_to_world_velocity(0.3, -0.2, 2.0), 2.0) == pytest.approx((0.3, -0.2))


def test_world_point_in_base_frame():
    # Robot at (1, 2) facing +y: a point 1 m further along +y is 1 m straight ahead.
    assert world_to_base_point((1.0, 3.0), (1.0, 2.0, math.pi / 2)) == pytest.approx([1.0, 0.0], abs=1e-12)
    assert world_to_base_point((0.0, 2.0, 0.5), (1.0, 2.0, math.pi / 2)) == pytest.approx([0.0, 1.0, 0.5], abs=1e-12)


def test_gripper_point_in_odom():
    # Robot at (1, 2) facing +y, arm 0.3 m out at 0.2 m up: the gripper is 0.3 m further along +y.
    assert gripper_point_odom((1.0, 2.0, math.pi / 2), (0.3, 0.2)) == pytest.approx([1.0, 2.3, 0.2], abs=1e-12)
    # the same as the pose matrix applied to the arm's point in base_link
    pose, ee = (0.4, -1.0, -2.5), (0.25, 0.13)
    expected = transform_points(planar_pose_matrix(*pose), [[ee[0], 0.0, ee[1]]])[0]
    assert gripper_point_odom(np.array(pose), np.array(ee)) == pytest.approx(expected)


def test_wrap_angle_and_pose_matrix():
    assert wrap_angle(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert wrap_angle(-3 * math.pi / 2) == pytest.approx(math.pi / 2)
    t = planar_pose_matrix(1.0, 2.0, math.pi / 2, z=0.5)
    assert transform_points(t, [[1.0, 0.0, 0.0]])[0] == pytest.approx([1.0, 3.0, 0.5])


def test_intrinsics_from_fovy_hand_computed():
    k = intrinsics_from_fovy(640, 480, 90.0)  # tan(45 deg) = 1 → fy = 240
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((240.0, 240.0, 319.5, 239.5))
    k70 = intrinsics_from_fovy(128, 128, 70.0)
    assert k70.fy == pytest.approx(64.0 / math.tan(math.radians(35.0)))  # 91.40


def test_projection_and_deprojection_round_trip():
    k = CameraIntrinsics(width=640, height=480, fx=500.0, fy=500.0, cx=320.0, cy=240.0)
    # A point 2 m ahead, 0.4 m right, 0.2 m down: u = 500*0.4/2 + 320 = 420, v = 500*0.2/2 + 240 = 290.
    assert project([[0.4, 0.2, 2.0]], k)[0] == pytest.approx([420.0, 290.0])
    assert deproject([[420.0, 290.0]], [2.0], k)[0] == pytest.approx([0.4, 0.2, 2.0])
    pts = depth_to_points(np.full((480, 640), 2.0, np.float32), k)
    assert pts[290, 420] == pytest.approx([0.4, 0.2, 2.0])
    assert np.allclose(k.matrix(), [[500, 0, 320], [0, 500, 240], [0, 0, 1]])


def test_base_to_world_point_inverts_world_to_base_point():
    pose = np.array([0.4, -1.2, 2.5])
    p = np.array([0.3, 0.05, 0.06])
    world = base_to_world_point(p, pose)
    np.testing.assert_allclose(world_to_base_point(world, pose), p, atol=1e-12)
    # a point straight ahead of a base facing +y lies further along +y
    np.testing.assert_allclose(base_to_world_point([0.5, 0.0], [1.0, 2.0, np.pi / 2]), [1.0, 2.5], atol=1e-12)
