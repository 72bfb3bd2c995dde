"""The `robomatrix` CLI: help, exit codes (one line, no traceback), doctor, wiring, topic tools."""
import importlib
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from robomatrix.cli import main as cli_main
from robomatrix.cli.topic import fill_message, rate_report, to_plain
from robomatrix.errors import UsageError
from robomatrix.msgs import Image, Odometry, String, Twist

CLI = [sys.executable, "-m", "robomatrix.cli"]


def run_cli(*args, env=None, timeout=60):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def test_help_lists_every_command_with_a_description():
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    for name in cli_main.COMMAND_MODULES:
        command = importlib.import_module(f"robomatrix.cli.{name}").COMMAND  # train_planner → train-planner
        assert re.search(rf"^    {command}\s", proc.stdout, re.M), f"{command} missing from --help"
    assert run_cli("--version").stdout.startswith("robomatrix ")


@pytest.mark.parametrize("args,needle", [
    (["lanch"], "unknown command 'lanch'. Did you mean 'launch'?"),
    (["sim", "snapshot", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
    (["sim", "snapshot", "--scene", "ofice"], "Unknown scene 'ofice'. Did you mean 'office'?"),
    (["sim", "snapshot", "--sim", "bullet"], "Unknown simulator (--sim) 'bullet'. Did you mean 'pybullet'?"),
    (["launch", "no/such.launch.yaml"], "Launch file 'no/such.launch.yaml' not found"),
    (["launch", "launch/sim.launch.yaml", "sed:=3"], "Unknown launch argument 'sed'. Did you mean 'seed'?"),
    (["bench"], "`robomatrix bench` needs a subcommand"),
    (["bench", "tasks", "--goal-stop", "maybe"], "unknown value for --goal-stop 'maybe'. Valid: auto, on, off."),
    (["bench", "skills", "--variant", "office_placez"], "Unknown scenario variant 'office_placez'. Did you mean"),
    (["bench", "skills", "--variant", "office_places", "--skills", "push"],
     "scenario variant 'office_places' covers position_over, release, close_drawer, not push."),
    (["topic", "pub", "/cmd_vel", "geometry_msgs/msg/Twist", "{linear: {xx: 1}}", "--once"],
     "Unknown field 'linear.xx' in geometry_msgs/msg/Twist. Did you mean 'linear.x'?"),
    (["topic", "pub", "/cmd_vel", "geometry_msgs/msg/Twst", "--once"], "Did you mean 'geometry_msgs/msg/Twist'?"),
    (["topic", "pub", "/cmd_vel", "geometry_msgs/msg/Twist", "{linear: [1"], "not valid YAML"),
])
def test_usage_errors_exit_2_with_one_line_and_no_traceback(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robomatrix: error: "), proc.stderr
    assert needle in lines[0]


def test_debug_mode_shows_the_traceback():
    proc = run_cli("sim", "snapshot", "--scene", "ofice", env={"ROBOMATRIX_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_exit_codes_in_process(monkeypatch, capsys):
    from robomatrix.cli import doctor
    from robomatrix.errors import RoboMatrixError

    def interrupted():
        raise KeyboardInterrupt

    def failing():
        raise RoboMatrixError("the robot is unplugged")

    monkeypatch.setattr(doctor, "run_checks", interrupted)
    assert cli_main.main(["doctor"]) == 130
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(doctor, "run_checks", failing)
    assert cli_main.main(["doctor"]) == 1
    assert capsys.readouterr().err == "robomatrix: error: the robot is unplugged\n"
    assert cli_main.main([]) == 0 and "usage: robomatrix" in capsys.readouterr().out


def test_a_missing_piece_is_a_clear_error_not_a_crash():
    with pytest.raises(Exception) as info:
        cli_main.require("robomatrix.no_such_module", "`robomatrix frobnicate`")
    assert str(info.value) == "`robomatrix frobnicate` is not available: robomatrix.no_such_module missing."


def test_doctor_reports_every_check_as_json():
    proc = run_cli("doctor", "--json", timeout=120)
    report = json.loads(proc.stdout)
    names = {c["name"] for c in report["checks"]}
    for expected in ("python", "package mujoco", "package cyclonedds", "package torch", "package transformers",
                     "package opencv-python-headless", "package numpy", "mujoco rendering",
                     "cyclone dds (loopback)", "gpu", "ros 2 (rclpy)", "sentence-embedding model", "video (mp4)"):
        assert expected in names
    assert proc.returncode == (0 if report["ok"] else 1)
    for check in report["checks"]:
        assert check["ok"] or check["fix"], f"{check['name']} failed without a fix"
    assert report["ok"] == all(c["ok"] for c in report["checks"] if c["required"])
    assert not next(c for c in report["checks"] if c["name"] == "ros 2 (rclpy)")["required"]


def test_bench_json_prints_exactly_one_object_and_progress_goes_to_stderr(monkeypatch, capsys):
    import robomatrix.bench.sim as bench_sim

    def fake_bench(scene, seed):
        print("warming up the renderer")  # chatter must not reach stdout
        return {"benchmark": "sim", "scene": scene, "seed": seed, "physics": {"realtime_factor": 42.5}}

    monkeypatch.setattr(bench_sim, "run_sim_bench", fake_bench)
    assert cli_main.main(["bench", "sim", "--json", "--seed", "2"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"benchmark": "sim", "scene": "office", "seed": 2, "physics": {"realtime_factor": 42.5}}
    assert "warming up" in err
    assert cli_main.main(["bench", "sim"]) == 0
    assert "physics.realtime_factor  42.5" in capsys.readouterr().out


def test_snapshot_writes_a_png(tmp_path):
    out = tmp_path / "frame.png"
    proc = run_cli("sim", "snapshot", "--scene", "office", "--seed", "3", "--width", "96", "--height", "72",
                   "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and out.read_bytes()[:4] == b"\x89PNG"


def test_fill_message_sets_nested_fields_and_names_bad_ones():
    twist = fill_message(Twist, {"linear": {"x": 0.2}, "angular": {"z": -1}})
    assert (twist.linear.x, twist.angular.z, twist.linear.y) == (0.2, -1.0, 0.0)
    odom = fill_message(Odometry, {"header": {"frame_id": "odom", "stamp": {"sec": 3}},
                                   "pose": {"covariance": [0.5] * 36}})
    assert odom.header.stamp.sec == 3 and odom.pose.covariance[0] == 0.5
    with pytest.raises(UsageError, match=r"'header\.stamp\.sec' expects int, got 1\.5"):
        fill_message(Odometry, {"header": {"stamp": {"sec": 1.5}}})
    with pytest.raises(UsageError, match="needs 36 values, got 2"):
        fill_message(Odometry, {"pose": {"covariance": [1, 2]}})
    with pytest.raises(UsageError, match=r"Unknown field 'linear\.q'"):
        fill_message(Twist, {"linear": {"q": 1}})
    with pytest.raises(UsageError, match="must be a mapping"):
        fill_message(Twist, {"linear": 3})
    assert to_plain(Image(width=2, height=1, data=b"\x00" * 6))["data"] == "<6 bytes>"
    assert to_plain(String(data="hi")) == {"data": "hi"}


def test_rate_report():
    assert rate_report([0.0]) == "no new messages"
    assert rate_report([0.0, 0.1, 0.2, 0.3]).startswith("average rate: 10.000")


@pytest.mark.dds
def test_topic_pub_echo_and_list_between_processes():
    topic = f"/rm_cli_test_{uuid.uuid4().hex[:8]}"
    pub = subprocess.Popen([*CLI, "topic", "pub", topic, "std_msgs/msg/String", "{data: hello}", "--rate", "20"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        echo = run_cli("topic", "echo", topic, "--once", "--timeout", "20", timeout=60)
        assert echo.returncode == 0, echo.stderr
        assert echo.stdout == "data: hello\n---\n"  # the type was discovered from the publisher
        listed = run_cli("topic", "list", "-t", timeout=60)
        assert f"{topic} [std_msgs/msg/String]" in listed.stdout.splitlines()
        hz = run_cli("topic", "hz", topic, "--duration", "2.2", timeout=60)
        rates = [float(line.split()[-1]) for line in hz.stdout.splitlines() if line.startswith("average rate")]
        assert rates and 10 < rates[-1] < 30, hz.stdout
    finally:
        pub.terminate()
        pub.wait(timeout=10)
