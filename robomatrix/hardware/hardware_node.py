"""`hardware_node`: the hardware layer as a ROS 2 node.

Publishes
  /camera/color/image_raw   sensor_msgs/Image (rgb8)      at `camera_rate_hz`
  /camera/depth/image_raw   sensor_msgs/Image (32FC1, m)  at `camera_rate_hz`
  /camera/camera_info       sensor_msgs/CameraInfo        at `camera_rate_hz`
  /joint_states             sensor_msgs/JointState        at `control_rate_hz`
  /odom                     nav_msgs/Odometry             at `control_rate_hz`
  /clock                    rosgraph_msgs/Clock           when `publish_clock` is true (simulators)
Subscribes
  /cmd_vel                  geometry_msgs/Twist   base velocity (base frame); watchdog stops the base
                                                  when it goes quiet for `cmd_vel_timeout_s`
  /arm/command              geometry_msgs/Point   gripper target (x forward, z up) in the base frame, m
  /gripper/command          std_msgs/Float64      0 closed … 1 open
  /robomatrix/estop         std_msgs/Bool         true engages (latched) the e-stop, false releases it

With `backend:=ros2 profile:=<name|file>` the robot is a real one (or `robomatrix sim serve`)
behind its own driver's standard topics (see `robomatrix.hardware.ros2_robot`): this node relays
them onto the topics above, with the same watchdog and e-stop, plus the profile's limits and the
`Ros2Robot`'s refusal to start when the driver's topics are missing. Camera frames and commands
are relayed as they arrive (the control tick keeps the command stream and the watchdog going), so
the relay adds no sampling delay. The profile's topics must not be this node's own (refused).

The node is a thin wrapper: commands go through `CommandGate`, the robot through the
`Robot` contract, messages through `robomatrix.hardware.conversions`.
"""
from __future__ import annotations

import time

from robomatrix import comm
from robomatrix.errors import UsageError
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.command_gate import CommandGate, CommandGateConfig
from robomatrix.hardware.robot import SimulatedRobot, make_robot, robot_config
from robomatrix.msgs import Bool, CameraInfo, Clock, Float64, Image, JointState, Odometry, Point, Time, Twist
from robomatrix.node_main import run_node

OWN_TOPICS = ("/camera/color/image_raw", "/camera/depth/image_raw", "/camera/camera_info", "/joint_states", "/odom",
              "/clock", "/cmd_vel", "/arm/command", "/gripper/command", "/robomatrix/estop")


class HardwareNode(comm.Node):
    def __init__(self, **node_kwargs):
        # The hardware node is the clock source of a simulated graph: it always runs on the wall
        # clock (a simulator advances one control period per tick) and publishes /clock itself.
        node_kwargs.setdefault("clock", comm.SystemClock())
        super().__init__("hardware_node", **node_kwargs)
        p = self.declare_parameter
        self.backend = p("backend", "mujoco", description="robot backend (registered name)").value
        profile = p("profile", "sim", description="robot profile for backend ros2 (name or .yaml path)").value
        scene = p("scene", "office", description="scene spec name (simulators)").value
        seed = p("seed", 0, description="scene randomisation seed (simulators)").value
        width = p("camera_width", 640, description="camera image width, px").value
        height = p("camera_height", 480, description="camera image height, px").value
        camera_rate_hz = p("camera_rate_hz", 15.0, description="camera publish rate, Hz").value
        control_rate_hz = p("control_rate_hz", 50.0, description="command/state rate, Hz").value
        timeout_s = p("cmd_vel_timeout_s", 0.5, description="base watchdog timeout, s").value
        self.publish_clock = p("publish_clock", False, description="publish simulated time on /clock").value
        for name, value in (("camera_rate_hz", camera_rate_hz), ("control_rate_hz", control_rate_hz)):
            if not value > 0:
                raise UsageError(f"Parameter '{name}' of node 'hardware_node' must be > 0, got {value!r}.")

        self.gate = CommandGate(CommandGateConfig(cmd_vel_timeout_s=float(timeout_s)))
        settings = {"camera_width": int(width), "camera_height": int(height)}
        if hasattr(robot_config(self.backend), "profile"):
            settings["profile"] = str(profile)
        self.robot = make_robot(self.backend, **settings)
        self._check_own_topics()
        self._frame_seq = -1
        self._relays_driver = hasattr(self.robot, "on_frame")
        if hasattr(self.robot, "use_node"):  # the driver's topics live on this node (its context)
            self.robot.use_node(self)
        if hasattr(self.robot, "on_frame"):  # a driver's camera: relay each frame as it arrives
            self.robot.on_frame = lambda: self._enqueue_call(self._relay_frame)
        self.robot.connect()
        self.robot.reset(scene=scene, seed=int(seed))
        self.control_period_s = 1.0 / float(control_rate_hz)
        self.camera_period_s = 1.0 / float(camera_rate_hz)
        self._last_camera_s = -float("inf")

        sensor = comm.QOS_SENSOR_DATA
        self.pub_rgb = self.create_publisher(Image, "/camera/color/image_raw", sensor)
        self.pub_depth = self.create_publisher(Image, "/camera/depth/image_raw", sensor)
        self.pub_info = self.create_publisher(CameraInfo, "/camera/camera_info", sensor)
        self.pub_joints = self.create_publisher(JointState, "/joint_states", 10)
        self.pub_odom = self.create_publisher(Odometry, "/odom", 10)
        self.pub_clock = self.create_publisher(Clock, "/clock", 10) if self.publish_clock else None
        self.create_subscription(Twist, "/cmd_vel", self._on_cmd_vel, 10)
        self.create_subscription(Point, "/arm/command", self._on_arm, 10)
        self.create_subscription(Float64, "/gripper/command", self._on_gripper, 10)
        self.create_subscription(Bool, "/robomatrix/estop", self._on_estop, comm.QOS_LATCHED)
        self.create_timer(self.control_period_s, self._on_control_tick)
        profile = getattr(self.robot, "profile", None)
        if profile is not None:
            self.get_logger().info(f"{self.backend} robot ready: profile '{profile.name}' ({profile.description}), "
                                   f"control @ {control_rate_hz:g} Hz, camera frames relayed as they arrive")
            return
        self.get_logger().info(
            f"{self.backend} robot ready: scene '{scene}' seed {seed}, camera {width}x{height} "
            f"@ {camera_rate_hz:g} Hz, control @ {control_rate_hz:g} Hz")

    def _check_own_topics(self) -> None:
        """A driver topic that is also one of ours would loop commands back into the robot."""
        profile = getattr(self.robot, "profile", None)
        if profile is None:
            return
        own = {self.resolve_topic_name(t) for t in OWN_TOPICS}
        for ch in profile.channels.values():
            if ch.available and ch.topic in own:
                raise UsageError(f"robot profile '{profile.name}' ({profile.source}): topics.{ch.name}.topic "
                                 f"{ch.topic} is also hardware_node's own topic; run the driver in a namespace "
                                 "(the profile's `namespace`) or remap hardware_node's topics.")

    # ----------------------------------------------------------- command callbacks
    def _now(self) -> float:
        return time.monotonic()  # the watchdog measures silence on the wall clock of this process

    def _on_cmd_vel(self, msg: Twist) -> None:
        self.gate.set_base_velocity(*conv.twist_to_base_velocity(msg), now_s=self._now())
        self._forward_now()

    def _on_arm(self, msg: Point) -> None:
        self.gate.set_arm_target(msg.x, msg.z)
        self._forward_now()

    def _on_gripper(self, msg: Float64) -> None:
        self.gate.set_gripper(msg.data)
        self._forward_now()

    def _forward_now(self) -> None:
        """A driver's robot gets a command as it arrives, not on the next control tick (the tick
        still runs: it keeps the command stream and the watchdog going). Simulators step on the tick."""
        if self._relays_driver:
            self.robot.send_action(self.gate.action(self._now()))

    def _on_estop(self, msg: Bool) -> None:
        if bool(msg.data) != self.gate.estop_engaged:
            self.get_logger().warning("E-STOP ENGAGED" if msg.data else "e-stop released")
        self.gate.set_estop(bool(msg.data))
        if hasattr(self.robot, "set_estop"):  # forwarded to the driver (and latched in the robot)
            self.robot.set_estop(bool(msg.data))
        if msg.data:
            self.robot.stop()

    # ----------------------------------------------------------- control loop
    def _on_control_tick(self) -> None:
        was_tripped = self.gate.watchdog_tripped
        self.robot.send_action(self.gate.action(self._now()))
        if self.gate.watchdog_tripped and not was_tripped:
            self.get_logger().warning("/cmd_vel quiet: base stopped by the watchdog")
        if isinstance(self.robot, SimulatedRobot):
            self.robot.advance(self.control_period_s)
        self._publish_state()

    def _publish_state(self) -> None:
        if hasattr(self.robot, "on_frame"):  # frames are relayed on arrival (_relay_frame)
            obs = self.robot.get_state()
            self.pub_joints.publish(conv.joint_state(obs.ee_position, obs.gripper_opening, obs.stamp_s))
            self.pub_odom.publish(conv.odometry(obs.base_pose, obs.base_velocity, obs.stamp_s))
            if self.pub_clock is not None:  # the driver's time (simulated time from `sim serve`)
                self.pub_clock.publish(Clock(clock=Time.from_sec(obs.stamp_s)))
            return
        obs_time = self.robot.sim_time_s if isinstance(self.robot, SimulatedRobot) else self.get_clock().now()
        render = obs_time - self._last_camera_s >= self.camera_period_s - 1e-9
        obs = self.robot.get_observation() if render else self.robot.get_state()
        stamp = obs.stamp_s
        self.pub_joints.publish(conv.joint_state(obs.ee_position, obs.gripper_opening, stamp))
        self.pub_odom.publish(conv.odometry(obs.base_pose, obs.base_velocity, stamp))
        if self.pub_clock is not None:
            self.pub_clock.publish(Clock(clock=Time.from_sec(stamp)))
        if render:
            self._last_camera_s = obs_time
            self.pub_rgb.publish(conv.rgb_to_image(obs.rgb, stamp))
            self.pub_depth.publish(conv.depth_to_image(obs.depth, stamp))
            self.pub_info.publish(conv.camera_info(obs.intrinsics, stamp))

    def _relay_frame(self) -> None:
        seq = self.robot.frame_seq
        if seq == self._frame_seq or not self.robot.is_connected:
            return
        self._frame_seq = seq
        obs = self.robot.get_observation()
        self.pub_rgb.publish(conv.rgb_to_image(obs.rgb, obs.stamp_s))
        self.pub_depth.publish(conv.depth_to_image(obs.depth, obs.stamp_s))
        self.pub_info.publish(conv.camera_info(obs.intrinsics, obs.stamp_s))

    def destroy_node(self):
        robot = getattr(self, "robot", None)  # absent when __init__ failed on a bad parameter
        if robot is not None and robot.is_connected:
            robot.disconnect()
        super().destroy_node()


def main(args=None):
    """Entry point for `ros2 run robomatrix hardware_node` and `robomatrix launch`."""
    run_node(HardwareNode, args)


if __name__ == "__main__":
    main()
