"""End to end: `robomatrix launch launch/sim.launch.yaml with_stack:=false` starts the hardware
node alone in its own process (tests/test_sim_graph_e2e.py runs the whole graph); this test
process drives it over DDS (loopback only) like any ROS 2 node would: it publishes /cmd_vel
and sees /odom move and camera images arrive."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from procs import stop_group

from robomatrix import comm
from robomatrix.hardware import conversions as conv
from robomatrix.msgs import Bool, CameraInfo, Image, Odometry, Twist

pytestmark = [pytest.mark.dds, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ROBOMATRIX = Path(sys.executable).parent / "robomatrix"


@pytest.fixture
def launched_sim():
    env = dict(os.environ, ROBOMATRIX_DISCOVERY="localhost", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [str(ROBOMATRIX), "launch", str(ROOT / "launch/sim.launch.yaml"), "scene:=office", "seed:=2",
         "camera_width:=160", "camera_height:=120", "camera_rate_hz:=10",
         "with_stack:=false"],  # the robot alone: no skill server to share /cmd_vel or the CPU with
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    yield proc
    stop_group(proc)


def _spin_until(executor, predicate, timeout_s, proc):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        if predicate():
            return True
        if proc.poll() is not None:
            raise AssertionError(f"launch exited with {proc.returncode}:\n{proc.stdout.read()}")
    return False


def test_cmd_vel_over_dds_moves_the_simulated_robot_and_camera_streams(launched_sim):
    ctx = comm.Context(transport="dds")
    node = comm.Node("e2e_driver", context=ctx)
    got = {"odom": [], "rgb": [], "depth": [], "info": []}
    node.create_subscription(Odometry, "/odom", got["odom"].append, 50)
    node.create_subscription(Image, "/camera/color/image_raw", got["rgb"].append, comm.QOS_SENSOR_DATA)
    node.create_subscription(Image, "/camera/depth/image_raw", got["depth"].append, comm.QOS_SENSOR_DATA)
    node.create_subscription(CameraInfo, "/camera/camera_info", got["info"].append, comm.QOS_SENSOR_DATA)
    cmd = node.create_publisher(Twist, "/cmd_vel", 10)
    estop = node.create_publisher(Bool, "/robomatrix/estop", comm.QOS_LATCHED)
    executor = comm.Executor([node])
    try:
        # The hardware node needs a few seconds to build the scene and its renderer.
        assert _spin_until(executor, lambda: got["odom"] and got["rgb"], 60, launched_sim), "no /odom or camera"
        start = got["odom"][-1].pose.pose.position.x, got["odom"][-1].pose.pose.position.y
        yaw0 = conv.quaternion_to_yaw(got["odom"][-1].pose.pose.orientation)

        # Drive forward at 0.3 m/s for 2 s of wall time (real-time graph), streaming /cmd_vel at 10 Hz.
        t_end = time.monotonic() + 2.0
        forward = Twist()
        forward.linear.x = 0.3
        while time.monotonic() < t_end:
            cmd.publish(forward)
            executor.spin_once(timeout_sec=0.1)
        last = got["odom"][-1]
        dx = last.pose.pose.position.x - start[0]
        dy = last.pose.pose.position.y - start[1]
        travelled = float(np.hypot(dx, dy))
        assert 0.25 < travelled < 1.0, f"travelled {travelled:.3f} m"
        # It moved along its heading (base-frame +x), not sideways.
        assert abs(np.arctan2(dy, dx) - yaw0) < 0.2

        # The watchdog stops the base once /cmd_vel goes quiet.
        _spin_until(executor, lambda: False, 1.5, launched_sim)
        assert abs(got["odom"][-1].twist.twist.linear.x) < 0.05

        # Camera: sizes and encodings as configured; depth is metric and finite somewhere.
        rgb, depth, info = got["rgb"][-1], got["depth"][-1], got["info"][-1]
        assert (rgb.width, rgb.height, rgb.encoding) == (160, 120, "rgb8")
        image = conv.image_to_array(rgb)
        assert image.std() > 5, "camera image is blank"
        d = conv.image_to_array(depth)
        assert depth.encoding == "32FC1" and np.isfinite(d).any() and 0.05 < np.nanmedian(d[d > 0]) < 10
        assert info.k[0] > 0 and info.width == 160

        # E-stop: engaged, commands are ignored.
        estop.publish(Bool(data=True))
        _spin_until(executor, lambda: False, 0.5, launched_sim)
        before = got["odom"][-1].pose.pose.position.x
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            cmd.publish(forward)
            executor.spin_once(timeout_sec=0.1)
        assert abs(got["odom"][-1].pose.pose.position.x - before) < 0.02
    finally:
        executor.shutdown()
        node.destroy_node()
        ctx.shutdown()
