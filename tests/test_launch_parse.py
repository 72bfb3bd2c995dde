"""ROS 2 YAML launch files: parsing, substitutions, scopes, and errors that name the line."""
import sys
import textwrap
from pathlib import Path

import pytest

from robomatrix.errors import UsageError
from robomatrix.launch import package_share, parse_launch_file

ROOT = Path(__file__).resolve().parent.parent
SIM_LAUNCH = ROOT / "launch" / "sim.launch.yaml"


def write(tmp_path, text, name="test.launch.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def ros_args(proc) -> list[str]:
    return proc.cmd[proc.cmd.index("--ros-args") + 1:]


def test_sim_launch_defaults_start_the_whole_stack_with_its_parameters():
    plan = parse_launch_file(SIM_LAUNCH)
    assert plan.argument_values() == {
        "backend": "mujoco", "hardware": "sim", "profile": "sim", "scene": "office", "seed": "0", "camera_width": "320", "camera_height": "240",
        "camera_rate_hz": "15.0", "control_rate_hz": "50.0", "use_sim_time": "false", "with_stack": "true",
        "planner": "rule", "policy": "scripted", "skill_rate_hz": "20.0", "skill_camera_every_n": "2",
        "goal_stop": "auto", "with_console": "false", "console_host": "127.0.0.1", "console_port": "8765", "corrections_memory": ""}
    hardware, perception, skills, executive = plan.processes
    assert [p.label for p in plan.processes] == ["hardware_node", "perception_node", "skill_server", "executive"]
    assert (hardware.kind, hardware.pkg, hardware.exec, hardware.node_name, hardware.namespace) == (
        "node", "robomatrix", "hardware_node", "hardware_node", "/")
    assert hardware.params["scene"] == "office" and hardware.params["seed"] == "0"
    assert hardware.cmd[:4] == [sys.executable, "-m", "robomatrix.launch.run_node", "hardware_node"]
    args = ros_args(hardware)
    assert args[:2] == ["-r", "__node:=hardware_node"]
    assert "seed:=0" in args and "backend:=mujoco" in args and "publish_clock:=false" in args
    # The hardware node is the clock source; the other nodes read /clock only with use_sim_time.
    assert "use_sim_time" not in hardware.params
    for node in (perception, skills, executive):
        assert node.exec == node.node_name and node.params["use_sim_time"] == "false"
    assert skills.params == {"use_sim_time": "false", "policy": "scripted", "control_rate_hz": "20.0",
                             "camera_every_n": "2", "goal_stop": "auto", "corrections_memory": ""}
    assert executive.params == {"use_sim_time": "false", "planner": "rule", "corrections_memory": ""}


def test_sim_launch_overrides_reach_the_node_command_lines():
    plan = parse_launch_file(SIM_LAUNCH, ["seed:=3", "scene:=drawer", "camera_width:=160", "use_sim_time:=true",
                                          "planner:=tree", "policy:=neural"])
    hardware, perception, skills, executive = plan.processes
    assert hardware.params["seed"] == "3" and hardware.params["scene"] == "drawer"
    assert hardware.params["camera_width"] == "160" and hardware.params["publish_clock"] == "true"
    assert "seed:=3" in ros_args(hardware)
    assert plan.argument_values()["camera_height"] == "240"
    assert all(n.params["use_sim_time"] == "true" for n in (perception, skills, executive))
    assert skills.params["policy"] == "neural" and "planner:=tree" in ros_args(executive)


def test_sim_launch_without_the_stack_starts_the_hardware_node_alone():
    [node] = parse_launch_file(SIM_LAUNCH, ["with_stack:=false"]).processes
    assert node.node_name == "hardware_node"


def test_the_node_command_lines_parse_back_with_their_declared_types():
    from robomatrix.comm.names import parse_ros_args_full

    hardware, perception, skills, executive = parse_launch_file(SIM_LAUNCH, ["seed:=4"]).processes
    parsed = parse_ros_args_full(hardware.cmd[4:])
    assert parsed.params["seed"] == 4 and parsed.params["camera_rate_hz"] == 15.0
    assert parsed.params["publish_clock"] is False and parsed.remaps["__node"] == "hardware_node"
    parsed = parse_ros_args_full(skills.cmd[4:])
    # same types as the node's declare_parameter defaults (a mismatch fails at start-up)
    assert parsed.params == {"use_sim_time": False, "policy": "scripted", "control_rate_hz": 20.0,
                             "camera_every_n": 2, "goal_stop": "auto", "corrections_memory": ""}
    assert parse_ros_args_full(executive.cmd[4:]).params == {"use_sim_time": False, "planner": "rule",
                                                                 "corrections_memory": ""}


def test_undeclared_argument_is_refused_with_the_declared_names():
    with pytest.raises(UsageError, match=r"Unknown launch argument 'secne'\. Did you mean 'scene'\?.*backend"):
        parse_launch_file(SIM_LAUNCH, ["secne:=office"])
    with pytest.raises(UsageError, match="name:=value"):
        parse_launch_file(SIM_LAUNCH, ["seed=3"])


def test_find_pkg_share_resolves_to_a_folder_with_the_launch_files():
    share = package_share("robomatrix")
    assert (share / "package.xml").is_file() and (share / "launch" / "sim.launch.yaml").is_file()
    with pytest.raises(UsageError, match="no_such_pkg"):
        package_share("no_such_pkg")


def test_substitutions_groups_namespaces_remaps_params_and_conditions(tmp_path, monkeypatch):
    monkeypatch.setenv("RM_TEST_ROBOT", "ep1")
    monkeypatch.delenv("RM_TEST_UNSET", raising=False)
    params = write(tmp_path, "talker:\n  ros__parameters:\n    gain: 2.5\n", "params.yaml")
    path = write(tmp_path, f"""
        launch:
        - arg: {{name: rate, default: "10"}}
        - arg: {{name: robot, default: $(env RM_TEST_ROBOT)}}
        - arg: {{name: with_viewer, default: "false"}}
        - let: {{name: topic, value: "/$(var robot)/cmd_vel"}}
        - node:
            pkg: robomatrix
            exec: talker
            name: talker
            namespace: $(var robot)
            param:
            - {{name: rate, value: $(var rate)}}
            - {{name: mode, value: $(optenv RM_TEST_UNSET fallback)}}
            - {{name: gains, value: [1, 2]}}
            - {{name: enabled, value: true}}
            - {{from: {params.name}}}
            remap:
            - {{from: cmd_vel, to: $(var topic)}}
        - group:
          - push-ros-namespace: {{namespace: arm}}
          - set_remap: {{from: /tf, to: tf}}
          - let: {{name: robot, value: inner}}
          - node: {{pkg: robomatrix, exec: listener, name: listener, namespace: sub}}
          - node: {{pkg: robomatrix, exec: listener, name: absolute, namespace: /abs}}
        - node: {{pkg: robomatrix, exec: viewer, if: $(var with_viewer)}}
        - node: {{pkg: robomatrix, exec: viewer, name: no_viewer, unless: $(not $(var with_viewer))}}
        - executable: {{cmd: "echo $(var robot) '$(dirname)'", name: echoer}}
        """)
    plan = parse_launch_file(path, {"rate": "20"})
    talker, listener, absolute, echoer = plan.processes
    assert talker.namespace == "/ep1" and talker.params == {
        "rate": "20", "mode": "fallback", "gains": "[1, 2]", "enabled": "true"}
    assert talker.params_files == [str(params.resolve())]
    assert talker.remaps == {"cmd_vel": "/ep1/cmd_vel"}
    assert ["-r", "__ns:=/ep1"] == ros_args(talker)[2:4]
    assert ["--params-file", str(params.resolve())] == ros_args(talker)[4:6]
    # group: pushed namespace joins relative node namespaces, an absolute one wins; scoped `let`/remaps
    assert listener.namespace == "/arm/sub" and absolute.namespace == "/abs"
    assert listener.remaps == {"/tf": "tf"}
    assert echoer.cmd == ["echo", "ep1", str(tmp_path.resolve())], "the group's let leaked out of its scope"
    assert [p.label for p in plan.processes] == ["talker", "listener", "absolute", "echoer"]


def test_include_passes_arguments_and_scopes_its_lets(tmp_path):
    write(tmp_path, """
        launch:
        - arg: {name: who, default: nobody}
        - let: {name: inner_only, value: x}
        - node: {pkg: robomatrix, exec: greeter, name: $(var who)}
        """, "child.launch.yaml")
    path = write(tmp_path, """
        launch:
        - arg: {name: name, default: alice}
        - include:
            file: $(dirname)/child.launch.yaml
            arg:
            - {name: who, value: $(var name)}
        - include: {file: child.launch.yaml}
        """)
    plan = parse_launch_file(path, ["name:=bob"])
    assert [p.node_name for p in plan.processes] == ["bob", "nobody"]
    assert [p.label for p in plan.processes] == ["bob", "nobody"]
    # arguments of included files are launch arguments too (as with ros2 launch)
    assert parse_launch_file(path, ["who:=carol"]).processes[1].node_name == "carol"


def test_duplicate_labels_are_numbered(tmp_path):
    path = write(tmp_path, """
        launch:
        - executable: {cmd: "true"}
        - executable: {cmd: "true"}
        """)
    assert [p.label for p in parse_launch_file(path).processes] == ["true", "true-2"]


MALFORMED = [
    ("launch:\n- node: {pkg: robomatrix, exec: x\n", 3, "malformed YAML: .*flow mapping that starts at line 2"),
    ("launch:\n- arg: {name: a, default: b}\n- nod: {pkg: robomatrix, exec: x}\n", 3, r"Unknown launch tag 'nod'\. Did you mean 'node'\?.*executable"),
    ("launch:\n- node:\n    pkg: robomatrix\n    exe: x\n", 4, r"attribute of 'node' 'exe'\. Did you mean 'exec'\?"),
    ("launch:\n- node:\n    pkg: robomatrix\n", 2, "'node' needs 'exec'"),
    ("launch:\n- arg: {name: robot}\n", 2, r"launch argument 'robot' is required: pass robot:=VALUE"),
    ("launch:\n- node: {pkg: robomatrix, exec: $(var nope)}\n", 2, r"Unknown launch configuration 'nope'"),
    ("launch:\n- node: {pkg: robomatrix, exec: $(vra x)}\n", 2, r"Unknown substitution 'vra'\. Did you mean 'var'\?"),
    ("launch:\n- node: {pkg: robomatrix, exec: $(var x}\n", 2, r"unclosed '\$\(var'"),
    ("launch:\n- node: {pkg: robomatrix, exec: $(env RM_TEST_SURELY_UNSET)}\n", 2, "RM_TEST_SURELY_UNSET' is not set"),
    ("launch:\n- node: {pkg: robomatrix, exec: x, output: scren}\n", 2, r"Unknown output 'scren'\. Did you mean 'screen'\?"),
    ("launch:\n- node:\n    pkg: robomatrix\n    exec: x\n    param:\n    - {name: a}\n", 6, "needs 'name' and 'value'"),
    ("launch:\n- node:\n    pkg: robomatrix\n    exec: x\n    remap: {from: a, to: b}\n", 5, "'remap' must be a list"),
    ("launch:\n- node: {pkg: robomatrix, exec: x, if: maybe}\n", 2, "expected a boolean"),
    ("launch:\n- include: {file: missing.launch.yaml}\n", 2, "does not exist"),
    ("launch:\n- node: {pkg: robomatrix, exec: x}\n  arg: {name: a}\n", 2, "exactly one tag"),
    ("lauch:\n- node: {pkg: robomatrix, exec: x}\n", 1, r"top-level 'launch:'.*did you mean 'launch'"),
    ("launch:\n- node: {pkg: robomatrix, exec: x, name: a, name: b}\n", 2, "duplicate key 'name'"),
    ("", 1, "empty"),
]


@pytest.mark.parametrize("text,line,problem", MALFORMED, ids=[m[2][:30] for m in MALFORMED])
def test_malformed_launch_files_name_the_file_line_and_problem(tmp_path, text, line, problem):
    path = tmp_path / "bad.launch.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=problem) as info:
        parse_launch_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert "\n" not in message
