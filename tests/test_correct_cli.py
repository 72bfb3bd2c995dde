"""`robomatrix correct` and the correction topics: bad input, no executive, and the executive node's
answer on /robomatrix/status; motion adjustments reaching a skill server's runner over a topic."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from robomatrix import comm
from robomatrix.cli.main import main
from robomatrix.messages import Correction, ExecutiveStatus, SkillAdjust
from robomatrix.skills.runner import MotionOffset


@pytest.mark.parametrize("argv, says", [
    (["correct", "   "], "the correction is empty"),
    (["correct", "a bit to the left", "--timeout", "0"], "--timeout must be > 0"),
    (["correct"], "the following arguments are required: text"),
])
def test_bad_input_is_one_line_and_exit_2(argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_without_an_executive_it_says_so_and_exits_1(capsys):
    assert main(["correct", "a bit to the left", "--timeout", "0.5"]) == 1
    assert "no executive listens on /robomatrix/correction" in capsys.readouterr().err


def _spin(ctx_nodes):
    executor = comm.Executor(ctx_nodes)
    threading.Thread(target=executor.spin, daemon=True).start()
    return executor


def test_the_executive_node_answers_a_correction_on_the_status_topic(tmp_path):
    from robomatrix.executive.node import ExecutiveNode

    with comm.Context() as ctx:
        person = comm.Node("person", context=ctx)
        exe = ExecutiveNode(context=ctx, parameter_overrides={"corrections_memory": str(tmp_path)})
        heard: list[ExecutiveStatus] = []
        person.create_json_subscription(ExecutiveStatus, "/robomatrix/status",
                                        lambda s: heard.append(s) if s.correction else None, 10)
        pub = person.create_json_publisher(Correction, "/robomatrix/correction", 10)
        executor = _spin([person, exe])
        try:
            pub.publish(Correction(text="cancel the task"))
            pub.publish(Correction(text="flibber"))
            deadline = time.monotonic() + 5
            while len(heard) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            executor.shutdown()
            exe.destroy_node()
    assert [s.correction for s in heard] == ["cancel the task", "flibber"]
    assert all(s.correction_level == "question" for s in heard)  # no task runs; not understood
    assert "No task is running" in heard[0].message and "did not understand" in heard[1].message
    assert (tmp_path / "corrections.jsonl").read_text().count("\n") == 2


def test_skill_adjust_topic_reaches_the_runner():
    from robomatrix.corrections.node import attach_skill_adjust
    from robomatrix.messages import SkillCall

    class Runner:
        def __init__(self):
            self.offset_sources, self.adjusted = [], []

        def adjust(self, offset):
            self.adjusted.append(offset)
            return ""

    runner = Runner()
    with comm.Context() as ctx:
        server, person = comm.Node("skill_server", context=ctx), comm.Node("person", context=ctx)
        attach_skill_adjust(server, runner)
        pub = person.create_json_publisher(SkillAdjust, "/robomatrix/skill_adjust", 10)
        executor = _spin([server, person])
        try:
            pub.publish(SkillAdjust(offset=MotionOffset(base_dy_m=0.03).to_dict()))
            pub.publish(SkillAdjust(offset=MotionOffset(arm_dz_m=-0.02).to_dict(), scope="skill", skill="grasp",
                                    noun="can"))
            # said while grasp(blue can) ran: that call has it as a running adjustment, also on its retries
            pub.publish(SkillAdjust(offset=MotionOffset(arm_dx_m=0.01).to_dict(), scope="skill", skill="grasp",
                                    noun="can", except_call=SkillCall("grasp", {"object": "blue can"}).to_text()))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and runner.offset_sources[0](SkillCall("grasp", {"object": "red can"})) != \
                    MotionOffset(arm_dx_m=0.01, arm_dz_m=-0.02):
                time.sleep(0.02)
        finally:
            executor.shutdown()
    assert runner.adjusted == [MotionOffset(base_dy_m=0.03)]
    (standing,) = runner.offset_sources
    assert standing(SkillCall("grasp", {"object": "red can"})) == MotionOffset(arm_dx_m=0.01, arm_dz_m=-0.02)
    assert standing(SkillCall("grasp", {"object": "blue can"})) == MotionOffset(arm_dz_m=-0.02)  # not twice
    assert standing(SkillCall("lift", {"object": "red can"})) is None


def test_a_correction_on_the_topic_changes_the_running_task_of_the_executive_node(tmp_path):
    """Graph wiring end to end over inproc: a blocked skill is preempted by "no, the blue one", the
    new plan goes out on /robomatrix/plan and the task finishes on the blue can."""
    from robomatrix.executive.node import ExecutiveNode
    from robomatrix.messages import Detection, Detections, Plan, SkillResult, Task

    goals, block = [], threading.Event()
    block.set()

    def serve(handle) -> dict:
        goal = handle.goal
        goals.append((goal["skill"], goal["args"].get("object")))
        if block.is_set() and handle.wait_for_cancel(10):
            handle.canceled("canceled on request")
            return SkillResult(goal_id=goal["goal_id"], skill=goal["skill"], success=False, reason="canceled").to_dict()
        return SkillResult(goal_id=goal["goal_id"], skill=goal["skill"], success=True, duration_s=1.0).to_dict()

    with comm.Context() as ctx:
        skills, person = comm.Node("skills", context=ctx), comm.Node("person", context=ctx)
        comm.ActionServer(skills, "/robomatrix/skill", serve)
        exe = ExecutiveNode(context=ctx, parameter_overrides={"corrections_memory": str(tmp_path), "scene_wait_s": 5.0})
        keep = comm.QoSProfile(depth=1000, durability=comm.Durability.TRANSIENT_LOCAL)
        statuses, plans = [], []
        person.create_json_subscription(ExecutiveStatus, "/robomatrix/status", statuses.append, keep)
        person.create_json_subscription(Plan, "/robomatrix/plan", plans.append, keep)
        dets = person.create_json_publisher(Detections, "/robomatrix/detections", comm.QOS_SENSOR_DATA)
        tasks = person.create_json_publisher(Task, "/robomatrix/task", 10)
        said = person.create_json_publisher(Correction, "/robomatrix/correction", 10)
        from robomatrix.hardware.conversions import rgb_to_image
        from robomatrix.msgs import Image

        camera = person.create_publisher(Image, "/camera/color/image_raw", comm.QOS_SENSOR_DATA)
        executor = _spin([skills, person, exe])
        try:
            dets.publish(Detections(stamp=1.0, detections=[Detection(n, [0, 0, 10, 10], [0.6, 0.0, 0.06], 0.9)
                                                           for n in ("red can", "blue can", "box")]))
            deadline = time.monotonic() + 10
            while not exe.scene().has("blue can") and time.monotonic() < deadline:
                time.sleep(0.01)
            tasks.publish(Task("put the red can in the box", id="t1"))
            while goals != [("move_to", "red can")] and time.monotonic() < deadline:
                time.sleep(0.01)
            camera.publish(rgb_to_image(np.full((24, 32, 3), 120, np.uint8), 1.0))  # what the person saw
            time.sleep(0.1)
            block.clear()
            said.publish(Correction(text="no, the blue one"))
            while not any(s.state in ("succeeded", "failed") and s.task_id == "t1" for s in statuses) \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            executor.shutdown()
            exe.destroy_node()
    assert [s.state for s in statuses if s.task_id == "t1"][-1] == "succeeded"
    assert [s.correction_level for s in statuses if s.correction] == ["skill"]
    assert {c.args.get("object") for c in plans[-1].steps[:]} >= {"blue can"} and len(plans) == 2
    record = json.loads((tmp_path / "corrections.jsonl").read_text().splitlines()[0])
    assert record["text"] == "no, the blue one" and record["rules"] == [{"kind": "object", "from": "red can",
                                                                         "to": "blue can"}]
    assert record["frame"] and (tmp_path / record["frame"]).exists()
    assert goals[0] == ("move_to", "red can") and goals[1:] == [("move_to", "blue can"), ("grasp", "blue can"),
                                                                ("lift", "blue can"), ("position_over", "blue can"),
                                                                ("release", "blue can")]


def test_correct_over_dds_prints_the_executive_answer(tmp_path, capsys):
    """The real command against an executive node on the DDS transport (loopback, this session's domain)."""
    from robomatrix.executive.node import ExecutiveNode

    with comm.Context(transport="dds") as ctx:
        exe = ExecutiveNode(context=ctx, parameter_overrides={"corrections_memory": str(tmp_path)})
        executor = _spin([exe])
        try:
            code = main(["correct", "flibber the flange", "--timeout", "10"])
            out = capsys.readouterr().out
            assert code == 1 and out.startswith("question: Sorry, I did not understand 'flibber the flange'")
            assert main(["correct", "stop", "--timeout", "10", "--json"]) == 1  # no task runs: asked back
            status = ExecutiveStatus.from_json(capsys.readouterr().out.strip())
            assert status.correction == "stop" and "No task is running" in status.message
        finally:
            executor.shutdown()
            exe.destroy_node()
