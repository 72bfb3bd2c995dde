"""perception_node over the in-process transport: camera topics in, detections out."""
from __future__ import annotations

import json

import numpy as np
import pytest

from robomatrix import comm
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.robot import make_robot
from robomatrix.messages import Detections
from robomatrix.msgs import String
from robomatrix.perception.node import FrameAssembler, PerceptionNode, intrinsics_from_camera_info
from robomatrix.perception.robot_model import camera_pose_base


@pytest.fixture(scope="module")
def frame():
    with make_robot("mujoco", camera_width=320, camera_height=240) as robot:
        obs = robot.reset("office", seed=0)
        yield obs, robot.oracle_object_poses()  # ORACLE: scoring only


def test_node_publishes_detections_for_a_camera_frame(frame):
    obs, truth = frame
    with comm.Context() as ctx:
        node = PerceptionNode(context=ctx)
        src = comm.Node("fake_hardware", context=ctx)
        sink = comm.Node("sink", context=ctx)
        got, scenes = [], []
        sink.create_json_subscription(Detections, "/robomatrix/detections", got.append)
        sink.create_subscription(String, "/robomatrix/scene", lambda m: scenes.append(json.loads(m.data)))
        pubs = {t: src.create_publisher(m, t, comm.QOS_SENSOR_DATA) for t, m in (
            ("/camera/camera_info", type(conv.camera_info(obs.intrinsics, 0.0))),
            ("/camera/color/image_raw", type(conv.rgb_to_image(obs.rgb, 0.0))),
            ("/camera/depth/image_raw", type(conv.depth_to_image(obs.depth, 0.0))))}
        odom = src.create_publisher(type(conv.odometry(obs.base_pose, obs.base_velocity, 0.0)), "/odom", 10)
        joints = src.create_publisher(type(conv.joint_state(obs.ee_position, 1.0, 0.0)), "/joint_states", 10)
        odom.publish(conv.odometry(obs.base_pose, obs.base_velocity, obs.stamp_s))
        joints.publish(conv.joint_state(obs.ee_position, obs.gripper_opening, obs.stamp_s))
        pubs["/camera/camera_info"].publish(conv.camera_info(obs.intrinsics, obs.stamp_s))
        pubs["/camera/color/image_raw"].publish(conv.rgb_to_image(obs.rgb, obs.stamp_s))
        pubs["/camera/depth/image_raw"].publish(conv.depth_to_image(obs.depth, obs.stamp_s))
        executor = comm.Executor([node, src, sink])
        for _ in range(50):
            executor.spin_once(0.05)
            if got and scenes:
                break
        node.destroy_node()
    assert len(got) == 1 and got[0].stamp == pytest.approx(obs.stamp_s)
    red = got[0].find("red can")
    assert red is not None and red.position_base is not None
    ref = truth["red can"][:3]  # robot at the origin: world == base_link
    assert np.linalg.norm(np.array(red.position_base) - ref) < 0.03
    assert "red can" in {o["name"] for o in scenes[0]["objects"]}


def test_frame_assembler_pairs_colour_and_depth_by_stamp(frame):
    obs, _ = frame
    fa = FrameAssembler(camera_pose_base())
    fa.intrinsics = intrinsics_from_camera_info(conv.camera_info(obs.intrinsics, 0.0))
    assert fa.add_rgb(1.0, obs.rgb) is None
    assert fa.add_depth(0.9, obs.depth) is None  # stamps differ
    out = fa.add_depth(1.0, obs.depth)
    assert out is not None and out.stamp_s == 1.0 and out.rgb is obs.rgb
    assert fa.add_rgb(1.0, obs.rgb) is None  # the same pair is not processed twice
    fa.set_joints(["arm_x_joint", "arm_z_joint", "gripper_opening"], [0.3, 0.2, 0.5])
    np.testing.assert_allclose(fa.state(2.0).ee_position, [0.3, 0.2])
    assert fa.state(2.0).gripper_opening == 0.5
    k = fa.intrinsics
    assert (k.fx, k.cx, k.width) == pytest.approx((obs.intrinsics.fx, obs.intrinsics.cx, 320))
