"""Recording a one-process run as the ROS 2 graph would have published it.

In `robomatrix run` the skill layer drives the `Robot` directly (lock-step, no middleware), so
there is no hardware node publishing topics. `RobotTap` wraps the robot and reports every
observation, state read and applied command; `HardwareTopics` turns those into exactly the
messages `hardware_node` publishes (same topics, types and frames, via
`robomatrix.hardware.conversions`) and writes them to an `McapLog`:

  /camera/color/image_raw  /camera/depth/image_raw  /camera/camera_info   (each rendered frame)
  /joint_states  /odom                                (state reads, at most every `state_period_s`)
  /cmd_vel  /arm/command  /gripper/command            (every applied command, after safety clipping)
"""
from __future__ import annotations

from collections.abc import Callable

from robomatrix.hardware import conversions as conv
from robomatrix.hardware.robot import Action, Observation, SimulatedRobot
from robomatrix.logs.mcap_log import McapLog
from robomatrix.msgs import Float64, Point, Twist, Vector3


class RobotTap(SimulatedRobot):
    """A `SimulatedRobot` that forwards everything to `robot` and reports what passes through.

    `on_observation(obs)` for each `get_observation()` (with images), `on_state(obs)` for each
    `get_state()`, `on_action(applied, stamp_s)` for each `send_action()` (the clipped action).
    Anything else (`scene`, `render`, ...) is looked up on the wrapped robot.
    """

    def __init__(self, robot: SimulatedRobot, *, on_observation: Callable[[Observation], None] | None = None,
                 on_state: Callable[[Observation], None] | None = None,
                 on_action: Callable[[Action, float], None] | None = None):
        super().__init__(robot.config)
        self.robot = robot
        self.name = robot.name
        self.on_observation, self.on_state, self.on_action = on_observation, on_state, on_action

    def __getattr__(self, item):  # only called for attributes this class does not define
        if item == "robot":
            raise AttributeError(item)
        return getattr(self.robot, item)

    @property
    def is_connected(self) -> bool:
        return self.robot.is_connected

    def connect(self) -> None:
        self.robot.connect()

    def disconnect(self) -> None:
        self.robot.disconnect()

    def reset(self, scene="office", seed: int = 0) -> Observation:
        obs = self.robot.reset(scene, seed)
        if self.on_observation is not None:
            self.on_observation(obs)
        return obs

    def get_observation(self) -> Observation:
        obs = self.robot.get_observation()
        if self.on_observation is not None:
            self.on_observation(obs)
        return obs

    def get_state(self) -> Observation:
        obs = self.robot.get_state()
        if self.on_state is not None:
            self.on_state(obs)
        return obs

    def send_action(self, action: Action) -> Action:
        applied = self.robot.send_action(action)
        if self.on_action is not None:
            self.on_action(applied, self.robot.sim_time_s)
        return applied

    def stop(self) -> None:
        self.robot.stop()
        if self.on_action is not None:
            self.on_action(Action(), self.robot.sim_time_s)

    @property
    def sim_time_s(self) -> float:
        return self.robot.sim_time_s

    def advance(self, duration_s: float) -> None:
        self.robot.advance(duration_s)

    def oracle_object_poses(self):
        """ORACLE: forwarded (scoring only)."""
        return self.robot.oracle_object_poses()

    def oracle_drawer_opening(self) -> float:
        """ORACLE: forwarded (scoring only)."""
        return self.robot.oracle_drawer_opening()


class HardwareTopics:
    """Writes what `hardware_node` would publish into `log`; hook its methods into a `RobotTap`."""

    def __init__(self, log: McapLog, state_period_s: float = 0.05):
        self.log = log
        self.state_period_s = float(state_period_s)
        self._last_state_s: float | None = None

    def observation(self, obs: Observation) -> None:
        t = obs.stamp_s
        if obs.rgb is not None:
            self.log.write("/camera/color/image_raw", conv.rgb_to_image(obs.rgb, t), t)
        if obs.depth is not None:
            self.log.write("/camera/depth/image_raw", conv.depth_to_image(obs.depth, t), t)
        self.log.write("/camera/camera_info", conv.camera_info(obs.intrinsics, t), t)
        self.state(obs)

    def state(self, obs: Observation) -> None:
        t = obs.stamp_s
        if self._last_state_s is not None and t - self._last_state_s < self.state_period_s - 1e-9:
            return
        self._last_state_s = t
        self.log.write("/joint_states", conv.joint_state(obs.ee_position, obs.gripper_opening, t), t)
        self.log.write("/odom", conv.odometry(obs.base_pose, obs.base_velocity, t), t)

    def action(self, applied: Action, stamp_s: float) -> None:
        vx, vy, wz = applied.base_velocity
        self.log.write("/cmd_vel", Twist(linear=Vector3(x=vx, y=vy, z=0.0), angular=Vector3(x=0.0, y=0.0, z=wz)),
                       stamp_s)
        if applied.arm_target is not None:
            x, z = applied.arm_target
            self.log.write("/arm/command", Point(x=float(x), y=0.0, z=float(z)), stamp_s)
        if applied.gripper is not None:
            self.log.write("/gripper/command", Float64(data=float(applied.gripper)), stamp_s)
