"""ROS 2 name resolution, remapping and --ros-args parsing."""
import pytest

from robomatrix import comm
from robomatrix.comm.names import expand_name, normalize_namespace, parse_ros_args_full, resolve_name
from robomatrix.errors import UsageError


@pytest.mark.parametrize("name, ns, expected", [
    ("cmd_vel", "", "/cmd_vel"),
    ("cmd_vel", "/robot", "/robot/cmd_vel"),
    ("cmd_vel", "robot/", "/robot/cmd_vel"),
    ("/cmd_vel", "/robot", "/cmd_vel"),
    ("~/status", "/robot", "/robot/executive/status"),
    ("~", "", "/executive"),
    ("{node}/debug", "/r", "/r/executive/debug"),
    ("camera/color/image_raw", "/a/b", "/a/b/camera/color/image_raw"),
])
def test_expand_name(name, ns, expected):
    assert expand_name(name, ns, "executive") == expected


@pytest.mark.parametrize("bad", ["", "a//b", "cmd_vel/", "2fast", "bad-name", "~x", "a b"])
def test_invalid_names_are_refused(bad):
    with pytest.raises(UsageError):
        expand_name(bad, "/", "node")


def test_normalize_namespace():
    assert normalize_namespace(None) == normalize_namespace("/") == "/"
    assert normalize_namespace("a/b/") == "/a/b"
    with pytest.raises(UsageError):
        normalize_namespace("/a/1b")


def test_remapping_applies_after_expansion():
    rules = {"cmd_vel": "/robot/cmd_vel", "/odom": "odometry"}
    assert resolve_name("cmd_vel", "/", "n", rules) == "/robot/cmd_vel"
    assert resolve_name("/cmd_vel", "/", "n", rules) == "/robot/cmd_vel"  # same fully qualified name
    # a rule's names are expanded in the node's namespace too
    assert resolve_name("cmd_vel", "/other", "n", rules) == "/robot/cmd_vel"
    assert resolve_name("/other/cmd_vel", "/", "n", rules) == "/other/cmd_vel"
    assert resolve_name("odom", "/ns", "n", rules) == "/ns/odom"  # '/ns/odom' does not match '/odom'
    assert resolve_name("/odom", "/ns", "n", rules) == "/ns/odometry"


def test_parse_ros_args_sections_params_remaps_and_rest():
    argv = ["--verbose", "--ros-args", "-p", "seed:=3", "--param", "rate:=2.5", "-r", "cmd_vel:=/r/cmd_vel",
            "--remap", "hardware_node:odom:=/r/odom", "--log-level", "debug", "--", "positional",
            "--ros-args", "-p", "flag:=true"]
    params, remaps, rest = comm.parse_ros_args(argv)
    assert params == {"seed": 3, "rate": 2.5, "flag": True}
    assert remaps == {"cmd_vel": "/r/cmd_vel", "hardware_node:odom": "/r/odom"}
    assert rest == ["--verbose", "positional"]
    full = parse_ros_args_full(argv)
    assert full.log_level_for("anything") == "debug"
    assert full.remaps_for("hardware_node") == {"cmd_vel": "/r/cmd_vel", "odom": "/r/odom"}
    assert full.remaps_for("other") == {"cmd_vel": "/r/cmd_vel"}


@pytest.mark.parametrize("argv, reason", [
    (["--ros-args", "-p", "seed"], "expected name:=value"),
    (["--ros-args", "-p"], "needs a value"),
    (["--ros-args", "--bogus"], "Unknown argument '--bogus'"),
    (["--ros-args", "--log-level", "loud"], "Unknown log level"),
    (["--ros-args", "--params-file", "/nonexistent/params.yaml"], "Cannot read parameters file"),
])
def test_bad_ros_args_are_one_line_usage_errors(argv, reason):
    with pytest.raises(UsageError, match=reason) as info:
        comm.parse_ros_args(argv)
    assert "\n" not in str(info.value)


def test_node_name_namespace_and_remaps_from_cli():
    with comm.Context() as ctx:
        node = comm.Node("hardware_node", context=ctx, remappings={"joint_states": "/arm/joints"},
                         cli_args=["--ros-args", "-r", "__node:=sim_hw", "-r", "__ns:=/robot1",
                                   "-r", "sim_hw:odom:=/robot1/wheel_odom"])
        assert node.get_name() == "sim_hw" and node.get_namespace() == "/robot1"
        assert node.get_fully_qualified_name() == "/robot1/sim_hw"
        assert node.create_publisher(comm_msgs_string(), "odom", 1).topic_name == "/robot1/wheel_odom"
        assert node.create_publisher(comm_msgs_string(), "joint_states", 1).topic_name == "/arm/joints"
        assert node.resolve_topic_name("~/debug") == "/robot1/sim_hw/debug"


def comm_msgs_string():
    from robomatrix.msgs import String

    return String


def test_unknown_transport_suggests_the_closest():
    with pytest.raises(UsageError, match=r"Unknown transport 'inprc'\. Did you mean 'inproc'\?"):
        comm.Context(transport="inprc")
    assert "inproc" in comm.available_transports()
