"""End to end through the `ros2` hardware backend: `robomatrix sim serve --profile sim` runs the
simulator in its own process as a "ROS 2 robot" on the profile's standard topics (/sim/...), and
`robomatrix launch launch/sim.launch.yaml hardware:=ros2 profile:=sim` starts the stack with
hardware_node driving that robot through its topics. A task sent on /robomatrix/task completes
(a pick-and-place with the sim profile);
the robot's own odometry (published by the simulator process) shows it moved. Also with the
RoboMaster EP profile: the simulator then plays the robomaster_ep driver's topics (/rm/..., a
relative Vector3 arm command, a PointStamped arm state, RealSense camera names, no gripper).
DDS on loopback only."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from procs import start_logged, stop_group
from test_sim_graph_e2e import STARTUP_TIMEOUT_S, TASK_TIMEOUT_S, Watcher

from robomatrix.hardware.profile import load_profile
from robomatrix.msgs import Odometry

pytestmark = [pytest.mark.dds, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ROBOMATRIX = Path(sys.executable).parent / "robomatrix"


@pytest.fixture(params=["sim", "robomaster_ep"])
def robot_and_stack(request):
    env = dict(os.environ, ROBOMATRIX_DISCOVERY="localhost", PYTHONUNBUFFERED="1")
    robot = start_logged([str(ROBOMATRIX), "sim", "serve", "--profile", request.param, "--scene", "office", "--seed", "1"],
                  env)
    stack = start_logged([str(ROBOMATRIX), "launch", str(ROOT / "launch/sim.launch.yaml"), "hardware:=ros2",
                   f"profile:={request.param}"], env)
    robot.profile = load_profile(request.param)
    # the Watcher reports the stack's log on failure; the robot's is appended to it
    stack.log_robot = robot.log
    yield robot, stack
    stop_group(stack)
    stop_group(robot)


def test_the_stack_completes_a_task_on_a_ros2_robot_served_by_the_simulator(robot_and_stack):
    robot, stack = robot_and_stack
    w = Watcher(stack)
    robot_odom: list[Odometry] = []
    w.node.create_subscription(Odometry, robot.profile.channel("odom").topic, robot_odom.append, 50)
    try:
        up = w.spin_until(lambda: w.statuses and w.odom and w.scenes and robot_odom and w.skills.server_is_ready(),
                          STARTUP_TIMEOUT_S)
        assert up, (f"not up: status={bool(w.statuses)} odom={bool(w.odom)} scene={bool(w.scenes)} "
                    f"robot odom={bool(robot_odom)}\n{w.log_tail()}\nrobot:\n{''.join(robot.log[-20:])}")
        assert robot.poll() is None, "".join(robot.log)
        assert any(f"ros2 robot ready: profile '{robot.profile.name}'" in line for line in stack.log), w.log_tail()
        start_pos = robot_odom[-1].pose.pose.position

        # the sim profile has a gripper: a whole pick-and-place; the EP's driver reports no gripper
        # opening, so its profile runs the base-and-camera task
        instruction = "put the red can in the box" if robot.profile.name == "sim" else "move to the green can"
        final, took = w.run_task(instruction)
        states = [s.state for s in w.statuses]
        assert final is not None, f"no outcome in {TASK_TIMEOUT_S:g} s; states: {states}\n{w.log_tail()}"
        assert final.state == "succeeded", f"{final.state}: {final.message}; states: {states}\n{w.log_tail()}"
        end = robot_odom[-1].pose.pose.position
        assert float(np.hypot(end.x - start_pos.x, end.y - start_pos.y)) > 0.1, "the simulated robot never moved"
        # what the stack saw on /odom is the robot's odometry relayed by hardware_node
        relayed = w.odom[-1].pose.pose.position
        assert float(np.hypot(relayed.x - end.x, relayed.y - end.y)) < 0.05
        print(f"'{instruction}' over the ros2 backend: {took:.1f} s")
    finally:
        w.close()


@pytest.mark.parametrize("args, message", [
    (["--profile", "robomaster"], "Unknown robot profile 'robomaster'. Did you mean 'robomaster_ep'?"),
    (["--scene", "ofice"], "Unknown scene 'ofice'. Did you mean 'office'?"),
    (["--width", "4"], "--width/--height must be between 16 and 4096 px"),
])
def test_sim_serve_bad_input_is_one_line_and_exit_2(args, message):
    out = subprocess.run([str(ROBOMATRIX), "sim", "serve", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
