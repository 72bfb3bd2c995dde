"""`robomatrix sim serve`: the MuJoCo robot in its own process as a "ROS 2 robot".

It plays a robot driver: it publishes and subscribes exactly the standard topics a robot profile
names (`robomatrix.hardware.profile`), with the profile's message types, units and scales, so the
stack drives it through the `ros2` backend as it would drive the physical robot:

    robomatrix sim serve --profile sim --scene office --seed 0          # this process: the robot
    robomatrix launch launch/sim.launch.yaml hardware:=ros2 profile:=sim  # the stack

Like a driver it keeps its own dead-man check (the base stops when cmd_vel goes quiet for
`cmd_vel_timeout_s`) and honours the profile's e-stop topic. Physics advances in real time on the
wall clock, one control period per tick.
"""
from __future__ import annotations

import time

from robomatrix import comm
from robomatrix.errors import UsageError
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.command_gate import CommandGate, CommandGateConfig
from robomatrix.hardware.profile import gripper_from_driver, gripper_to_driver, load_profile
from robomatrix.hardware.robot import make_robot
from robomatrix.msgs import Bool, Float64, JointState, Point, PointStamped, Twist, Vector3


class SimServeNode(comm.Node):
    """The simulated robot behind a profile's driver topics (see the module docstring)."""

    def __init__(self, **node_kwargs):
        node_kwargs.setdefault("clock", comm.SystemClock())
        super().__init__("sim_serve", **node_kwargs)
        p = self.declare_parameter
        self.profile = load_profile(str(p("profile", "sim", description="robot profile (name or .yaml)").value))
        backend = p("backend", "mujoco", description="simulator backend").value
        scene = p("scene", "office", description="scene spec name").value
        seed = int(p("seed", 0, description="scene randomisation seed").value)
        width = int(p("camera_width", 320, description="camera image width, px").value)
        height = int(p("camera_height", 240, description="camera image height, px").value)
        camera_rate_hz = float(p("camera_rate_hz", 15.0, description="camera publish rate, Hz").value)
        control_rate_hz = float(p("control_rate_hz", 50.0, description="physics/state rate, Hz").value)
        timeout_s = float(p("cmd_vel_timeout_s", 0.5, description="driver dead-man timeout, s").value)
        for name, value in (("camera_rate_hz", camera_rate_hz), ("control_rate_hz", control_rate_hz)):
            if not value > 0:
                raise UsageError(f"Parameter '{name}' of node 'sim_serve' must be > 0, got {value!r}.")
        self.gate = CommandGate(CommandGateConfig(cmd_vel_timeout_s=timeout_s))
        self.robot = make_robot(backend, camera_width=width, camera_height=height)
        self.robot.connect()
        self.robot.reset(scene=scene, seed=seed)
        self.control_period_s = 1.0 / control_rate_hz
        self.camera_period_s = 1.0 / camera_rate_hz
        self._last_camera_s = -float("inf")
        self._ee = (0.3, 0.1)  # last measured gripper (x, z): relative arm commands add to it

        ch = self.profile.channel
        sensor = comm.QOS_SENSOR_DATA
        self.pub = {}
        for name in ("odom", "rgb", "depth", "camera_info", "arm_state", "gripper_state"):
            c = ch(name)
            if c.available and c.topic not in {pub.topic for pub in self.pub.values()}:
                qos = sensor if name in ("rgb", "depth", "camera_info") else 10
                self.pub[name] = self.create_publisher(c.msg_type, c.topic, qos)
        self.create_subscription(Twist, ch("cmd_vel").topic, self._on_cmd_vel, 10)
        arm = ch("arm_command")
        self.create_subscription(arm.msg_type, arm.topic, self._on_arm, 10)
        if ch("gripper_command").available:
            self.create_subscription(Float64, ch("gripper_command").topic, self._on_gripper, 10)
        if ch("estop").available:
            self.create_subscription(Bool, ch("estop").topic, self._on_estop, comm.QOS_LATCHED)
        self.create_timer(self.control_period_s, self._on_tick)
        self.get_logger().info(
            f"simulated robot serving profile '{self.profile.name}' under {self.profile.namespace}: scene "
            f"'{scene}' seed {seed}, camera {width}x{height} @ {camera_rate_hz:g} Hz")

    # ------------------------------------------------------------------ driver inputs
    def _on_cmd_vel(self, msg: Twist) -> None:
        c = self.profile.channel("cmd_vel")
        vx, vy, wz = conv.twist_to_base_velocity(msg)
        self.gate.set_base_velocity(vx / c.opt("linear_scale"), vy / c.opt("linear_scale"),
                                    wz / c.opt("angular_scale"), now_s=time.monotonic())

    def _on_arm(self, msg) -> None:
        c = self.profile.channel("arm_command")
        ox, oz = self.profile.arm_offset_m
        if isinstance(msg, Vector3):  # relative to where the arm is now
            self.gate.set_arm_target(self._ee[0] + msg.x / c.opt("scale"), self._ee[1] + msg.z / c.opt("scale"))
        elif isinstance(msg, Point):
            self.gate.set_arm_target(msg.x / c.opt("scale") + ox, msg.z / c.opt("scale") + oz)

    def _on_gripper(self, msg: Float64) -> None:
        self.gate.set_gripper(gripper_from_driver(msg.data, self.profile.channel("gripper_command")))

    def _on_estop(self, msg: Bool) -> None:
        self.gate.set_estop(bool(msg.data))
        if msg.data:
            self.robot.stop()

    # ------------------------------------------------------------------ physics and outputs
    def _on_tick(self) -> None:
        self.robot.send_action(self.gate.action(time.monotonic()))
        self.robot.advance(self.control_period_s)
        t = self.robot.sim_time_s
        render = t - self._last_camera_s >= self.camera_period_s - 1e-9
        obs = self.robot.get_observation() if render else self.robot.get_state()
        stamp = obs.stamp_s
        self._ee = (float(obs.ee_position[0]), float(obs.ee_position[1]))
        self.pub["odom"].publish(conv.odometry(obs.base_pose, obs.base_velocity, stamp))
        self._publish_joints(obs, stamp)
        if render:
            self._last_camera_s = t
            self.pub["rgb"].publish(conv.rgb_to_image(obs.rgb, stamp))
            self.pub["depth"].publish(conv.depth_to_image(obs.depth, stamp))
            self.pub["camera_info"].publish(conv.camera_info(obs.intrinsics, stamp))

    def _publish_joints(self, obs, stamp: float) -> None:
        """Arm state (joint state or end point) and gripper state; one JointState when they share a topic."""
        arm, grip = self.profile.channel("arm_state"), self.profile.channel("gripper_state")
        ox, oz = self.profile.arm_offset_m
        x, z = float(obs.ee_position[0] - ox), float(obs.ee_position[1] - oz)
        joints: dict[str, list] = {}  # topic → [names, positions]
        if arm.msg_type is PointStamped:
            self.pub["arm_state"].publish(PointStamped(header=conv.header(stamp, "arm_base_link"),
                                                       point=Point(x=x, y=0.0, z=z)))
        else:
            joints[arm.topic] = [[arm.opt("x_joint"), arm.opt("z_joint")], [x * arm.opt("scale"), z * arm.opt("scale")]]
        if grip.available:
            names, positions = joints.setdefault(grip.topic, [[], []])
            names.append(grip.opt("joint"))
            positions.append(gripper_to_driver(obs.gripper_opening, grip))
        for topic, (names, positions) in joints.items():
            pub = next(p for p in self.pub.values() if p.topic == topic)
            pub.publish(JointState(header=conv.header(stamp, conv.BASE_FRAME), name=names,
                                   position=[float(v) for v in positions], velocity=[], effort=[]))

    def destroy_node(self):
        robot = getattr(self, "robot", None)
        if robot is not None and robot.is_connected:
            robot.disconnect()
        super().destroy_node()


def serve(profile: str, scene: str = "office", seed: int = 0, camera_width: int = 320, camera_height: int = 240,
          camera_rate_hz: float = 15.0, control_rate_hz: float = 50.0, backend: str = "mujoco") -> None:
    """Run the simulated robot over DDS until Ctrl-C / SIGTERM (what `robomatrix sim serve` calls)."""
    import signal

    from robomatrix.node_main import _raise_keyboard_interrupt

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    ctx = comm.init(transport="dds")
    node = SimServeNode(context=ctx, parameter_overrides={
        "profile": profile, "scene": scene, "seed": seed, "camera_width": camera_width,
        "camera_height": camera_height, "camera_rate_hz": camera_rate_hz, "control_rate_hz": control_rate_hz,
        "backend": backend})
    try:
        comm.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        comm.shutdown()
