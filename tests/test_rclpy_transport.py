"""The `rclpy` transport: message conversion (always) and a live round trip (where ROS 2 is installed)."""
from __future__ import annotations

import array
import importlib.util
import threading
import time

import numpy as np
import pytest

from robomatrix import comm
from robomatrix.comm.rclpy_convert import from_ros, our_ros_name, to_ros
from robomatrix.errors import UsageError
from robomatrix.msgs import Header, Image, JointState, Odometry, Time, Twist, Vector3
from robomatrix.msgs.srv import SetBool

HAVE_RCLPY = importlib.util.find_spec("rclpy") is not None


# ---- stand-ins for rclpy's generated classes: a default instance in every nested field
class FakeTime:
    def __init__(self):
        self.sec, self.nanosec = 0, 0


class FakeHeader:
    def __init__(self):
        self.stamp, self.frame_id = FakeTime(), ""


class FakeImage:
    def __init__(self):
        self.header = FakeHeader()
        self.height = self.width = self.is_bigendian = self.step = 0
        self.encoding = ""
        self.data = array.array("B")


class FakeJointState:
    def __init__(self):
        self.header = FakeHeader()
        self.name, self.position, self.velocity, self.effort = [], array.array("d"), array.array("d"), array.array("d")


class FakeVector3:
    def __init__(self):
        self.x = self.y = self.z = 0.0


class FakeTwist:
    def __init__(self):
        self.linear, self.angular = FakeVector3(), FakeVector3()


def test_image_converts_with_bytes_as_uint8_array_and_back():
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    img = Image(header=Header(stamp=Time(sec=5, nanosec=6), frame_id="cam"), height=2, width=3,
                encoding="rgb8", step=9, data=pixels.tobytes())
    ros = to_ros(img, FakeImage)
    assert isinstance(ros, FakeImage) and isinstance(ros.header.stamp, FakeTime)
    assert isinstance(ros.data, array.array) and ros.data.typecode == "B" and ros.data.tobytes() == pixels.tobytes()
    assert (ros.header.stamp.sec, ros.header.frame_id, ros.encoding) == (5, "cam", "rgb8")
    back = from_ros(ros, Image)
    assert back == img and type(back.data) is bytes


def test_numpy_image_data_and_float_sequences_convert():
    pixels = np.full((2, 2, 3), 7, dtype=np.uint8)
    ros = to_ros(Image(height=2, width=2, encoding="rgb8", step=6, data=pixels), FakeImage)
    assert ros.data.tobytes() == pixels.tobytes()
    js = JointState(name=["arm_x", "gripper"], position=[0.1, 0.2], velocity=[], effort=[1.5, -2.0])
    ros_js = to_ros(js, FakeJointState)
    assert ros_js.name == ["arm_x", "gripper"] and ros_js.position == [0.1, 0.2]
    ros_js.position = np.array([0.3, 0.4])  # rclpy may hand back numpy arrays or array.array
    ros_js.effort = array.array("d", [1.0])
    back = from_ros(ros_js, JointState)
    assert back.position == [0.3, 0.4] and back.effort == [1.0] and type(back.position) is list


def test_twist_round_trip_and_ros_names():
    twist = Twist(linear=Vector3(x=0.5), angular=Vector3(z=-1.0))
    assert from_ros(to_ros(twist, FakeTwist), Twist) == twist
    assert our_ros_name(Odometry) == "nav_msgs/msg/Odometry"
    assert our_ros_name(SetBool.Request) == "std_srvs/srv/SetBool_Request"


@pytest.mark.skipif(HAVE_RCLPY, reason="rclpy is installed: the transport is available")
def test_rclpy_transport_refused_clearly_without_ros2():
    assert "rclpy" not in comm.available_transports()
    with pytest.raises(UsageError, match="Transport 'rclpy' is not available here.*rclpy"):
        comm.Context(transport="rclpy")


@pytest.mark.skipif(not HAVE_RCLPY, reason="rclpy (ROS 2) not installed")
def test_rclpy_transport_pubsub_and_service():
    with comm.Context(transport="rclpy") as ctx:
        node = comm.Node("rclpy_tester", context=ctx)
        executor = comm.Executor([node])
        threading.Thread(target=executor.spin, daemon=True).start()
        got = []
        node.create_subscription(Twist, "/rclpy_test/twist", got.append, 10)
        pub = node.create_publisher(Twist, "/rclpy_test/twist", 10)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            pub.publish(Twist(linear=Vector3(x=1.0)))
            time.sleep(0.05)
        assert got and got[0] == Twist(linear=Vector3(x=1.0))

        def set_bool(request, response):
            response.success, response.message = True, f"got {request.data}"
            return response

        node.create_service(SetBool, "/rclpy_test/set_bool", set_bool)
        client = node.create_client(SetBool, "/rclpy_test/set_bool")
        assert client.wait_for_service(timeout_sec=10)
        assert client.call(SetBool.Request(data=True), timeout_sec=5).message == "got True"
        executor.shutdown()
