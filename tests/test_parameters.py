"""Node parameters: declaration, overrides (launch files and --ros-args), type errors."""
import pytest

from robomatrix import comm
from robomatrix.errors import UsageError


@pytest.fixture
def ctx():
    with comm.Context() as c:
        yield c


def test_declared_default_and_description(ctx):
    node = comm.Node("hardware_node", context=ctx)
    p = node.declare_parameter("seed", 0, description="scene seed")
    assert (p.value, p.type_name, p.description) == (0, "int", "scene seed")
    assert node.get_parameter("seed").value == 0 and node.has_parameter("seed")
    assert "seed" in node.get_parameter_names() and "use_sim_time" in node.get_parameter_names()


def test_cli_overrides_beat_launch_overrides(ctx):
    node = comm.Node("hardware_node", context=ctx, parameter_overrides={"seed": 3, "scene": "lab"},
                     cli_args=["--ros-args", "-p", "seed:=5"])
    assert node.declare_parameter("seed", 0).value == 5
    assert node.declare_parameter("scene", "office").value == "lab"


@pytest.mark.parametrize("text, default, expected", [
    ("3", 0, 3), ("2.5", 1.0, 2.5), ("10", 1.0, 10.0), ("true", False, True), ("kitchen", "office", "kitchen"),
    ("'42'", "x", "42"), ("[1, 2]", [0], [1, 2]), ("anything", None, "anything"),
])
def test_command_line_values_are_yaml_scalars(ctx, text, default, expected):
    node = comm.Node("n", context=ctx, cli_args=["--ros-args", "-p", f"p:={text}"])
    value = node.declare_parameter("p", default).value
    assert value == expected and type(value) is type(expected)


def test_wrong_override_type_names_the_parameter_in_one_line(ctx):
    node = comm.Node("hardware_node", context=ctx, cli_args=["--ros-args", "-p", "seed:=abc"])
    with pytest.raises(UsageError) as info:
        node.declare_parameter("seed", 0)
    assert str(info.value) == "Parameter 'seed' of node 'hardware_node' expects int, got 'abc' (str)."
    assert info.value.exit_code == 2


@pytest.mark.parametrize("default, bad", [(0, True), (0, 1.5), (1.0, "x"), (True, 1), ("s", 3), ([1], "x")])
def test_set_parameters_checks_types(ctx, default, bad):
    node = comm.Node("n", context=ctx)
    node.declare_parameter("p", default)
    with pytest.raises(UsageError, match="Parameter 'p' of node 'n' expects"):
        node.set_parameters({"p": bad})
    assert node.get_parameter("p").value == default


def test_override_for_undeclared_parameter_waits_for_its_declaration(ctx):
    node = comm.Node("n", context=ctx, parameter_overrides={"later": 7})
    with pytest.raises(UsageError, match="not declared|Unknown parameter"):
        node.get_parameter("later")
    assert node.declare_parameter("later", 1).value == 7


def test_undeclared_parameter_errors_are_clear(ctx):
    node = comm.Node("n", context=ctx)
    node.declare_parameter("camera_rate_hz", 15.0)
    with pytest.raises(UsageError, match=r"Unknown parameter 'camera_rate'\. Did you mean 'camera_rate_hz'\?"):
        node.get_parameter("camera_rate")
    with pytest.raises(UsageError, match="Unknown parameter 'nope'"):
        node.set_parameters({"nope": 1})
    with pytest.raises(UsageError, match="already declared"):
        node.declare_parameter("camera_rate_hz", 1.0)


def test_read_only_and_set_callbacks(ctx):
    node = comm.Node("n", context=ctx)
    node.declare_parameter("fixed", 1, read_only=True)
    node.declare_parameter("speed", 0.5)
    with pytest.raises(UsageError, match="read-only"):
        node.set_parameters({"fixed": 2})
    node.add_on_set_parameters_callback(lambda params: (all(p.value <= 1.0 for p in params), "too fast"))
    with pytest.raises(UsageError, match="too fast"):
        node.set_parameters({"speed": 2.0})
    assert node.set_parameters({"speed": 0.8})[0].value == 0.8 == node.get_parameter("speed").value


def test_params_file_and_global_args(ctx, tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("/**:\n  ros__parameters:\n    seed: 9\nhardware_node:\n  ros__parameters:\n"
                    "    camera:\n      width: 320\n")
    node = comm.Node("hardware_node", context=ctx, cli_args=["--ros-args", "--params-file", str(path)])
    assert node.declare_parameter("seed", 0).value == 9
    assert node.declare_parameter("camera.width", 640).value == 320
    other = comm.Context(args=["--ros-args", "-p", "seed:=11"])
    try:
        assert comm.Node("x", context=other).declare_parameter("seed", 0).value == 11
        assert comm.Node("y", context=other, use_global_arguments=False).declare_parameter("seed", 0).value == 0
    finally:
        other.shutdown()
