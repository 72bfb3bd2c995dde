"""The executive node over the inproc transport: task in, plan and status out, skill goals through
the action to a fake skill server (the symbolic world of test_executive), scene from detections."""
from __future__ import annotations

import json
import threading
import time

import pytest

from robomatrix import comm
from robomatrix.executive.executors import ActionSkillExecutor
from robomatrix.executive.node import ExecutiveNode, PerceivedScene
from robomatrix.messages import Detection, Detections, ExecutiveStatus, Plan, SkillCall, SkillResult, Task
from robomatrix.msgs import String
from robomatrix.planners.base import SceneObjects
from robomatrix.skills.specs import skill_spec


class FakeSkillServer:
    """Serves /robomatrix/skill like skill_server does (SkillGoal in, SkillResult out), on a fake."""

    def __init__(self, node, fail: dict[str, int] | None = None, block: bool = False, after=None):
        self.fail = dict(fail or {})
        self.after = after  # after(skill name) once a skill succeeded: e.g. perception's new scene
        self.block = block
        self.goals: list[str] = []
        comm.ActionServer(node, "/robomatrix/skill", self.execute)

    def execute(self, handle) -> dict:
        goal = handle.goal
        self.goals.append(goal["skill"])
        handle.publish_feedback({"goal_id": goal["goal_id"], "skill": goal["skill"], "progress": 0.5,
                                 "elapsed_s": 0.2})
        if self.block and handle.wait_for_cancel(10):
            handle.canceled("canceled on request")
            return SkillResult(goal_id=goal["goal_id"], skill=goal["skill"], success=False,
                               reason=f"{goal['skill']} canceled").to_dict()
        left = self.fail.get(goal["skill"], 0)
        if left:
            self.fail[goal["skill"]] = left - 1
            handle.abort("slipped")
            return SkillResult(goal_id=goal["goal_id"], skill=goal["skill"], success=False,
                               reason=f"{goal['skill']} slipped", duration_s=1.0).to_dict()
        if self.after is not None:
            self.after(goal["skill"])
        return SkillResult(goal_id=goal["goal_id"], skill=goal["skill"], success=True, duration_s=2.0).to_dict()


def detections(*names):
    return Detections(stamp=1.0, detections=[Detection(n, [0, 0, 10, 10], [0.6, 0.0, 0.06], 0.9) for n in names])


@pytest.fixture
def graph():
    with comm.Context() as ctx:
        nodes = {name: comm.Node(name, context=ctx) for name in ("skills", "person")}
        exe = ExecutiveNode(context=ctx, parameter_overrides={"scene_wait_s": 5.0})
        nodes["executive"] = exe
        spinner = threading.Thread(target=comm.Executor(list(nodes.values())).spin, daemon=True)
        spinner.start()
        yield ctx, nodes
        exe.destroy_node()
    spinner.join(5)


def collect(node, cls, topic, qos):
    got = []
    node.create_json_subscription(cls, topic, got.append, qos)
    return got


def wait_for(pred, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def start(nodes, server_kwargs=None):
    person = nodes["person"]
    server = FakeSkillServer(nodes["skills"], **(server_kwargs or {}))
    keep_all = comm.QoSProfile(depth=1000, durability=comm.Durability.TRANSIENT_LOCAL)  # see every message
    statuses = collect(person, ExecutiveStatus, "/robomatrix/status", keep_all)
    plans = collect(person, Plan, "/robomatrix/plan", keep_all)
    dets = person.create_json_publisher(Detections, "/robomatrix/detections", comm.QOS_SENSOR_DATA)
    tasks = person.create_json_publisher(Task, "/robomatrix/task", 10)
    return server, statuses, plans, dets, tasks


def test_a_task_runs_to_success_over_the_skill_action(graph):
    _, nodes = graph
    server, statuses, plans, dets, tasks = start(nodes)
    assert wait_for(lambda: statuses and statuses[0].state == "idle")
    dets.publish(detections("red can", "box"))
    tasks.publish(Task("put the red can in the box", id="t7"))
    assert wait_for(lambda: statuses[-1].state in ("succeeded", "failed")), [s.state for s in statuses]
    assert statuses[-1].state == "succeeded" and statuses[-1].task_id == "t7", statuses[-1]
    assert server.goals == ["move_to", "grasp", "lift", "position_over", "release"]
    assert len(plans) == 1 and plans[0].task_id == "t7" and len(plans[0].steps) == 5
    assert [s.step_index for s in statuses if s.state == "executing"] == [0, 1, 2, 3, 4]


def test_failures_are_retried_then_backtracked_and_refusals_reported(graph):
    _, nodes = graph
    server, statuses, plans, dets, tasks = start(nodes, {"fail": {"grasp": 2}})
    dets.publish(detections("red can", "box"))
    assert wait_for(lambda: nodes["executive"].scene().has("red can"))
    tasks.publish(Task("pick up the red can"))
    assert wait_for(lambda: statuses[-1].state in ("succeeded", "failed"))
    assert statuses[-1].state == "succeeded"
    # 1 try + 1 retry, then back to the move_to that found the can, and the grasp works
    assert server.goals.count("grasp") == 3 and server.goals.count("move_to") == 2 and len(plans) == 1
    assert any(s.state == "replanning" and s.message.startswith("backtracking to step 1 move_to")
               and "grasp slipped" in s.message for s in statuses)

    tasks.publish(Task("put the purple can in the box"))
    assert wait_for(lambda: statuses[-1].state == "failed" and "purple" in statuses[-1].message)


def test_a_new_task_cancels_the_running_one(graph):
    _, nodes = graph
    server, statuses, plans, dets, tasks = start(nodes, {"block": True})
    dets.publish(detections("red can", "green can"))
    assert wait_for(lambda: nodes["executive"].scene().has("green can"))
    tasks.publish(Task("move to the red can", id="first"))
    assert wait_for(lambda: server.goals == ["move_to"])
    server.block = False
    tasks.publish(Task("move to the green can", id="second"))
    assert wait_for(lambda: any(s.state == "succeeded" and s.task_id == "second" for s in statuses))
    assert any(s.state == "canceled" and s.task_id == "first" for s in statuses)


def test_perceived_scene_remembers_what_left_the_view_and_prefers_the_tracked_scene():
    scene = PerceivedScene()
    scene.update(detections("red can", "bin"))
    scene.update(detections("red can"))
    s = scene()
    assert s.in_view("red can") and s.has("bin") and not s.in_view("bin")
    tracked = SceneObjects.from_names(["box"], ["red can"], held="red can", drawer_open=False)
    scene.update_scene(String(data=json.dumps(tracked.to_dict())))
    assert scene() == tracked
    with pytest.raises(ValueError):
        scene.update_scene(String(data="{not json"))


def test_the_node_plans_from_the_tracked_scene(graph):
    _, nodes = graph
    pub = nodes["person"].create_publisher(String, "/robomatrix/scene", comm.QOS_SENSOR_DATA)
    landed = {"in": None}

    def perception_after(skill):  # perception sees where the released can came to rest
        if skill == "release":
            scene = SceneObjects.from_names(["red can", "box"], contained={"red can": landed["in"]} if landed["in"] else {})
            pub.publish(String(data=json.dumps(scene.to_dict())))
            time.sleep(0.2)

    server, statuses, plans, dets, tasks = start(nodes, {"after": perception_after})
    held = SceneObjects.from_names(["red can", "box"], held="red can")
    pub.publish(String(data=json.dumps(held.to_dict())))
    assert wait_for(lambda: nodes["executive"].scene().held == "red can")
    landed["in"] = "box"
    tasks.publish(Task("put the red can in the box"))
    assert wait_for(lambda: statuses[-1].state in ("succeeded", "failed"))
    assert statuses[-1].state == "succeeded"
    assert server.goals == ["lift", "position_over", "release"]  # it is already in the gripper

    # a can that lands outside: the release is re-checked, retried, and the task replanned
    server.goals.clear()
    landed["in"] = None
    pub.publish(String(data=json.dumps(held.to_dict())))
    assert wait_for(lambda: nodes["executive"].scene().held == "red can")
    tasks.publish(Task("put the red can in the box"))
    assert wait_for(lambda: statuses[-1].state == "failed")  # it never lands in the box here
    assert "after letting go, the red can is not inside any container" in statuses[-1].message
    assert any(s.state == "replanning" for s in statuses[-20:]) and server.goals.count("release") > 2


def test_action_executor_reports_a_missing_server_as_a_failed_skill():
    with comm.Context() as ctx:
        node = comm.Node("lonely", context=ctx)
        result = ActionSkillExecutor(node, server_timeout_s=0.2).execute(SkillCall("lift", {"object": "red can"}))
        assert not result.success and "is skill_server running" in result.reason
        assert skill_spec("lift").time_limit_s > 0


class BlockOnceServer(FakeSkillServer):
    """Blocks the first goal of `skill` until it is canceled (the monitor has to stop it)."""

    def __init__(self, node, skill, after):
        super().__init__(node, after=after)
        self.skill, self.blocked = skill, False

    def execute(self, handle) -> dict:
        goal = handle.goal
        if goal["skill"] == self.skill and not self.blocked:
            self.blocked = True
            self.goals.append(goal["skill"])
            handle.wait_for_cancel(10)
            handle.canceled("canceled on request")
            return SkillResult(goal_id=goal["goal_id"], skill=goal["skill"], success=False,
                               reason=f"{goal['skill']} canceled").to_dict()
        return super().execute(handle)


def test_the_monitor_stops_a_carry_when_perception_sees_the_can_fall_and_the_task_recovers(graph):
    from robomatrix.hardware.conversions import odometry
    from robomatrix.msgs import Odometry

    _, nodes = graph
    person = nodes["person"]
    odom = person.create_publisher(Odometry, "/odom", 10)
    scenes = person.create_publisher(String, "/robomatrix/scene", comm.QOS_SENSOR_DATA)
    world = {"held": None, "contained": {}}

    def publish_scene():
        scene = SceneObjects.from_names(["red can", "box"], held=world["held"], contained=world["contained"])
        odom.publish(odometry((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0))
        scenes.publish(String(data=json.dumps(scene.to_dict())))

    def after(skill):
        world["held"] = "red can" if skill == "grasp" else None if skill == "release" else world["held"]
        if skill == "release":
            world["contained"] = {"red can": "box"}
        publish_scene()

    server = BlockOnceServer(nodes["skills"], "position_over", after)
    keep_all = comm.QoSProfile(depth=1000, durability=comm.Durability.TRANSIENT_LOCAL)
    statuses = collect(person, ExecutiveStatus, "/robomatrix/status", keep_all)
    tasks = person.create_json_publisher(Task, "/robomatrix/task", 10)
    publish_scene()
    assert wait_for(lambda: nodes["executive"].scene.view() is not None)
    tasks.publish(Task("put the red can in the box"))
    assert wait_for(lambda: server.blocked)
    world["held"] = None  # the can fell out of the gripper: perception stops seeing it held
    for _ in range(60):
        publish_scene()
        if statuses and statuses[-1].state in ("succeeded", "failed") or server.goals.count("move_to") > 1:
            break
        time.sleep(0.05)
    assert wait_for(lambda: statuses[-1].state in ("succeeded", "failed"))
    assert statuses[-1].state == "succeeded", statuses[-1]
    assert server.goals == ["move_to", "grasp", "lift", "position_over",
                            "move_to", "grasp", "lift", "position_over", "release"]
    assert any(s.state == "replanning" and "monitor stopped position_over" in s.message
               and "expected the red can in the gripper" in s.message for s in statuses)
    assert any(s.message.startswith("backtracking to step 1 move_to") for s in statuses)
