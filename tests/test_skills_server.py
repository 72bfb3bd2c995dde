"""skill_server against hardware_node (MuJoCo) over the in-process transport, in real time: a goal
runs through TopicRobot's topics, bad goals are refused with the reason, cancel and e-stop stop it."""
from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
import pytest

from robomatrix import comm
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.hardware_node import HardwareNode
from robomatrix.messages import SkillGoal
from robomatrix.msgs import Bool, JointState, Odometry
from robomatrix.skills.server_node import SkillServerNode


@contextlib.contextmanager
def running_graph(scene: str):
    """hardware_node (MuJoCo, `scene`) + skill_server + a client node, spinning in real time."""
    with comm.Context() as ctx:
        server = SkillServerNode(context=ctx)
        person = comm.Node("person", context=ctx)
        client = comm.ActionClient(person, "/robomatrix/skill")
        seen = {}
        person.create_subscription(Odometry, "/odom", lambda m: seen.__setitem__("odom", m), 10)
        person.create_subscription(JointState, "/joint_states", lambda m: seen.__setitem__("joints", m), 10)
        estop = person.create_publisher(Bool, "/robomatrix/estop", comm.QOS_LATCHED)
        nodes = {}

        def spin():  # the renderer's GL context belongs to the thread that made it: build and spin here
            nodes["hw"] = HardwareNode(context=ctx, parameter_overrides={
                "scene": scene, "camera_width": 160, "camera_height": 120, "camera_rate_hz": 10.0,
                "control_rate_hz": 50.0})
            nodes["executor"] = comm.Executor([nodes["hw"], server, person])
            nodes["executor"].spin()
            nodes["hw"].destroy_node()

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        assert client.wait_for_server(5.0)
        deadline = time.monotonic() + 10.0
        while not {"odom", "joints"} <= set(seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            yield client, seen, estop
        finally:
            nodes["executor"].shutdown(2.0)
            spinner.join(5.0)
            server.destroy_node()


@pytest.fixture(scope="module")
def graph():
    with running_graph("empty") as g:
        yield g


def _pose(seen) -> np.ndarray:
    odom = seen["odom"].pose.pose
    return np.array([odom.position.x, odom.position.y, conv.quaternion_to_yaw(odom.orientation)])


def test_a_goal_runs_through_the_hardware_topics_with_feedback(graph):
    client, seen, _ = graph
    feedback = []
    goal = SkillGoal(skill="nudge", args={"direction": "left", "amount": 0.05})
    start = _pose(seen)
    handle = client.send_goal(goal.to_dict(), feedback.append)
    result = handle.result(timeout_sec=20.0)
    assert handle.status == "succeeded", handle.reason
    assert result["success"] and result["goal_id"] == goal.goal_id and result["skill"] == "nudge"
    assert "moved 0.0" in result["reason"]
    assert feedback and {"progress", "elapsed_s"} <= set(feedback[0])
    moved = _pose(seen) - start
    assert moved[1] == pytest.approx(0.05, abs=0.01) and abs(moved[0]) < 0.01


@pytest.mark.parametrize("goal, words", [
    ({"skill": "graps", "args": {"object": "red can"}}, "Did you mean 'grasp'"),
    ({"skill": "nudge", "args": {"direction": "sideways"}}, "direction"),
])
def test_unknown_skills_and_bad_arguments_are_refused_with_the_reason(graph, goal, words):
    client, _, _ = graph
    handle = client.send_goal(goal)
    handle.result(timeout_sec=5.0)
    assert handle.status == "rejected" and words in handle.reason


def test_cancel_stops_the_robot(graph):
    client, seen, _ = graph
    handle = client.send_goal(SkillGoal(skill="nudge", args={"direction": "forward", "amount": 0.3}).to_dict())
    time.sleep(0.8)
    handle.cancel()
    handle.result(timeout_sec=5.0)
    assert handle.status == "canceled"
    time.sleep(0.3)
    assert abs(seen["odom"].twist.twist.linear.x) < 0.02


def test_estop_cancels_the_running_skill_and_refuses_new_goals(graph):
    client, seen, estop = graph
    handle = client.send_goal(SkillGoal(skill="nudge", args={"direction": "backward", "amount": 0.3}).to_dict())
    time.sleep(0.6)
    estop.publish(Bool(data=True))
    result = handle.result(timeout_sec=5.0)
    assert handle.status == "aborted" and "e-stop" in result["reason"] and not result["success"]
    refused = client.send_goal(SkillGoal(skill="nudge", args={"direction": "up"}).to_dict())
    refused.result(timeout_sec=5.0)
    assert refused.status == "rejected" and "e-stop" in refused.reason
    estop.publish(Bool(data=False))
    time.sleep(0.2)
    again = client.send_goal(SkillGoal(skill="nudge", args={"direction": "up", "amount": 0.02}).to_dict())
    again.result(timeout_sec=10.0)
    assert again.status == "succeeded", again.reason


def test_camera_skills_run_through_the_topics():
    with running_graph("pick") as (client, seen, _):
        for goal in (SkillGoal(skill="search", args={"object": "red can"}),
                     SkillGoal(skill="move_to", args={"object": "red can"})):
            handle = client.send_goal(goal.to_dict())
            result = handle.result(timeout_sec=40.0)
            assert handle.status == "succeeded", handle.reason
            assert result["success"], result["reason"]
        assert "ahead" in result["reason"]  # robot_near_object says where the can is
