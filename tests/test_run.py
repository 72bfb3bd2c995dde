"""`robomatrix run` / `robomatrix plan` end to end in one process (camera perception, scripted
skills, rule planner), their JSON, exit codes, video and MCAP log; `bench tasks` smoke test."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import cv2
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader

from robomatrix.bench import tasks as bench
from robomatrix.cli.main import main
from robomatrix.messages import Plan
from robomatrix.run import RunConfig, SimSession
from robomatrix.sim.scene import CabinetSpec, build_scene
from robomatrix.sim.tasks import OracleState, task

CAMERA = "160x120"
RUN_KEYS = {"success", "instruction", "plan", "steps", "replans", "sim_time_s", "wall_time_s"}


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_easy_task_json(capsys):
    code, out, err = run_cli(capsys, "run", "move to the green can", "--seed", "1", "--camera", CAMERA, "--json")
    result = json.loads(out)  # exactly one JSON object on stdout
    assert RUN_KEYS <= set(result)
    assert code == 0 and result["success"] is True, (result, err)
    assert result["plan"] == [{"skill": "move_to", "args": {"object": "green can"}}]
    assert [s["skill"] for s in result["steps"]] == ["move_to"]
    step = result["steps"][0]
    assert set(step) == {"skill", "args", "success", "duration_s"} and step["success"] and step["duration_s"] > 0
    assert result["replans"] == 0 and result["sim_time_s"] >= step["duration_s"] and result["wall_time_s"] > 0
    assert "[1/1] move_to(green can)" in err  # progress goes to stderr with --json


def test_run_medium_task_writes_video_and_a_readable_mcap(capsys, tmp_path):
    video, log = tmp_path / "run.mp4", tmp_path / "run.mcap"
    code, out, err = run_cli(capsys, "run", "put the red can in the box", "--seed", "2", "--camera", CAMERA,
                             "--video", str(video), "--log", str(log))
    assert code == 0, out + err
    assert out.startswith("Plan (5 steps, rule): put the red can in the box\n  1. move_to(red can)\n")
    assert "[5/5] release(red can)" in out and "succeeded: 5 skills" in out
    cap = cv2.VideoCapture(str(video))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) > 20 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 160
    cap.release()

    expected = {"/camera/color/image_raw": "sensor_msgs/msg/Image", "/camera/depth/image_raw": "sensor_msgs/msg/Image",
                "/camera/camera_info": "sensor_msgs/msg/CameraInfo", "/joint_states": "sensor_msgs/msg/JointState",
                "/odom": "nav_msgs/msg/Odometry", "/cmd_vel": "geometry_msgs/msg/Twist",
                "/robomatrix/plan": "std_msgs/msg/String", "/robomatrix/status": "std_msgs/msg/String",
                "/robomatrix/detections": "std_msgs/msg/String", "/robomatrix/task": "std_msgs/msg/String"}
    with AnyReader([Path(log)]) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        assert expected.items() <= types.items()
        plans = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()
                 if c.topic == "/robomatrix/plan"]
    assert Plan.from_json(plans[0].data).instruction == "put the red can in the box"
    with open(log, "rb") as f:
        decoded = {ch.topic: (schema.name, msg) for schema, ch, _, msg
                   in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages()}
    assert decoded["/camera/color/image_raw"][0] == "sensor_msgs/msg/Image"
    img = decoded["/camera/color/image_raw"][1]
    assert (img.width, img.height, img.encoding, len(img.data)) == (160, 120, "rgb8", 160 * 120 * 3)
    statuses = [json.loads(m.data)["state"] for s, m in [decoded["/robomatrix/status"]]]
    assert statuses == ["succeeded"]  # the last status


def test_unknown_object_exits_2_with_one_line(capsys):
    code, out, err = run_cli(capsys, "run", "put the purple can in the box", "--camera", CAMERA)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robomatrix: error:") and "purple" in lines[0]


@pytest.mark.parametrize("argv,message", [
    (["run", "open the drawer", "--camera", "big"], "--camera must look like"),
    (["run", "open the drawer", "--scene", "ofice"], "Did you mean 'office'"),
    (["plan", "open the drawer", "--planner", "rulez"], "Did you mean 'rule'"),
])
def test_bad_options_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_plan_json_from_perception(capsys):
    code, out, err = run_cli(capsys, "plan", "put the green can in the bin", "--seed", "3", "--camera", CAMERA,
                             "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"instruction", "steps", "planner"} and result["planner"] == "rule"
    skills = [s["skill"] for s in result["steps"]]
    assert skills[:3] == ["move_to", "grasp", "lift"] and skills[-2:] == ["position_over", "release"]
    assert result["steps"][-1]["args"] == {"object": "green can"}


def test_plan_looks_around_for_what_is_behind_the_robot():
    behind = dataclasses.replace(build_scene("drawer", 0), cabinet=CabinetSpec(pose=(-0.95, 0.0, 0.0)))
    with SimSession(RunConfig(camera_width=160, camera_height=120)) as session:
        session.reset(scene=behind)
        session.first_look()
        assert not session.scene_objects().has("drawer")
        plan = session.plan("open the drawer")
        pose = session.robot.get_state().base_pose
        scene = session.scene_objects()
    assert scene.has("drawer") and not scene.in_view("drawer")  # seen while turning, remembered
    assert [s.to_text() for s in plan.steps] == ["search(object='drawer')", "move_to(object='drawer')", "open_drawer()"]
    assert abs(pose[0]) < 0.02 and abs(pose[1]) < 0.02  # it only turned on the spot
    assert abs(math.remainder(pose[2], 2 * math.pi)) < 0.05  # and came back to its heading


def test_bench_tasks_smoke_agrees_with_the_oracle():
    cfg = bench.BenchConfig(episodes=1, seed=5, tasks=("grasp_blue", "red_in_box"), camera_width=160,
                            camera_height=120)
    rows = []
    for name in cfg.tasks:
        row = bench.run_episode(cfg, name, cfg.seed)
        spec = task(name)
        session = bench._session(cfg)
        # score again, independently, from the simulator state the episode left behind (ORACLE);
        # these two tasks' predicates read only the end state
        end = OracleState.capture(session.robot)
        assert spec.score(spec.build_scene(cfg.seed), end, end)[0] == row["success"]
        # one line per skill execution, in order, starting at 0 s
        assert len(row["timeline"]) == row["skills"] and row["timeline"][0].split()[:2] == ["0.0", "s"]
        if row["success"]:  # the plan's last step, done
            last = row["timeline"][-1]
            assert last.endswith(" ok") and last.split()[2].startswith({"grasp_blue": "grasp(", "red_in_box": "release("}[name])
        rows.append(row)
    result = bench.summarise(cfg, [task(n) for n in cfg.tasks], rows, 1.0)
    assert {"suite", "episodes", "success_rate", "per_task", "per_level"} <= set(result)
    assert set(result["per_task"]) == set(cfg.tasks) and set(result["per_level"]) == {"easy", "medium"}
    for name in cfg.tasks:
        t = result["per_task"][name]
        assert t["episodes"] == 1 and t["successes"] == int(next(r for r in rows if r["task"] == name)["success"])
    assert result["success_rate"] == sum(r["success"] for r in rows) / 2
    assert len(result["failures"]) == sum(not r["success"] for r in rows)


def test_bench_timeline_lists_each_execution_with_its_start_and_reason():
    from robomatrix.executive import StepRecord

    steps = [StepRecord(0, "search", {"object": "red can"}, True, 2.5),
             StepRecord(1, "move_to", {"object": "red can"}, False, 40.0, "move_to ran out of time (40 s)"),
             StepRecord(1, "move_to", {"object": "red can"}, True, 3.25, attempt=2)]
    assert bench.timeline(steps) == [
        "   0.0 s  search(object='red can')  2.5 s  ok",
        "   2.5 s  move_to(object='red can')  40.0 s  FAILED: move_to ran out of time (40 s)",
        "  42.5 s  move_to(object='red can')  3.2 s  ok"]


def test_run_json_says_why_each_failed_step_failed():
    from robomatrix.executive import ExecutionReport, StepRecord
    from robomatrix.run import RunResult

    report = ExecutionReport("pick up the red can", "failed", "step 2 grasp(object='red can') failed", steps=[
        StepRecord(0, "move_to", {"object": "red can"}, True, 3.0),
        StepRecord(1, "grasp", {"object": "red can"}, False, 0.1, "grasp: the red can lies on its side")])
    steps = RunResult("pick up the red can", report, 3.1, 5.0).to_dict()["steps"]
    assert "reason" not in steps[0] and steps[1]["reason"] == "grasp: the red can lies on its side"
