"""The console without a browser: input validation, the teleop watchdog, plan step states, the
web app's access rules (token, loopback, origin), and the graph node driving a simulated robot
in one process (inproc transport). The page itself is tested in test_console_browser.py."""
import json
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from robomatrix import comm
from robomatrix.cli.main import main as cli_main
from robomatrix.console.backend import ConsoleBackend
from robomatrix.console.model import ConsoleModel, step_states
from robomatrix.console.protocol import (
    ConsoleInputError,
    ControlCommand,
    RecordCommand,
    TeleopCommand,
    TextCommand,
    parse_message,
)
from robomatrix.console.server import check_bind, create_app
from robomatrix.console.teleop import Teleop, TeleopLimits
from robomatrix.errors import UsageError
from robomatrix.messages import Correction, ExecutiveStatus, Plan, SkillCall, Task
from robomatrix.msgs import Bool, Odometry


# ---------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("raw, expected", [
    ('{"type": "task", "text": "  put the red can\\n in the box "}', TextCommand("task", "put the red can in the box")),
    ('{"type": "correction", "text": "a bit to the left"}', TextCommand("correction", "a bit to the left")),
    ('{"type": "stop"}', ControlCommand("stop")),
    ('{"type": "estop", "engaged": false}', ControlCommand("estop", False)),
    ('{"type": "teleop", "base": [1, 0, -0.5], "arm": [0, 1], "gripper": 0}',
     TeleopCommand((1.0, 0.0, -0.5), (0.0, 1.0), 0.0)),
    ('{"type": "record", "action": "start", "skill": "grasp", "args": {"object": "red can", "x": " "}}',
     RecordCommand("start", "grasp", {"object": "red can"})),
])
def test_valid_messages_become_typed_commands(raw, expected):
    assert parse_message(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"type": "tsak", "text": "x"}', "did you mean 'task'?"),
    ('{"type": "task", "text": ""}', "text is empty"),
    ('{"type": "task", "text": 5}', "needs a text string"),
    ('{"type": "task", "text": "' + "a" * 600 + '"}', "at most 500"),
    ('{"type": "task", "txt": "x"}', "did you mean 'text'?"),
    ('{"type": "teleop", "base": [2, 0, 0], "arm": [0, 0]}', "within -1..1"),
    ('{"type": "teleop", "base": [0, 0], "arm": [0, 0]}', "list of 3 numbers"),
    ('{"type": "teleop", "base": [0, 0, true], "arm": [0, 0]}', "finite numbers"),
    ('{"type": "teleop", "base": [0, 0, 0], "arm": [0, 0], "gripper": 3}', "within 0..1"),
    ('{"type": "estop", "engaged": "yes"}', "true or false"),
    ('{"type": "record", "action": "pause"}', "record action must be one of"),
    ('{"type": "record", "action": "start"}', "needs a skill"),
    ('{"type": "task", "text": "' + "a" * 5000 + '"}', "message too long"),
])
def test_bad_messages_are_refused_with_a_reason(raw, reason):
    with pytest.raises(ConsoleInputError, match=None) as err:
        parse_message(raw)
    assert reason in str(err.value)
    with pytest.raises(ConsoleInputError, match="binary"):
        parse_message(b"\x00")


# ---------------------------------------------------------------------------- teleop
def test_teleop_scales_rates_integrates_the_arm_and_stops_on_silence():
    t = Teleop(TeleopLimits(base_speed_mps=0.4, yaw_rate_radps=1.0, arm_speed_mps=0.1, timeout_s=0.5))
    assert t.action(0.0, (0.22, 0.16)) is None  # nobody drives: others may command the robot
    t.command((1.0, -0.5, 0.5), (0.0, 1.0), None, now_s=0.0)
    a = t.action(0.0, (0.22, 0.16))
    assert a.base_velocity == pytest.approx((0.4, -0.2, 0.5)) and a.arm_target == pytest.approx((0.22, 0.16))
    a = t.action(0.1, (0.22, 0.16))  # 0.1 s at 0.1 m/s up
    assert a.arm_target == pytest.approx((0.22, 0.17))
    for k in range(2, 40):  # held for 3.9 s: clamped at the top of the workspace
        t.command((1.0, -0.5, 0.5), (0.0, 1.0), None, now_s=k * 0.1)
        a = t.action(k * 0.1, (0.22, 0.16))
    assert a.arm_target[1] == pytest.approx(0.30)
    a = t.action(3.9 + 0.6, (0.22, 0.30))  # silent for 0.6 s: the watchdog stops all motion
    assert a.base_velocity == (0.0, 0.0, 0.0) and t.watchdog_tripped and not t.moving
    assert a.arm_target == pytest.approx((0.22, 0.30))  # the arm holds where it is
    t.command((0, 0, 0), (0, 0), 0.0, now_s=5.0)
    assert t.action(5.0, (0.22, 0.30)).gripper == 0.0 and not t.watchdog_tripped
    t.release()
    assert t.action(5.1, (0.22, 0.30)) is None and not t.engaged


# ---------------------------------------------------------------------------- plan view
def test_step_states_follow_the_executive_status():
    plan = Plan("put the red can in the box", [SkillCall("move_to", {"object": "red can"}),
                                               SkillCall("grasp", {"object": "red can"}), SkillCall("lift")])
    status = ExecutiveStatus(state="executing", step_index=1, plan_id=plan.id, step_count=3)
    assert step_states(plan, status, {}) == ["done", "running", "pending"]
    assert step_states(plan, status, {0: False}) == ["failed", "running", "pending"]
    failed = ExecutiveStatus(state="failed", step_index=2, plan_id=plan.id)
    assert step_states(plan, failed, {0: True, 1: True}) == ["done", "done", "failed"]
    assert step_states(plan, ExecutiveStatus(state="succeeded", plan_id=plan.id), {}) == ["done"] * 3
    paused = ExecutiveStatus(state="paused", step_index=1, plan_id=plan.id)
    assert step_states(plan, paused, {}) == ["done", "paused", "pending"]
    other = ExecutiveStatus(state="executing", step_index=1, plan_id="another plan")
    assert step_states(plan, other, {}) == ["pending"] * 3
    assert step_states(None, status, {}) == []


# ---------------------------------------------------------------------------- web app
class RecordingBackend(ConsoleBackend):
    """A backend that only remembers what the page asked for (web-app tests)."""

    def __init__(self):
        self.model = ConsoleModel("sim")
        self.calls = []

    def submit_task(self, text):
        self.calls.append(("task", text))

    def correct(self, text):
        self.calls.append(("correction", text))

    def stop(self):
        self.calls.append(("stop",))

    def resume(self):
        raise ConsoleInputError("resume refused by this backend")

    def set_estop(self, engaged):
        self.calls.append(("estop", engaged))

    def teleop(self, command):
        self.calls.append(("teleop", command.base))

    def teleop_release(self):
        self.calls.append(("release",))

    def record(self, command):
        self.calls.append(("record", command.action))

    def close(self):
        pass


def test_binding_beyond_loopback_needs_a_token():
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "a-long-token")
    with pytest.raises(UsageError, match="--token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(UsageError, match="at least 8"):
        check_bind("127.0.0.1", "short")
    assert cli_main(["console", "--host", "0.0.0.0"]) == 2
    assert cli_main(["run", "--console", "--host", "192.168.1.5", "--port", "0"]) == 2


def test_token_guards_the_page_and_the_websocket():
    backend = RecordingBackend()
    client = TestClient(create_app(backend, token="s3cret-token"))
    assert client.get("/").status_code == 401
    assert client.get("/static/app.js").status_code == 401
    assert client.get("/?token=wrong-token").status_code == 401
    page = client.get("/?token=s3cret-token")
    assert page.status_code == 200 and "RoboMatrix" in page.text
    assert client.get("/static/app.js").status_code == 200  # the cookie set with the page
    assert client.get("/static/../server.py").status_code == 404
    with pytest.raises(WebSocketDisconnect):
        with TestClient(create_app(backend, token="s3cret-token")).websocket_connect("/ws") as ws:
            ws.receive_text()
    with client.websocket_connect("/ws?token=s3cret-token") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"


def test_websocket_refuses_other_origins_and_answers_bad_input_with_errors():
    backend = RecordingBackend()
    client = TestClient(create_app(backend), base_url="http://127.0.0.1:8765")
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"host": "127.0.0.1:8765", "origin": "http://evil.example"}) as ws:
            ws.receive_text()
    # DNS rebinding: evil.example resolving to 127.0.0.1 is same-origin with itself; its Host is not loopback
    rebound = TestClient(create_app(backend), base_url="http://evil.example:8765")
    assert rebound.get("/").status_code == 403
    with pytest.raises(WebSocketDisconnect):
        with rebound.websocket_connect("/ws", headers={"host": "evil.example:8765",
                                                       "origin": "http://evil.example:8765"}) as ws:
            ws.receive_text()
    assert client.get("/").status_code == 200
    with client.websocket_connect("/ws", headers={"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}) as ws:
        hello = json.loads(ws.receive_text())
        assert hello["type"] == "hello" and "grasp" in [s["name"] for s in hello["skills"]]

        def reply_to(message: str) -> dict:
            ws.send_text(message)
            while True:
                msg = json.loads(ws.receive_text())
                if msg["type"] == "error":
                    return msg

        assert "not valid JSON" in reply_to("{oops")["message"]
        assert "within -1..1" in reply_to('{"type": "teleop", "base": [9, 0, 0], "arm": [0, 0]}')["message"]
        assert "resume refused" in reply_to('{"type": "resume"}')["message"]
        ws.send_text('{"type": "task", "text": "put the red can in the box"}')
        ws.send_text('{"type": "teleop", "base": [1, 0, 0], "arm": [0, 0]}')
        assert "unknown message type" in reply_to('{"type": "x"}')["message"]  # still connected
    assert ("task", "put the red can in the box") in backend.calls
    assert ("teleop", (1.0, 0.0, 0.0)) in backend.calls
    assert backend.calls[-1] == ("release",)  # a closed connection stops teleop motion


# ---------------------------------------------------------------------------- graph node (inproc)
def test_console_node_drives_the_hardware_node_and_publishes_task_correction_estop(tmp_path):
    from robomatrix.console.node import ConsoleNode
    from robomatrix.hardware.hardware_node import HardwareNode
    from robomatrix.skills.data.format import DatasetReader, read_index

    ctx = comm.Context(transport="inproc")
    hw = HardwareNode(context=ctx, parameter_overrides={"camera_width": 96, "camera_height": 72, "scene": "pick"})
    console = ConsoleNode(context=ctx, parameter_overrides={"serve": False, "record_dir": str(tmp_path / "demos")})
    spy = comm.Node("spy", context=ctx)
    tasks, corrections, estops, odom = [], [], [], []
    spy.create_json_subscription(Task, "/robomatrix/task", tasks.append, 10)
    spy.create_json_subscription(Correction, "/robomatrix/correction", corrections.append, 10)
    spy.create_subscription(Bool, "/robomatrix/estop", estops.append, comm.QOS_LATCHED)
    spy.create_subscription(Odometry, "/odom", odom.append, 100)
    executor = comm.Executor([hw, console, spy])

    def spin_for(seconds, drive=None):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if drive is not None:
                console.teleop(drive)
            executor.spin_once(timeout_sec=0.02)

    try:
        spin_for(0.3)
        x0 = console.model.odom[0]
        spin_for(1.0, TeleopCommand((1.0, 0.0, 0.0), (0.0, 0.0), None))
        assert console.model.odom[0] - x0 > 0.1  # forward at 0.3 m/s for about a second
        assert console.model.frame() is not None and console.model.frame().width == 96
        spin_for(0.8)  # silent teleop: the console's watchdog, then the hardware's, stop the base
        assert console.model.teleop == "stopped by watchdog"
        assert abs(odom[-1].twist.twist.linear.x) < 0.02
        # a teleoperated demonstration over the topics: one step per camera frame
        console.handle(parse_message('{"type": "record", "action": "start", "skill": "nudge", '
                                     '"args": {"direction": "up"}}'))
        spin_for(1.0, TeleopCommand((0.0, 0.0, 0.0), (0.0, 1.0), None))
        spin_for(0.3)
        console.handle(parse_message('{"type": "record", "action": "stop"}'))
        (meta,) = read_index(tmp_path / "demos")
        assert (meta["source"], meta["skill"], meta["success"]) == ("teleop", "nudge", True), meta["outcome"]
        assert 5 <= meta["steps"] and 5.0 < meta["control_rate_hz"] < 30.0  # the camera's rate (15 Hz)
        episode = DatasetReader(tmp_path / "demos").load(0)
        assert episode.rgb(0).shape == (72, 96, 3) and episode.action[-1, 4] > episode.action[0, 4] + 0.05
        console.handle(parse_message('{"type": "task", "text": "put the red can in the box"}'))
        console.handle(parse_message('{"type": "correction", "text": "no, the blue one"}'))
        console.handle(parse_message('{"type": "stop"}'))
        console.handle(parse_message('{"type": "estop", "engaged": true}'))
        spin_for(0.2)
        assert [t.instruction for t in tasks] == ["put the red can in the box"] and tasks[0].source == "console"
        assert [c.text for c in corrections] == ["no, the blue one", "stop"]
        assert estops[-1].data is True and hw.gate.estop_engaged and console.model.estop
        with pytest.raises(ConsoleInputError, match="e-stop"):
            console.teleop(TeleopCommand((1.0, 0.0, 0.0), (0.0, 0.0), None))
        console.handle(parse_message('{"type": "estop", "engaged": false}'))
        spin_for(0.1)
        assert not hw.gate.estop_engaged
        console.model.set_status(ExecutiveStatus(state="executing", step_index=0))
        with pytest.raises(ConsoleInputError, match="task is running"):
            console.teleop(TeleopCommand((1.0, 0.0, 0.0), (0.0, 0.0), None))
    finally:
        executor.shutdown()
        for node in (console, hw, spy):
            node.destroy_node()
        ctx.shutdown()


@pytest.mark.dds
def test_console_node_attaches_to_a_launched_graph_over_dds():
    """`robomatrix launch launch/sim.launch.yaml with_console:=true` (hardware node + console node,
    two processes over DDS on loopback): camera frames reach the page, teleop moves the robot."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from websockets.sync.client import connect

    with socket.socket() as s:  # a free port for the console
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "robomatrix"), "launch",
                             str(root / "launch/sim.launch.yaml"), "with_stack:=false", "with_console:=true",
                             f"console_port:={port}", "camera_width:=96", "camera_height:=72"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ws = connect(f"ws://127.0.0.1:{port}/ws", open_timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "the console node did not come up"
                time.sleep(0.2)
        with ws:
            states, frames = [], 0
            end = time.monotonic() + 30
            while frames < 3 or not states or states[-1]["frame"] is None:
                assert time.monotonic() < end, "no camera frames over DDS"
                msg = ws.recv(timeout=5)
                if isinstance(msg, bytes):
                    frames += 1
                elif json.loads(msg)["type"] == "state":
                    states.append(json.loads(msg))
            assert states[-1]["mode"] == "graph" and states[-1]["frame"]["width"] == 96
            x0 = states[-1]["odom"][0]
            for _ in range(20):
                ws.send('{"type": "teleop", "base": [1, 0, 0], "arm": [0, 0]}')
                time.sleep(0.05)
            end = time.monotonic() + 10
            while True:
                msg = ws.recv(timeout=5)
                if isinstance(msg, str) and json.loads(msg)["type"] == "state":
                    odom_x = json.loads(msg)["odom"][0]
                    if odom_x - x0 > 0.1:
                        break
                assert time.monotonic() < end, f"teleop over DDS did not move the robot (x {x0} -> {odom_x})"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        out = proc.communicate(timeout=30)[0]
    assert "'console' stopped (exited with code 0)" in out, out[-2000:]
