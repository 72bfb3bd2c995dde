"""The hardware contract: one small `Robot` interface for every backend (MuJoCo, PyBullet, real).

After LeRobot's `Robot` class. Every backend is configured by a dataclass (`RobotConfig` or a
subclass) and registered by name; `make_robot("mujoco", camera_width=160)` builds one.

Frames and units (REP 103/105):
- `odom`/world: fixed frame the base pose is given in; x, y in metres, yaw in radians about +z.
- `base_link`: the robot base, origin on the floor under the chassis centre, x forward, y left, z up.
- camera optical frame: OpenCV convention, x right, y down, z forward (along the optical axis).

The arm is two prismatic joints that place the gripper centre at (x forward, z up) in base_link,
so arm targets are positions, not joint angles. The gripper is 0 closed … 1 fully open.

Safety clipping lives here, shared by every backend (`clip_action`): the base velocity is limited
in magnitude and in change per command (acceleration), arm targets are clamped to the workspace,
non-finite numbers never reach the motors. `send_action` returns what was actually applied.
"""
from __future__ import annotations

import abc
import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

from robomatrix.errors import UsageError, unknown_name


@dataclass
class CameraIntrinsics:
    """Pinhole intrinsics, no distortion. Pixel (u, v) has its centre at integer coordinates
    (OpenCV convention): u = fx * x / z + cx, v = fy * y / z + cy in the optical frame."""

    width: int  # image width, pixels
    height: int  # image height, pixels
    fx: float  # focal length along u, pixels
    fy: float  # focal length along v, pixels
    cx: float  # principal point u, pixels
    cy: float  # principal point v, pixels

    def matrix(self) -> np.ndarray:
        """(3, 3) camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


@dataclass
class Observation:
    """What the robot senses at one instant. Images are None from `get_state()` (no rendering)."""

    rgb: np.ndarray | None  # (H, W, 3) uint8 colour image
    depth: np.ndarray | None  # (H, W) float32, metres along the optical axis (z-depth), 0 = no return
    intrinsics: CameraIntrinsics  # of both images (they are registered: same pixel grid)
    camera_pose_base: np.ndarray  # (4, 4) transform camera optical frame → base_link
    base_pose: np.ndarray  # (3,) x m, y m, yaw rad of base_link in the odom/world frame
    base_velocity: np.ndarray  # (3,) vx m/s, vy m/s (in base_link), wz rad/s
    ee_position: np.ndarray  # (2,) gripper centre x (forward) m, z (up, above floor) m, in base_link
    gripper_opening: float  # 0 closed … 1 fully open, measured (not commanded)
    stamp_s: float  # robot clock time, seconds (simulated time for simulators)


@dataclass
class Action:
    """A command. `None` fields mean "hold the current set-point"."""

    base_velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)  # vx, vy m/s in base_link, wz rad/s
    arm_target: tuple[float, float] | None = None  # gripper centre (x, z) m in base_link; None = hold
    gripper: float | None = None  # 0 closed … 1 open; None = hold


@dataclass
class RobotConfig:
    """Limits and sensor settings every backend honours. Backends subclass it to add their own."""

    base_velocity_limit_mps: float = 1.0  # max planar speed |(vx, vy)|, m/s
    base_yaw_rate_limit_radps: float = 2.0  # max |wz|, rad/s
    base_acceleration_limit_mps2: float = 3.0  # max change of planar velocity per second, m/s^2
    base_yaw_acceleration_limit_radps2: float = 8.0  # max change of wz per second, rad/s^2
    control_period_s: float = 0.02  # nominal interval between send_action calls (acceleration limit)
    arm_x_range_m: tuple[float, float] = (0.18, 0.42)  # gripper x (forward) workspace in base_link, m
    arm_z_range_m: tuple[float, float] = (0.03, 0.30)  # gripper z (above the floor) workspace, m
    arm_speed_limit_mps: float = 0.35  # max speed of the gripper towards its target, m/s
    gripper_close_time_s: float = 0.5  # full open → closed takes this long (ramped: no impacts)
    camera_width: int = 640  # image width, pixels
    camera_height: int = 480  # image height, pixels

    def __post_init__(self):
        positive = ("base_velocity_limit_mps", "base_yaw_rate_limit_radps", "base_acceleration_limit_mps2",
                    "base_yaw_acceleration_limit_radps2", "control_period_s", "arm_speed_limit_mps",
                    "gripper_close_time_s")
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"{type(self).__name__}.{name} must be a positive number, got {value!r}.")
        for name in ("arm_x_range_m", "arm_z_range_m"):
            value = tuple(getattr(self, name))
            if len(value) != 2 or not all(math.isfinite(v) for v in value) or not value[0] < value[1]:
                raise UsageError(f"{type(self).__name__}.{name} must be (low, high) with low < high, got {value!r}.")
            setattr(self, name, (float(value[0]), float(value[1])))
        for name in ("camera_width", "camera_height"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 8 <= value <= 4096):
                raise UsageError(f"{type(self).__name__}.{name} must be an integer in 8..4096 pixels, got {value!r}.")


def _finite(value, default: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def clip_action(action: Action, config: RobotConfig, previous_base_velocity=(0.0, 0.0, 0.0),
                dt_s: float | None = None) -> Action:
    """The action a robot may apply: pure function, shared by every backend.

    - base (vx, vy) scaled down (direction kept) to at most `base_velocity_limit_mps`, wz clamped
      to ±`base_yaw_rate_limit_radps`; non-finite components become 0;
    - acceleration: the change from `previous_base_velocity` is at most
      `base_acceleration_limit_mps2 * dt` (planar, direction kept) and
      `base_yaw_acceleration_limit_radps2 * dt` (yaw), with dt = `dt_s` or `control_period_s`;
    - arm target clamped into the x/z workspace (a non-finite target means hold: None);
    - gripper clamped to [0, 1] (non-finite means hold: None).
    """
    dt = config.control_period_s if dt_s is None else max(float(dt_s), 0.0)
    vx, vy, wz = (_finite(v, 0.0) for v in action.base_velocity)
    speed = math.hypot(vx, vy)
    if speed > config.base_velocity_limit_mps:
        vx, vy = vx * config.base_velocity_limit_mps / speed, vy * config.base_velocity_limit_mps / speed
    wz = min(max(wz, -config.base_yaw_rate_limit_radps), config.base_yaw_rate_limit_radps)

    px, py, pw = (float(v) for v in previous_base_velocity)
    dvx, dvy = vx - px, vy - py
    max_dv = config.base_acceleration_limit_mps2 * dt
    dv = math.hypot(dvx, dvy)
    if dv > max_dv:
        vx, vy = px + dvx * max_dv / dv, py + dvy * max_dv / dv
    max_dw = config.base_yaw_acceleration_limit_radps2 * dt
    wz = pw + min(max(wz - pw, -max_dw), max_dw)

    arm = None
    if action.arm_target is not None:
        x, z = (_finite(v, math.nan) for v in action.arm_target)
        if math.isfinite(x) and math.isfinite(z):
            arm = (min(max(x, config.arm_x_range_m[0]), config.arm_x_range_m[1]),
                   min(max(z, config.arm_z_range_m[0]), config.arm_z_range_m[1]))
    gripper = None
    if action.gripper is not None:
        g = _finite(action.gripper, math.nan)
        gripper = min(max(g, 0.0), 1.0) if math.isfinite(g) else None
    return Action(base_velocity=(vx, vy, wz), arm_target=arm, gripper=gripper)


class Robot(abc.ABC):
    """A mobile manipulator: holonomic base, 2-DoF (x, z) arm, parallel gripper, RGB-D camera.

    Use as a context manager (`with make_robot("mujoco") as robot:`), which connects and
    disconnects. All methods except `connect` need a connected robot.
    """

    name: str = "robot"

    def __init__(self, config: RobotConfig):
        self.config = config

    # ------------------------------------------------------------- lifecycle
    @property
    @abc.abstractmethod
    def is_connected(self) -> bool:
        """True between `connect()` and `disconnect()`."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection (simulators: build the model and the renderer). Idempotent."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Stop the robot and release everything. Idempotent."""

    def __enter__(self) -> Robot:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()

    # ------------------------------------------------------------- sensing and acting
    @abc.abstractmethod
    def reset(self, scene="office", seed: int = 0) -> Observation:
        """Put the robot (and, in simulation, the world) in the start state of `scene` (a registered
        scene name or a SceneSpec), randomised by `seed`; returns the first observation. Real robots
        only stop and re-zero odometry."""

    @abc.abstractmethod
    def get_observation(self) -> Observation:
        """Everything sensed now, including a rendered/captured RGB-D frame."""

    @abc.abstractmethod
    def get_state(self) -> Observation:
        """Proprioception only (pose, velocity, arm, gripper, camera pose); `rgb` and `depth` are None.
        Cheap: no rendering or image transfer."""

    @abc.abstractmethod
    def send_action(self, action: Action) -> Action:
        """Command the robot; returns the action actually applied after `clip_action` (velocity,
        acceleration and workspace limits). Base velocity is a rate: it holds until the next call."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Zero the base velocity at once (no acceleration limit) and hold the arm and gripper where
        they are now. Watchdogs and the e-stop use it."""


class SimulatedRobot(Robot):
    """What simulators add: lock-step time and ground truth for scoring."""

    @property
    @abc.abstractmethod
    def sim_time_s(self) -> float:
        """Simulated time since `reset`, seconds."""

    @abc.abstractmethod
    def advance(self, duration_s: float) -> None:
        """Step the physics for `duration_s` simulated seconds, holding the last applied action."""

    @abc.abstractmethod
    def oracle_object_poses(self) -> dict[str, np.ndarray]:
        """ORACLE (ground truth; for scoring and expert demonstrations only, never for perception):
        object name → (7,) world pose [x, y, z, qw, qx, qy, qz] (metres, unit quaternion)."""

    @abc.abstractmethod
    def oracle_drawer_opening(self) -> float:
        """ORACLE: how far the drawer is pulled out, metres (0 closed); 0 when the scene has none."""


# ----------------------------------------------------------------- registry
@dataclass
class _Backend:
    config_cls: type
    factory: Callable[[RobotConfig], Robot]


ROBOTS: dict[str, _Backend] = {}
# Built-in backends live in optional layers and register themselves when their module is imported.
_BUILTIN_MODULES: dict[str, str] = {"mujoco": "robomatrix.sim.mujoco_backend",
                                   "pybullet": "robomatrix.sim.pybullet_backend",
                                   "ros2": "robomatrix.hardware.ros2_robot"}


def register_robot(name: str, config_cls: type, factory: Callable[[RobotConfig], Robot]) -> None:
    """Make a backend available to `make_robot(name)`. `config_cls` is a RobotConfig dataclass."""
    if not (isinstance(config_cls, type) and issubclass(config_cls, RobotConfig)):
        raise TypeError(f"config_cls of robot backend '{name}' must subclass RobotConfig, got {config_cls!r}")
    ROBOTS[name] = _Backend(config_cls, factory)


def _load_builtin(name: str) -> None:
    module = _BUILTIN_MODULES.get(name)
    if module and name not in ROBOTS:
        importlib.import_module(module)


def robot_names() -> list[str]:
    """Names accepted by `make_robot` (built-in backends plus any registered ones)."""
    return sorted(set(ROBOTS) | set(_BUILTIN_MODULES))


def robot_config(name: str, **overrides) -> RobotConfig:
    """The config dataclass of backend `name` with `overrides` applied (validated)."""
    if name not in robot_names():
        raise unknown_name("robot backend", name, robot_names())
    _load_builtin(name)
    config_cls = ROBOTS[name].config_cls
    known = {f.name for f in fields(config_cls)}
    for key in overrides:
        if key not in known:
            raise unknown_name(f"setting of robot backend '{name}'", key, known)
    return replace(config_cls(), **overrides) if overrides else config_cls()


def make_robot(name: str, **config_overrides) -> Robot:
    """Build (not connect) the robot backend `name`, e.g. `make_robot("mujoco", camera_width=128)`.
    Unknown names and settings raise UsageError with the closest valid name."""
    config = robot_config(name, **config_overrides)
    return ROBOTS[name].factory(config)


__all__ = [
    "Action", "CameraIntrinsics", "Observation", "Robot", "RobotConfig", "SimulatedRobot", "ROBOTS",
    "clip_action", "make_robot", "register_robot", "robot_config", "robot_names",
]
