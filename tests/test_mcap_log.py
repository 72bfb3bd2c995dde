"""MCAP logs: schemas generated from our message classes match ROS 2's, and files written by
McapLog (directly and through the robot tap) open in both `mcap_ros2` and `rosbags`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from robomatrix.hardware import conversions as conv
from robomatrix.hardware.robot import Action, make_robot
from robomatrix.logs import HardwareTopics, McapLog, RobotTap, msg_definition
from robomatrix.messages import Plan, SkillCall
from robomatrix.msgs import MESSAGE_TYPES, JointState, Twist, Vector3


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_generated_definitions_equal_ros2_humble(name):
    reference, _ = get_typestore(Stores.ROS2_HUMBLE).generate_msgdef(name, ros_version=2)
    assert msg_definition(MESSAGE_TYPES[name]) == reference


def test_image_definition_carries_header_and_time_sections():
    text = msg_definition(MESSAGE_TYPES["sensor_msgs/msg/Image"])
    assert "\nMSG: std_msgs/Header\n" in text and "\nMSG: builtin_interfaces/Time\n" in text
    assert text.count("=" * 80) == 2 and "uint8[] data" in text


def _read_mcap(path):
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        return [(ch.topic, schema.name, msg.log_time, decoded)
                for schema, ch, msg, decoded in reader.iter_decoded_messages()]


def _read_rosbags(path):
    out = []
    with AnyReader([Path(path)]) as reader:
        for conn, stamp, raw in reader.messages():
            out.append((conn.topic, conn.msgtype, stamp, reader.deserialize(raw, conn.msgtype)))
    return out


def test_values_round_trip_through_both_readers(tmp_path):
    path = tmp_path / "x.mcap"
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    plan = Plan(instruction="grasp the red can", steps=[SkillCall("grasp", {"object": "red can"})])
    with McapLog(path, image_period_s=0.0) as log:
        log.write("/camera/color/image_raw", conv.rgb_to_image(rgb, 1.5), 1.5)
        log.write("/joint_states", conv.joint_state((0.3, 0.12), 0.8, 1.5), 1.5)
        log.write("/cmd_vel", Twist(linear=Vector3(x=0.25), angular=Vector3(z=-0.5)), 1.6)
        log.write_json("/robomatrix/plan", plan, 1.7)
    for rows in (_read_mcap(path), _read_rosbags(path)):
        by_topic = {r[0]: r for r in rows}
        assert set(by_topic) == {"/camera/color/image_raw", "/joint_states", "/cmd_vel", "/robomatrix/plan"}
        _, kind, stamp, img = by_topic["/camera/color/image_raw"]
        assert kind == "sensor_msgs/msg/Image" and stamp == 1_500_000_000
        assert (img.height, img.width, img.encoding, img.step) == (4, 6, "rgb8", 18)
        assert img.header.stamp.sec == 1 and img.header.stamp.nanosec == 500_000_000
        assert bytes(img.data) == rgb.tobytes()
        js = by_topic["/joint_states"][3]
        assert list(js.name) == ["arm_x_joint", "arm_z_joint", "gripper_opening"]
        assert np.allclose(list(js.position), [0.3, 0.12, 0.8])
        tw = by_topic["/cmd_vel"][3]
        assert tw.linear.x == 0.25 and tw.angular.z == -0.5
        assert Plan.from_json(by_topic["/robomatrix/plan"][3].data).steps[0].args == {"object": "red can"}


def test_images_are_thinned_per_topic(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    with McapLog(tmp_path / "t.mcap", image_period_s=0.2) as log:
        written = [log.write("/cam", conv.rgb_to_image(rgb, t), t) for t in np.arange(0.0, 1.0, 0.05)]
        for t in np.arange(0.0, 1.0, 0.05):  # state topics are never thinned
            log.write("/joint_states", JointState(), float(t))
    assert sum(written) == 5 and log.counts == {"/cam": 5, "/joint_states": 20}
    with pytest.raises(RuntimeError, match="closed"):
        log.write("/joint_states", JointState(), 2.0)


def test_robot_tap_records_the_hardware_topics(tmp_path):
    path = tmp_path / "robot.mcap"
    with McapLog(path, image_period_s=0.1) as log:
        hw = HardwareTopics(log, state_period_s=0.05)
        tap = RobotTap(make_robot("mujoco", camera_width=32, camera_height=24), on_observation=hw.observation,
                       on_state=hw.state, on_action=hw.action)
        with tap:
            tap.reset("pick", 0)
            for _ in range(10):
                applied = tap.send_action(Action((5.0, 0.0, 0.0), (0.3, 0.1), 0.4))
                assert applied.base_velocity[0] <= 1.0  # the robot's clipping is what gets logged
                tap.advance(0.05)
                tap.get_state()
            tap.get_observation()
            assert tap.scene.name == "pick"  # anything else reaches the wrapped robot
    rows = _read_rosbags(path)
    topics = {r[0]: r[1] for r in rows}
    assert topics == {
        "/camera/color/image_raw": "sensor_msgs/msg/Image", "/camera/depth/image_raw": "sensor_msgs/msg/Image",
        "/camera/camera_info": "sensor_msgs/msg/CameraInfo", "/joint_states": "sensor_msgs/msg/JointState",
        "/odom": "nav_msgs/msg/Odometry", "/cmd_vel": "geometry_msgs/msg/Twist",
        "/arm/command": "geometry_msgs/msg/Point", "/gripper/command": "std_msgs/msg/Float64"}
    cmds = [r[3] for r in rows if r[0] == "/cmd_vel"]
    assert len(cmds) == 10 and all(0 < c.linear.x <= 1.0 for c in cmds) and cmds[0].linear.x < 0.2
    depth = next(r[3] for r in rows if r[0] == "/camera/depth/image_raw")
    assert depth.encoding == "32FC1" and (depth.width, depth.height) == (32, 24)
    odom = [r[3] for r in rows if r[0] == "/odom"]
    assert odom[-1].pose.pose.position.x > 0.05  # the robot drove forward
    assert len(_read_mcap(path)) == len(rows)
