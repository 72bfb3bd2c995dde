"""Conversions between the Robot contract's arrays and ROS 2 messages (no middleware)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from robomatrix.hardware import conversions as conv
from robomatrix.msgs import Image, Twist


def test_rgb_image_round_trip_keeps_pixels_and_layout():
    rgb = np.random.default_rng(0).integers(0, 255, (4, 6, 3), dtype=np.uint8)
    msg = conv.rgb_to_image(rgb, stamp_s=1.5)
    assert (msg.height, msg.width, msg.step, msg.encoding) == (4, 6, 18, "rgb8")
    assert msg.header.stamp.sec == 1 and msg.header.stamp.nanosec == 500_000_000
    assert msg.header.frame_id == conv.CAMERA_FRAME
    np.testing.assert_array_equal(conv.image_to_array(msg), rgb)


def test_bgr8_is_returned_as_rgb():
    bgr = np.zeros((1, 2, 3), np.uint8)
    bgr[0, 0] = (10, 20, 30)
    msg = Image(height=1, width=2, encoding="bgr8", step=6, data=bgr.tobytes())
    assert tuple(conv.image_to_array(msg)[0, 0]) == (30, 20, 10)


def test_depth_is_32fc1_metres_and_16uc1_millimetres_reads_as_metres():
    depth = np.array([[0.5, 1.25], [2.0, 0.0]], np.float32)
    msg = conv.depth_to_image(depth, 0.0)
    assert msg.encoding == "32FC1" and msg.step == 8 and len(msg.data) == 16
    np.testing.assert_array_equal(conv.image_to_array(msg), depth)
    mm = Image(height=1, width=2, encoding="16UC1", step=4, data=np.array([500, 1250], "<u2").tobytes())
    np.testing.assert_allclose(conv.image_to_array(mm), [[0.5, 1.25]])


def test_unsupported_encoding_is_refused_with_the_supported_ones():
    with pytest.raises(ValueError, match="rgb8"):
        conv.image_to_array(Image(height=1, width=1, encoding="yuv422", step=2, data=b"\0\0"))


def test_camera_info_matrices_are_row_major_pinhole():
    intr = SimpleNamespace(width=640, height=480, fx=457.0, fy=456.0, cx=319.5, cy=239.5)
    msg = conv.camera_info(intr, 0.0)
    assert list(msg.k) == [457.0, 0.0, 319.5, 0.0, 456.0, 239.5, 0.0, 0.0, 1.0]
    assert list(msg.p)[:4] == [457.0, 0.0, 319.5, 0.0] and msg.p[10] == 1.0
    assert (msg.width, msg.height) == (640, 480)


@pytest.mark.parametrize("yaw", [0.0, 0.3, -1.2, math.pi / 2, 3.0])
def test_odometry_yaw_round_trips_through_the_quaternion(yaw):
    msg = conv.odometry((1.0, -2.0, yaw), (0.1, 0.2, 0.3), 2.0)
    assert msg.header.frame_id == "odom" and msg.child_frame_id == "base_link"
    assert conv.quaternion_to_yaw(msg.pose.pose.orientation) == pytest.approx(yaw)
    assert (msg.pose.pose.position.x, msg.pose.pose.position.y) == (1.0, -2.0)
    assert (msg.twist.twist.linear.x, msg.twist.twist.linear.y, msg.twist.twist.angular.z) == (0.1, 0.2, 0.3)


def test_joint_state_names_the_description_joints():
    msg = conv.joint_state((0.25, 0.1), 0.8, 0.0)
    assert msg.name == ["arm_x_joint", "arm_z_joint", "gripper_opening"]
    assert msg.position == [0.25, 0.1, 0.8]


def test_non_finite_twist_components_become_zero():
    t = Twist()
    t.linear.x, t.linear.y, t.angular.z = float("nan"), 0.5, float("inf")
    assert conv.twist_to_base_velocity(t) == (0.0, 0.5, 0.0)
