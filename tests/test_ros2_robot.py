"""The `ros2` hardware backend against a fake robot driver in one process (inproc transport):
robot profiles and their validation errors, limits and scales from the profile, the watchdog on
stale commands and stale sensor data, the e-stop, and the refusal to start when the driver's
topics are missing (naming them)."""
import contextlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from robomatrix import comm
from robomatrix.errors import RoboMatrixError, UsageError
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.profile import PROFILE_DIR, load_profile, profile_names
from robomatrix.hardware.robot import Action, CameraIntrinsics, make_robot
from robomatrix.hardware.ros2_robot import Ros2Robot, Ros2RobotConfig
from robomatrix.msgs import Bool, Float64, JointState, Point, PointStamped, Twist, Vector3


def sim_profile_data() -> dict:
    return yaml.safe_load((PROFILE_DIR / "sim.yaml").read_text())


def write_profile(tmp_path: Path, data: dict, name: str = "robot.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


# ------------------------------------------------------------------ profiles

def test_shipped_profiles_load():
    assert {"sim", "robomaster_ep"} <= set(profile_names())
    sim = load_profile("sim")
    assert sim.channel("cmd_vel").topic == "/sim/cmd_vel"
    assert sim.channel("arm_state").topic == sim.channel("gripper_state").topic == "/sim/joint_states"
    ep = load_profile("robomaster_ep")
    assert ep.channel("cmd_vel").topic == "/rm/cmd_vel"
    assert ep.channel("rgb").topic == "/camera/camera/color/image_raw"  # absolute names stay as they are
    assert ep.channel("arm_command").msg_type is Vector3 and ep.channel("arm_state").msg_type is PointStamped
    assert not ep.channel("gripper_command").available
    assert ep.limits["base_velocity_limit_mps"] == 0.5


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["topics"]["cmd_vel"].update(type="geometry_msgs/msg/Twst"),
     "robot.yaml: topics.cmd_vel.type: 'geometry_msgs/msg/Twst' is not supported for this channel "
     "(did you mean 'geometry_msgs/msg/Twist'?)"),
    (lambda d: d["topics"].pop("odom"), "robot.yaml: topics.odom: missing (every robot needs this channel)"),
    (lambda d: d["topics"]["depth"].update(depth_unit=0.001),
     "robot.yaml: topics.depth.depth_unit: unknown key (did you mean 'depth_unit_m'?)"),
    (lambda d: d["limits"].update(base_velocity_mps=-1), "robot.yaml: limits.base_velocity_mps: must be > 0, got -1"),
    (lambda d: d["limits"].update(arm_x_range_m=[0.4, 0.2]), "robot.yaml: limits.arm_x_range_m: expected [low, high]"),
    (lambda d: d["safety"].update(watchdog_s=1), "robot.yaml: safety.watchdog_s: unknown key"),
    (lambda d: d.pop("profile"), "robot.yaml: profile: missing: the format version"),
    (lambda d: d["topics"]["cmd_vel"].update(topic="cmd vel"), "robot.yaml: topics.cmd_vel.topic: 'cmd vel' is not"),
    (lambda d: d["topics"]["arm_command"].update(topic="odom"),
     "robot.yaml: topics.arm_command.topic: /sim/odom is also topics.odom's topic"),
    (lambda d: d["topics"]["gripper_command"].update(open=0.0), "robot.yaml: topics.gripper_command.open: must differ"),
])
def test_profile_errors_name_the_file_and_the_key(tmp_path, edit, message):
    data = sim_profile_data()
    edit(data)
    with pytest.raises(UsageError) as err:
        load_profile(write_profile(tmp_path, data))
    assert message in str(err.value)
    assert str(tmp_path / "robot.yaml") in str(err.value)


def test_profile_lookup_errors(tmp_path):
    with pytest.raises(UsageError, match="Unknown robot profile 'robomaster'. Did you mean 'robomaster_ep'"):
        load_profile("robomaster")
    with pytest.raises(UsageError, match="does not exist"):
        load_profile(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: 1\ntopics: [oops\n")
    with pytest.raises(UsageError, match=r"bad.yaml: not valid YAML \(line"):
        load_profile(str(bad))


def test_limits_come_from_the_profile(tmp_path):
    data = sim_profile_data()
    data["limits"].update(base_velocity_mps=0.3, arm_z_range_m=[0.05, 0.2])
    config = Ros2RobotConfig(profile=write_profile(tmp_path, data))
    assert config.base_velocity_limit_mps == 0.3 and config.arm_z_range_m == (0.05, 0.2)


# ------------------------------------------------------------------ a fake driver

class FakeDriver:
    """Plays a robot driver on a profile's topics: publishes sensors on demand, records commands."""

    def __init__(self, ctx, profile, publish_sensors=True, subscribe_commands=True):
        self.node = comm.Node("fake_driver", context=ctx)
        self.p = profile
        self.commands: dict[str, list] = {"cmd_vel": [], "arm_command": [], "gripper_command": [], "estop": []}
        ch = profile.channel
        self.pubs = {}
        if publish_sensors:
            for name in ("odom", "rgb", "depth", "camera_info", "arm_state"):
                c = ch(name)
                self.pubs[name] = self.node.create_publisher(c.msg_type, c.topic, comm.QOS_SENSOR_DATA)
        if subscribe_commands:
            for name in self.commands:
                c = ch(name)
                if c.available:
                    self.node._create_direct_subscription(c.msg_type, c.topic, self.commands[name].append,
                                                          comm.QOS_LATCHED if name == "estop" else 10)
        self.arm = (0.10, 0.05)  # driver-frame arm position

    def publish_state(self, stamp=1.0, camera=True):
        self.pubs["odom"].publish(conv.odometry(np.array([1.0, 2.0, 0.5]), np.array([0.1, 0.0, 0.0]), stamp))
        c = self.p.channel("arm_state")
        if c.msg_type is PointStamped:
            self.pubs["arm_state"].publish(PointStamped(header=conv.header(stamp, "arm"),
                                                        point=Point(x=self.arm[0], y=0.0, z=self.arm[1])))
        else:
            self.pubs["arm_state"].publish(JointState(header=conv.header(stamp, "base_link"),
                                                      name=["arm_x_joint", "arm_z_joint", "gripper_opening"],
                                                      position=[0.3, 0.1, 0.5], velocity=[], effort=[]))
        if camera:
            rgb = np.zeros((6, 8, 3), np.uint8)
            rgb[..., 0] = 200
            self.pubs["rgb"].publish(conv.rgb_to_image(rgb, stamp))
            depth = np.full((6, 8), 1500, "<u2")  # 16UC1 millimetres, as RGB-D drivers publish
            img = conv.depth_to_image(np.zeros((6, 8), np.float32), stamp)
            img.encoding, img.step, img.data = "16UC1", 16, depth.tobytes()
            self.pubs["depth"].publish(img)
            self.pubs["camera_info"].publish(conv.camera_info(CameraIntrinsics(8, 6, 5.0, 5.0, 4.0, 3.0), stamp))


@contextlib.contextmanager
def streaming(driver, **publish_kwargs):
    """The driver publishes at ~100 Hz meanwhile (a subscriber only hears what comes after it)."""
    done = threading.Event()

    def loop():
        while not done.wait(0.01):
            driver.publish_state(**publish_kwargs)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def ctx():
    context = comm.Context(transport="inproc")
    yield context
    context.shutdown()


def connected(ctx, profile_ref, clock=None, **driver_kwargs):
    config = Ros2RobotConfig(profile=profile_ref)
    driver = FakeDriver(ctx, config.robot_profile, **driver_kwargs)
    robot = Ros2Robot(config, context=ctx, **({"clock": clock} if clock else {}))
    with streaming(driver):
        robot.connect()
    driver.publish_state()
    return robot, driver


def test_make_robot_builds_the_ros2_backend_by_name():
    robot = make_robot("ros2", profile="robomaster_ep")
    assert isinstance(robot, Ros2Robot) and robot.profile.name == "robomaster_ep"
    assert robot.config.base_velocity_limit_mps == 0.5


def test_refuses_to_start_naming_the_missing_topics(ctx, tmp_path):
    data = sim_profile_data()
    data["safety"]["startup_timeout_s"] = 0.2
    profile = write_profile(tmp_path, data)
    config = Ros2RobotConfig(profile=profile)
    driver = FakeDriver(ctx, config.robot_profile, subscribe_commands=False)
    robot = Ros2Robot(config, context=ctx)
    with pytest.raises(RoboMatrixError) as err, streaming(driver, camera=False):
        robot.connect()  # odometry and joints only; nobody listens to commands
    text = str(err.value)
    assert "refusing to start" in text and "robot.yaml" in text
    for topic in ("/sim/camera/color/image_raw (sensor_msgs/msg/Image, rgb)", "/sim/camera/depth/image_raw",
                  "/sim/camera/camera_info"):
        assert topic in text.split("nobody subscribes")[0]
    for topic in ("/sim/cmd_vel (geometry_msgs/msg/Twist, cmd_vel)", "/sim/arm/command", "/sim/gripper/command",
                  "/sim/estop"):
        assert topic in text.split("nobody subscribes")[1]
    assert "/sim/odom" not in text and "/sim/joint_states" not in text
    assert not robot.is_connected


def test_actions_are_limited_and_scaled_by_the_profile(ctx, tmp_path):
    data = sim_profile_data()
    data["limits"].update(base_velocity_mps=0.5, base_acceleration_mps2=1000.0)
    data["topics"]["cmd_vel"].update(linear_scale=1000.0)  # a driver taking mm/s
    data["topics"]["gripper_command"].update(closed=0.0, open=0.07)  # opening in metres
    data["arm_offset_m"] = [0.05, 0.02]
    clock = FakeClock()
    robot, driver = connected(ctx, write_profile(tmp_path, data), clock=clock)
    try:
        obs = robot.get_observation()
        assert obs.rgb.shape == (6, 8, 3) and obs.rgb[0, 0, 0] == 200
        assert obs.depth[0, 0] == pytest.approx(1.5)  # 16UC1 millimetres → metres
        assert obs.base_pose == pytest.approx([1.0, 2.0, 0.5])
        assert tuple(obs.ee_position) == pytest.approx((0.35, 0.12))  # joints + arm offset
        assert obs.gripper_opening == pytest.approx(0.5)

        applied = robot.send_action(Action(base_velocity=(3.0, 4.0, 0.0), arm_target=(0.9, -1.0), gripper=0.5))
        assert np.hypot(*applied.base_velocity[:2]) == pytest.approx(0.5)
        assert applied.arm_target == pytest.approx((0.42, 0.03))  # clamped into the workspace
        twist = driver.commands["cmd_vel"][-1]
        assert (twist.linear.x, twist.linear.y) == pytest.approx((300.0, 400.0))  # 0.3, 0.4 m/s in mm/s
        arm = driver.commands["arm_command"][-1]
        assert (arm.x, arm.z) == pytest.approx((0.37, 0.01))  # minus the offset: the driver's frame
        assert driver.commands["gripper_command"][-1].data == pytest.approx(0.035)
        clock.t += 0.02  # one control period later: the acceleration limit (1000 m/s^2) allows a stop
        nan = robot.send_action(Action(base_velocity=(float("nan"), 0.0, float("inf"))))
        assert nan.base_velocity == (0.0, 0.0, 0.0)
    finally:
        robot.disconnect()
    assert driver.commands["cmd_vel"][-1] == Twist()  # disconnect stops the base


def test_relative_arm_commands_are_sent_once_per_set_point(ctx):
    robot, driver = connected(ctx, "robomaster_ep")
    try:
        assert robot.get_state().ee_position == pytest.approx((0.10, 0.19))  # arm_position + (0, 0.14)
        for _ in range(3):
            robot.send_action(Action(arm_target=(0.25, 0.20)))
        assert len(driver.commands["arm_command"]) == 1
        step = driver.commands["arm_command"][0]
        assert isinstance(step, Vector3) and (step.x, step.z) == pytest.approx((0.15, 0.01))
        robot.send_action(Action(arm_target=(0.30, 0.20)))
        assert len(driver.commands["arm_command"]) == 2
        assert robot.get_state().gripper_opening == 1.0  # no gripper feedback on the EP profile
    finally:
        robot.disconnect()


def test_watchdog_stops_the_base_on_stale_commands_and_stale_sensors(ctx):
    clock = FakeClock()
    robot, driver = connected(ctx, "sim", clock=clock)
    try:
        robot.send_action(Action(base_velocity=(0.02, 0.0, 0.0)))
        assert driver.commands["cmd_vel"][-1].linear.x == pytest.approx(0.02)
        assert robot.check_watchdog() == ""

        clock.t += 0.4  # sensors still fresh (0.5 s), camera fresh (1 s), command 0.4 s old
        assert robot.check_watchdog() == ""
        clock.t += 0.2  # 0.6 s without a command: the process driving the robot stalled
        assert "no command for 0.60 s" in robot.check_watchdog()
        assert driver.commands["cmd_vel"][-1] == Twist()

        # odometry 0.6 s old: refuse to move, stop the base, hold arm and gripper
        n_arm = len(driver.commands["arm_command"])
        applied = robot.send_action(Action(base_velocity=(0.02, 0.0, 0.0), arm_target=(0.3, 0.1), gripper=0.0))
        assert applied == Action(base_velocity=(0.0, 0.0, 0.0))
        assert driver.commands["cmd_vel"][-1] == Twist() and len(driver.commands["arm_command"]) == n_arm
        assert {"odom", "arm_state", "gripper_state"} <= set(robot.stale_topics())
        assert "stale sensor data on /sim/odom" in robot.check_watchdog()

        driver.publish_state(camera=False)  # odometry back; the camera is 0.6 s old (< 1 s): fine
        applied = robot.send_action(Action(base_velocity=(0.02, 0.0, 0.0)))
        assert applied.base_velocity[0] == pytest.approx(0.02)
        clock.t += 0.5
        driver.publish_state(camera=False)
        assert robot.stale_topics() == ["rgb", "depth", "camera_info"]  # camera 1.1 s old: driving blind
        assert robot.send_action(Action(base_velocity=(0.02, 0.0, 0.0))).base_velocity == (0.0, 0.0, 0.0)
    finally:
        robot.disconnect()


def test_estop_latches_and_reaches_the_driver(ctx):
    robot, driver = connected(ctx, "sim")
    try:
        robot.set_estop(True)
        assert driver.commands["estop"][-1] == Bool(data=True)
        applied = robot.send_action(Action(base_velocity=(0.2, 0.0, 0.0), arm_target=(0.3, 0.1), gripper=0.0))
        assert applied == Action(base_velocity=(0.0, 0.0, 0.0))
        assert driver.commands["cmd_vel"][-1] == Twist()
        assert not driver.commands["arm_command"] and not driver.commands["gripper_command"]
        robot.set_estop(False)
        assert driver.commands["estop"][-1] == Bool(data=False)
        robot.send_action(Action(base_velocity=(0.02, 0.0, 0.0), gripper=0.0))
        assert driver.commands["cmd_vel"][-1].linear.x == pytest.approx(0.02)
        assert driver.commands["gripper_command"][-1] == Float64(data=0.0)
    finally:
        robot.disconnect()


def test_hardware_node_refuses_a_profile_whose_topics_are_its_own(ctx, tmp_path):
    from robomatrix.hardware.hardware_node import HardwareNode

    data = sim_profile_data()
    data["namespace"] = "/"  # the driver's /cmd_vel would be hardware_node's own /cmd_vel
    with pytest.raises(UsageError, match=r"topics.cmd_vel.topic /cmd_vel is also hardware_node's own topic"):
        HardwareNode(context=ctx, parameter_overrides={"backend": "ros2", "profile": write_profile(tmp_path, data)})


def test_hardware_node_relays_a_ros2_robot(ctx):
    """hardware_node backend:=ros2 on the fake driver: /cmd_vel reaches the driver through the gate
    and the robot's limits; camera frames and odometry come out on the stack's topics."""
    from robomatrix.hardware.hardware_node import HardwareNode
    from robomatrix.msgs import Image, Odometry

    driver = FakeDriver(ctx, load_profile("sim"))
    with streaming(driver):
        hw = HardwareNode(context=ctx, parameter_overrides={"backend": "ros2", "profile": "sim"})
    stack = comm.Node("stack", context=ctx)
    images, odom = [], []
    stack.create_subscription(Image, "/camera/color/image_raw", images.append, comm.QOS_SENSOR_DATA)
    stack.create_subscription(Odometry, "/odom", odom.append, 10)
    cmd = stack.create_publisher(Twist, "/cmd_vel", 10)
    estop = stack.create_publisher(Bool, "/robomatrix/estop", comm.QOS_LATCHED)
    executor = comm.Executor([hw, stack])
    try:
        twist = Twist()
        twist.linear.x = 5.0
        t_end = time.monotonic() + 0.6
        while time.monotonic() < t_end:
            driver.publish_state(stamp=time.monotonic())
            cmd.publish(twist)
            executor.spin_once(timeout_sec=0.02)
        assert images and images[-1].width == 8 and odom
        sent = [t.linear.x for t in driver.commands["cmd_vel"]]
        assert max(sent) > 0 and max(sent) <= 1.0 + 1e-9  # the sim profile's 1 m/s
        estop.publish(Bool(data=True))
        t_end = time.monotonic() + 0.2
        while time.monotonic() < t_end:
            driver.publish_state()
            cmd.publish(twist)
            executor.spin_once(timeout_sec=0.02)
        assert driver.commands["estop"][-1] == Bool(data=True) and driver.commands["cmd_vel"][-1] == Twist()
    finally:
        executor.shutdown()
        hw.destroy_node()
        stack.destroy_node()


def test_acceleration_limit_counts_the_time_between_commands(ctx):
    """hardware_node forwards each command as it arrives: faster commands must not accelerate faster."""
    clock = FakeClock()
    robot, driver = connected(ctx, "sim", clock=clock)  # 3 m/s^2, control period 0.02 s
    try:
        speeds = []
        for _ in range(4):
            clock.t += 0.005
            speeds.append(robot.send_action(Action(base_velocity=(1.0, 0.0, 0.0))).base_velocity[0])
        assert speeds == pytest.approx([0.06, 0.075, 0.09, 0.105])  # first: a whole period; then 3 * 0.005 each
        clock.t += 0.3  # a pause (shorter than the watchdog's 0.5 s) counts as one period, not as a licence to jump
        assert robot.send_action(Action(base_velocity=(1.0, 0.0, 0.0))).base_velocity[0] == pytest.approx(0.165)
    finally:
        robot.disconnect()
