"""End to end, the whole graph: `robomatrix launch launch/sim.launch.yaml` starts hardware_node,
perception_node, skill_server and executive as separate processes over DDS (loopback only).
This test process is just another ROS 2 node: it sends a Task on /robomatrix/task and watches
/robomatrix/plan and /robomatrix/status until the executive reports the outcome. Scored from the
executive's status and the robot's odometry only (no simulator oracle): the graph is real time."""
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from procs import start_logged, stop_group

from robomatrix import comm
from robomatrix.messages import ExecutiveStatus, Plan, Task
from robomatrix.msgs import Odometry, String
from robomatrix.skills.server_node import SKILL_ACTION

pytestmark = [pytest.mark.dds, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ROBOMATRIX = Path(sys.executable).parent / "robomatrix"
DONE = ("succeeded", "failed", "canceled")
# Latched like the executive's publishers, but deep: every status change is kept, not just the last.
QOS_ALL_LATCHED = comm.QoSProfile(depth=100, durability=comm.QOS_LATCHED.durability)
# A real-time graph of four processes on a loaded 2-core machine: generous.
STARTUP_TIMEOUT_S = 90.0
TASK_TIMEOUT_S = 180.0


@pytest.fixture(params=["wall_time", "sim_time"])
def launched_graph(request):
    env = dict(os.environ, ROBOMATRIX_DISCOVERY="localhost", PYTHONUNBUFFERED="1")
    proc = start_logged(
        # The shipped defaults (320x240 camera): at 160x120 the skill server's grasp alignment on
        # the red can failed about one run in three; 320x240 passed every run.
        # sim_time: hardware_node publishes /clock and the other three nodes run on it.
        [str(ROBOMATRIX), "launch", str(ROOT / "launch/sim.launch.yaml"), "scene:=office", "seed:=1",
         f"use_sim_time:={'true' if request.param == 'sim_time' else 'false'}"], env)
    proc.sim_time = request.param == "sim_time"
    yield proc
    stop_group(proc)


class Watcher:
    """The test's node: task publisher, plan/status/odom/scene subscriptions, skill action probe."""

    def __init__(self, proc):
        self.proc = proc
        self.ctx = comm.Context(transport="dds")
        self.node = comm.Node("graph_e2e", context=self.ctx)
        self.plans: list[Plan] = []
        self.statuses: list[ExecutiveStatus] = []
        self.odom: list[Odometry] = []
        self.scenes: list[String] = []
        self.node.create_json_subscription(Plan, "/robomatrix/plan", self.plans.append, QOS_ALL_LATCHED)
        self.node.create_json_subscription(ExecutiveStatus, "/robomatrix/status", self.statuses.append,
                                           QOS_ALL_LATCHED)
        self.node.create_subscription(Odometry, "/odom", self.odom.append, 50)
        self.node.create_subscription(String, "/robomatrix/scene", self.scenes.append, comm.QOS_SENSOR_DATA)
        self.tasks = self.node.create_json_publisher(Task, "/robomatrix/task", 10)
        self.skills = comm.ActionClient(self.node, SKILL_ACTION)
        self.executor = comm.Executor([self.node])

    def spin_until(self, predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if predicate():
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"launch exited with {self.proc.returncode}:\n{self.log_tail()}")
        return False

    def run_task(self, instruction: str) -> tuple[ExecutiveStatus | None, float]:
        task = Task(instruction, source="test")
        mine = lambda: [s for s in self.statuses if s.task_id == task.id]  # noqa: E731
        t0 = time.monotonic()
        # Re-send until the executive has taken it (subscriptions match asynchronously).
        while not mine() and time.monotonic() - t0 < 20:
            self.tasks.publish(task)
            self.spin_until(mine, 2.0)
        self.spin_until(lambda: any(s.state in DONE for s in mine()), TASK_TIMEOUT_S)
        final = next((s for s in mine() if s.state in DONE), None)
        return final, time.monotonic() - t0

    def log_tail(self, lines: int = 60) -> str:
        return "".join(self.proc.log[-lines:])

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        self.ctx.shutdown()


def test_a_task_on_the_task_topic_runs_through_the_whole_graph(launched_graph):
    w = Watcher(launched_graph)
    try:
        # Up: the executive's latched idle status, the skill server's action, perception's scene, odometry.
        assert w.spin_until(lambda: w.statuses and w.odom and w.scenes and w.skills.server_is_ready(),
                            STARTUP_TIMEOUT_S), (
            f"graph not up: status={bool(w.statuses)} odom={bool(w.odom)} scene={bool(w.scenes)} "
            f"skill server={w.skills.server_is_ready()}\n{w.log_tail()}")
        assert w.statuses[-1].state == "idle"
        start = w.odom[-1].pose.pose.position

        final, took = w.run_task("move to the green can")
        states = [s.state for s in w.statuses]
        assert final is not None, f"no outcome in {TASK_TIMEOUT_S:g} s; states: {states}\n{w.log_tail()}"
        assert final.state == "succeeded", f"{final.state}: {final.message}; states: {states}\n{w.log_tail()}"
        plan = next(p for p in w.plans if p.task_id == final.task_id)
        assert plan.planner == "rule" and [s.skill for s in plan.steps][-1] == "move_to"
        assert "executing" in states
        end = w.odom[-1].pose.pose.position
        assert float(np.hypot(end.x - start.x, end.y - start.y)) > 0.1, "the base never moved"
        print(f"easy task: {took:.1f} s")
        # The executive stamps its status with its clock: /clock seconds since the simulation began.
        assert (0 < final.stamp < 1e6) == launched_graph.sim_time, final.stamp
        if launched_graph.sim_time:
            return  # the clock path is covered; the medium task runs once, on the wall clock

        final, took = w.run_task("put the red can in the box")
        assert final is not None and final.state == "succeeded", (
            f"{final and final.state}: {final and final.message}\n{w.log_tail()}")
        plan = next(p for p in w.plans if p.task_id == final.task_id)
        assert [s.skill for s in plan.steps][-1] == "release" and len(plan.steps) >= 4
        print(f"medium task: {took:.1f} s")
        print("".join(line for line in launched_graph.log if "[skill_server]" in line or "[executive]" in line))
    finally:
        w.close()
