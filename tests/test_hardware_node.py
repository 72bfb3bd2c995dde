"""The hardware node as a process: bad parameters get one line and exit 2; in one process
(inproc transport) /cmd_vel moves the robot and the camera publishes the configured size."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robomatrix import comm
from robomatrix.msgs import Image, Odometry, Twist

NODE = Path(sys.executable).parent / "hardware_node"


@pytest.mark.parametrize("arg, message", [
    ("seed:=abc", "Parameter 'seed' of node 'hardware_node' expects int"),
    ("camera_rate_hz:=-1", "Parameter 'camera_rate_hz' of node 'hardware_node' must be > 0"),
    ("scene:=ofice", "Unknown scene 'ofice'. Did you mean 'office'?"),
    ("backend:=mujocco", "Did you mean 'mujoco'?"),
])
def test_bad_parameters_exit_2_with_one_line(arg, message):
    out = subprocess.run([str(NODE), "--ros-args", "-p", arg], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_node_in_one_process_drives_and_streams():
    from robomatrix.hardware.hardware_node import HardwareNode

    ctx = comm.Context(transport="inproc")
    hw = HardwareNode(context=ctx, parameter_overrides={"camera_width": 96, "camera_height": 72, "scene": "pick"})
    drv = comm.Node("driver", context=ctx)
    odom, images = [], []
    drv.create_subscription(Odometry, "/odom", odom.append, 100)
    drv.create_subscription(Image, "/camera/color/image_raw", images.append, comm.QOS_SENSOR_DATA)
    pub = drv.create_publisher(Twist, "/cmd_vel", 10)
    executor = comm.Executor([hw, drv])
    try:
        cmd = Twist()
        cmd.angular.z = 0.5
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            pub.publish(cmd)
            executor.spin_once(timeout_sec=0.02)
        assert len(odom) > 20 and images
        assert (images[-1].width, images[-1].height) == (96, 72)
        assert odom[-1].twist.twist.angular.z == pytest.approx(0.5, abs=0.1)
        assert odom[-1].pose.pose.orientation.z != pytest.approx(odom[0].pose.pose.orientation.z)
    finally:
        executor.shutdown()
        hw.destroy_node()
        drv.destroy_node()
        ctx.shutdown()
