"""`Ros2Robot` (backend `ros2`): the `Robot` contract for any robot whose ROS 2 driver speaks
standard topics, mapped by a robot profile (`robomatrix.hardware.profile`).

    robot = make_robot("ros2", profile="robomaster_ep")   # or a path to a profile .yaml
    with robot:                                            # refuses to start if topics are missing
        robot.send_action(Action(base_velocity=(0.2, 0, 0)))

`hardware_node backend:=ros2 profile:=...` wraps it, so the rest of the stack sees the same
hardware topics whether a simulator or a real robot sits behind them.

Safety, on top of `clip_action` (velocity, acceleration and workspace limits from the profile):
- connect() waits `startup_timeout_s` for a first message on every sensor topic and for the
  driver to subscribe to every command topic, and otherwise refuses to start, naming the topics;
- a watchdog thread stops the base when no command came from the stack for `command_timeout_s`
  (the process driving us hung or died) and while sensor data is stale (odometry or arm state
  older than `sensor_timeout_s`, camera older than `camera_timeout_s`); `send_action` refuses to
  move on stale data: it stops the base and holds arm and gripper;
- the e-stop (`set_estop`) latches: zero velocity, no arm or gripper commands, and the driver's
  own e-stop topic when the profile names one; `stop()` and `disconnect()` always send a zero twist.

Sensor callbacks run on the transport's delivery thread (no executor needed): they only store the
latest message under a lock, and time is measured on this process's monotonic clock.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robomatrix import comm
from robomatrix.comm.log import comm_logger
from robomatrix.errors import RoboMatrixError, UsageError
from robomatrix.hardware import conversions as conv
from robomatrix.hardware.profile import (
    COMMAND_CHANNELS,
    SENSOR_CHANNELS,
    Channel,
    RobotProfile,
    gripper_from_driver,
    gripper_to_driver,
    load_profile,
)
from robomatrix.hardware.robot import (
    Action,
    CameraIntrinsics,
    Observation,
    Robot,
    RobotConfig,
    clip_action,
    register_robot,
)
from robomatrix.msgs import Bool, Float64, Image, JointState, Point, PointStamped, Twist, Vector3

ODOM_HISTORY = 100  # odometry messages kept to find the one taken with a camera frame
RGB_FRAMES_KEPT = 4
WATCHDOG_PERIOD_S = 0.05


@dataclass
class Ros2RobotConfig(RobotConfig):
    """RobotConfig whose limits come from the robot profile (they override the defaults)."""

    profile: str = "sim"  # shipped profile name (robomaster_ep, sim) or path to a profile .yaml

    def __post_init__(self):
        self._robot_profile = load_profile(self.profile)
        for name, value in self._robot_profile.limits.items():
            setattr(self, name, value)
        super().__post_init__()

    @property
    def robot_profile(self) -> RobotProfile:
        return self._robot_profile  # loaded (and validated) once, with the limits


def _stamp(msg) -> float:
    return float(msg.header.stamp.sec) + 1e-9 * float(msg.header.stamp.nanosec)


def missing_topics_message(profile: RobotProfile, silent: list[Channel], unheard: list[Channel], waited_s: float) -> str:
    """The refusal to start, naming every missing topic and what to check."""
    parts = []
    if silent:
        parts.append("no data on " + ", ".join(f"{c.topic} ({_type_name(c)}, {c.name})" for c in silent))
    if unheard:
        parts.append("nobody subscribes to " + ", ".join(f"{c.topic} ({_type_name(c)}, {c.name})" for c in unheard))
    return (f"robot profile '{profile.name}' ({profile.source}): refusing to start after {waited_s:g} s: "
            f"{'; '.join(parts)}. Is the robot's driver running, on this ROS_DOMAIN_ID, with these topic names?")


def _type_name(channel: Channel) -> str:
    from robomatrix.msgs import ros_type_name

    return ros_type_name(channel.msg_type)


class Ros2Robot(Robot):
    """See the module docstring. `node`: a `comm.Node` to create the topics on (default: a node
    'ros2_robot' in `context`, else in the process's default context)."""

    name = "ros2"

    def __init__(self, config: Ros2RobotConfig | None = None, node: comm.Node | None = None,
                 context: comm.Context | None = None, camera_pose_base: np.ndarray | None = None,
                 clock: Callable[[], float] = time.monotonic):
        config = config or Ros2RobotConfig()
        super().__init__(config)
        self.profile = config.robot_profile
        self.safety = self.profile.safety
        self._given_node, self._context, self._clock = node, context, clock
        self._node: comm.Node | None = None
        if camera_pose_base is None:
            from robomatrix.perception.robot_model import camera_pose_base as urdf_camera_pose

            camera_pose_base = urdf_camera_pose()
        self.camera_pose_base = np.asarray(camera_pose_base, float)
        self.log = comm_logger()
        self._lock = threading.Lock()
        self._last_rx: dict[str, float] = {}  # channel → monotonic time of its last message
        self._odom = None
        self._odom_history: deque = deque(maxlen=ODOM_HISTORY)
        self._arm: tuple[float, float] | None = None  # measured gripper (x, z) in base_link
        self._gripper: float | None = None  # measured opening
        self._rgb: dict[float, Image] = {}
        self._depth: Image | None = None
        self._info = None
        self._frame_seq = 0  # counts depth frames (a new RGB-D frame)
        self._pubs: dict[str, comm.Publisher] = {}
        self._connected = False
        self._estop = False
        self._last_velocity = (0.0, 0.0, 0.0)
        self._last_command_s: float | None = None
        self._last_send_s = -float("inf")
        self._last_arm_sent: tuple[float, float] | None = None
        self._last_gripper_cmd: float | None = None
        self._stopped_by: str = ""  # why the watchdog holds the base ('' = not holding)
        self._watchdog: threading.Thread | None = None
        self._stop_event = threading.Event()
        self.on_frame: Callable[[], None] | None = None  # called (delivery thread) on each new depth frame

    # ------------------------------------------------------------------ lifecycle
    def use_node(self, node: comm.Node) -> None:
        """Create the driver's topics on `node` (e.g. the hardware node hosting this robot)."""
        if self._connected:
            raise RuntimeError("use_node() must come before connect()")
        self._given_node = node
        self.log = node.get_logger()

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        if self._connected:
            return
        node = self._given_node or comm.Node("ros2_robot", context=self._context or comm.default_context())
        self._node = node
        by_topic: dict[str, list[Channel]] = {}
        for name in SENSOR_CHANNELS:
            ch = self.profile.channel(name)
            if ch.available:
                by_topic.setdefault(ch.topic, []).append(ch)
        for topic, channels in by_topic.items():
            # best effort matches both reliable and best-effort drivers; callbacks only store
            node._create_direct_subscription(channels[0].msg_type, topic,
                                             lambda msg, chs=channels: self._on_sensor(chs, msg),
                                             comm.QOS_SENSOR_DATA)
        for name in COMMAND_CHANNELS:
            ch = self.profile.channel(name)
            if ch.available:
                qos = comm.QOS_LATCHED if name == "estop" else 10
                self._pubs[name] = node.create_publisher(ch.msg_type, ch.topic, qos)
        self._wait_for_topics()
        self._connected = True
        self._last_command_s = self._clock()
        self._stop_event.clear()
        self._watchdog = threading.Thread(target=self._watchdog_loop, name="ros2_robot_watchdog", daemon=True)
        self._watchdog.start()
        self.log.info(f"ros2 robot '{self.profile.name}' connected: {len(by_topic)} sensor topics, "
                      f"{len(self._pubs)} command topics")

    def _wait_for_topics(self) -> None:
        timeout = self.safety["startup_timeout_s"]
        deadline = self._clock() + timeout
        if any(self.missing_topics()):
            self.log.info(f"ros2 robot '{self.profile.name}': waiting up to {timeout:g} s for the driver's topics")
        while True:
            silent, unheard = self.missing_topics()
            if not silent and not unheard:
                return
            if self._clock() >= deadline:
                self._close_node()
                raise RoboMatrixError(missing_topics_message(self.profile, silent, unheard, timeout))
            time.sleep(0.02)

    def missing_topics(self) -> tuple[list[Channel], list[Channel]]:
        """(sensor channels never heard from, command channels with no subscriber)."""
        with self._lock:
            heard = set(self._last_rx)
        silent = [self.profile.channel(n) for n in SENSOR_CHANNELS
                  if self.profile.channel(n).available and n not in heard]
        unheard = [self.profile.channel(n) for n, pub in self._pubs.items() if pub.get_subscription_count() == 0]
        return silent, unheard

    def disconnect(self) -> None:
        if self._connected:
            try:
                self.stop()
            except Exception as exc:  # the transport may already be closing; stopping is best effort
                self.log.warning(f"ros2 robot: stop on disconnect failed: {exc}")
            self._stop_event.set()
            if self._watchdog is not None and self._watchdog is not threading.current_thread():
                self._watchdog.join(timeout=1.0)
        self._connected = False
        self._close_node()

    def _close_node(self) -> None:
        if self._node is not None and self._node is not self._given_node:
            try:
                self._node.destroy_node()
            except RuntimeError:
                pass
        self._node = None
        self._pubs = {}

    # ------------------------------------------------------------------ sensor callbacks
    def _on_sensor(self, channels: list[Channel], msg) -> None:
        now = self._clock()
        new_frame = False
        with self._lock:
            for ch in channels:
                self._last_rx[ch.name] = now
                if ch.name == "odom":
                    self._odom = msg
                    self._odom_history.append(msg)
                elif ch.name == "rgb":
                    self._rgb[_stamp(msg)] = msg
                    for old in sorted(self._rgb)[:-RGB_FRAMES_KEPT]:
                        del self._rgb[old]
                elif ch.name == "depth":
                    self._depth = msg
                    self._frame_seq += 1
                    new_frame = True
                elif ch.name == "camera_info":
                    self._info = msg
                elif ch.name == "arm_state":
                    arm = self._arm_from(ch, msg)
                    if arm is not None:
                        self._arm = arm
                    else:
                        self._last_rx.pop(ch.name, None)  # a joint state without our joints
                elif ch.name == "gripper_state":
                    value = self._joint(msg, ch.opt("joint"))
                    if value is not None:
                        self._gripper = gripper_from_driver(value, ch)
                    else:
                        self._last_rx.pop(ch.name, None)
        if new_frame and self.on_frame is not None:
            self.on_frame()

    @staticmethod
    def _joint(msg: JointState, name: str) -> float | None:
        try:
            value = float(msg.position[list(msg.name).index(name)])
        except (ValueError, IndexError):
            return None
        return value if math.isfinite(value) else None

    def _arm_from(self, ch: Channel, msg) -> tuple[float, float] | None:
        ox, oz = self.profile.arm_offset_m
        if isinstance(msg, PointStamped):
            x, z = msg.point.x, msg.point.z
        else:
            x, z = self._joint(msg, ch.opt("x_joint")), self._joint(msg, ch.opt("z_joint"))
            if x is None or z is None:
                return None
            x, z = x / ch.opt("scale"), z / ch.opt("scale")
        return (float(x) + ox, float(z) + oz)

    # ------------------------------------------------------------------ health
    def stale_topics(self, now: float | None = None) -> list[str]:
        """Sensor channels whose data is too old (or never came): what stops the robot."""
        now = self._clock() if now is None else now
        out = []
        with self._lock:
            for name in SENSOR_CHANNELS:
                if not self.profile.channel(name).available:
                    continue
                limit = self.safety["camera_timeout_s" if name in ("rgb", "depth", "camera_info")
                                    else "sensor_timeout_s"]
                last = self._last_rx.get(name)
                if last is None or now - last > limit:
                    out.append(name)
        return out

    @property
    def frame_seq(self) -> int:
        """How many depth frames have arrived (a consumer republishes a frame only once)."""
        with self._lock:
            return self._frame_seq

    # ------------------------------------------------------------------ sensing
    def reset(self, scene="office", seed: int = 0) -> Observation:
        """A real robot cannot reset the world: it stops and returns what it senses."""
        self.stop()
        return self.get_observation()

    def get_state(self, at_stamp_s: float | None = None) -> Observation:
        with self._lock:
            odom, arm, gripper, info = self._odom, self._arm, self._gripper, self._info
            if at_stamp_s is not None and self._odom_history:
                odom = min(self._odom_history, key=lambda m: abs(_stamp(m) - at_stamp_s))
        if odom is None or arm is None:
            raise RoboMatrixError(f"ros2 robot '{self.profile.name}': no odometry / arm state yet on "
                                  f"{self.profile.channel('odom').topic} and {self.profile.channel('arm_state').topic}")
        if gripper is None:  # no gripper feedback on this robot: report what was commanded
            gripper = 1.0 if self._last_gripper_cmd is None else self._last_gripper_cmd
        pose, twist = odom.pose.pose, odom.twist.twist
        intrinsics = (_intrinsics(info) if info is not None else
                      CameraIntrinsics(self.config.camera_width, self.config.camera_height, 1.0, 1.0, 0.0, 0.0))
        return Observation(
            rgb=None, depth=None, intrinsics=intrinsics, camera_pose_base=self.camera_pose_base.copy(),
            base_pose=np.array([pose.position.x, pose.position.y, conv.quaternion_to_yaw(pose.orientation)]),
            base_velocity=np.array([twist.linear.x, twist.linear.y, twist.angular.z]),
            ee_position=np.array(arm, float), gripper_opening=float(gripper), stamp_s=_stamp(odom))

    def get_observation(self) -> Observation:
        with self._lock:
            depth, info = self._depth, self._info
            rgb = None if depth is None else self._rgb.get(_stamp(depth))
            if rgb is None and self._rgb:
                rgb = self._rgb[max(self._rgb)]
        if rgb is None or depth is None or info is None:
            raise RoboMatrixError(f"ros2 robot '{self.profile.name}': no camera frames yet on "
                                  f"{self.profile.channel('rgb').topic} / {self.profile.channel('depth').topic}")
        obs = self.get_state(at_stamp_s=_stamp(depth))
        obs.rgb = conv.image_to_array(rgb)
        obs.depth = conv.image_to_array(depth)
        if depth.encoding == "16UC1":  # image_to_array reads millimetres; the profile may say otherwise
            obs.depth = obs.depth * (self.profile.channel("depth").opt("depth_unit_m") / 0.001)
        obs.intrinsics = _intrinsics(info)
        return obs

    # ------------------------------------------------------------------ acting
    def send_action(self, action: Action) -> Action:
        if not self._connected:
            raise RoboMatrixError("Ros2Robot is not connected: call connect() first.")
        now = self._clock()
        with self._lock:
            self._last_command_s = now
        if self._estop:
            self._publish_twist(0.0, 0.0, 0.0)
            return Action(base_velocity=(0.0, 0.0, 0.0))
        stale = self.stale_topics(now)
        if stale:
            self._hold(f"stale sensor data on {', '.join(self.profile.channel(n).topic for n in stale)}")
            return Action(base_velocity=(0.0, 0.0, 0.0))
        if self._stopped_by:
            self.log.info(f"ros2 robot '{self.profile.name}': commands and sensor data fresh again, moving")
            self._stopped_by = ""
        # commands may come faster than the control period (hardware_node forwards each as it
        # arrives): the acceleration limit counts the time since the last one, at most one period
        dt = min(max(now - self._last_send_s, 0.0), self.config.control_period_s)
        self._last_send_s = now
        applied = clip_action(action, self.config, self._last_velocity, dt_s=dt)
        self._publish_twist(*applied.base_velocity)
        if applied.arm_target is not None and "arm_command" in self._pubs:
            self._send_arm(applied.arm_target)
        if applied.gripper is not None and "gripper_command" in self._pubs:
            ch = self.profile.channel("gripper_command")
            self._pubs["gripper_command"].publish(Float64(data=gripper_to_driver(applied.gripper, ch)))
            self._last_gripper_cmd = applied.gripper
        return applied

    def _send_arm(self, target: tuple[float, float]) -> None:
        ch = self.profile.channel("arm_command")
        ox, oz = self.profile.arm_offset_m
        scale = ch.opt("scale")
        if ch.msg_type is Vector3:
            # a relative command moves by (target − measured): send it once per new set-point, or
            # repeated deltas would add up while the arm is still moving
            if self._last_arm_sent is not None and max(abs(target[0] - self._last_arm_sent[0]),
                                                       abs(target[1] - self._last_arm_sent[1])) < ch.opt("min_step_m"):
                return
            with self._lock:
                arm = self._arm
            if arm is None:
                return
            self._pubs["arm_command"].publish(Vector3(x=(target[0] - arm[0]) * scale, y=0.0,
                                                      z=(target[1] - arm[1]) * scale))
        else:
            self._pubs["arm_command"].publish(Point(x=(target[0] - ox) * scale, y=0.0, z=(target[1] - oz) * scale))
        self._last_arm_sent = target

    def _publish_twist(self, vx: float, vy: float, wz: float) -> None:
        ch = self.profile.channel("cmd_vel")
        msg = Twist()
        msg.linear.x = float(vx) * ch.opt("linear_scale")
        msg.linear.y = float(vy) * ch.opt("linear_scale")
        msg.angular.z = float(wz) * ch.opt("angular_scale")
        pub = self._pubs.get("cmd_vel")
        if pub is not None:
            pub.publish(msg)
        self._last_velocity = (float(vx), float(vy), float(wz))

    def _hold(self, why: str) -> None:
        """Stop the base (and keep it stopped) for `why`; logged once per cause."""
        self._publish_twist(0.0, 0.0, 0.0)
        if self._stopped_by != why:
            self.log.warning(f"ros2 robot '{self.profile.name}': base stopped: {why}")
            self._stopped_by = why

    def stop(self) -> None:
        """Zero the base at once; arm and gripper keep their last set-points."""
        if self._pubs:
            self._publish_twist(0.0, 0.0, 0.0)

    def set_estop(self, engaged: bool) -> None:
        """Engage (latched) or release the e-stop; forwarded to the driver's e-stop topic if any."""
        self._estop = bool(engaged)
        if engaged:
            self.stop()
        if "estop" in self._pubs:
            self._pubs["estop"].publish(Bool(data=bool(engaged)))

    @property
    def estop_engaged(self) -> bool:
        return self._estop

    # ------------------------------------------------------------------ watchdog
    def _watchdog_loop(self) -> None:
        while not self._stop_event.wait(WATCHDOG_PERIOD_S):
            try:
                self.check_watchdog()
            except Exception as exc:  # a closing transport must not kill the thread noisily
                if self._connected:
                    self.log.warning(f"ros2 robot watchdog: {type(exc).__name__}: {exc}")

    def check_watchdog(self, now: float | None = None) -> str:
        """Stop the base if commands or sensor data went stale; returns why ('' when all is well)."""
        now = self._clock() if now is None else now
        with self._lock:
            last = self._last_command_s
        why = ""
        if last is not None and now - last > self.safety["command_timeout_s"]:
            why = f"no command for {now - last:.2f} s (> command_timeout_s {self.safety['command_timeout_s']:g})"
        else:
            stale = self.stale_topics(now)
            if stale:
                why = f"stale sensor data on {', '.join(self.profile.channel(n).topic for n in stale)}"
        if why:
            self._hold(why)
        return why


def _intrinsics(info) -> CameraIntrinsics:
    k = list(info.k)
    return CameraIntrinsics(width=int(info.width), height=int(info.height), fx=float(k[0]), fy=float(k[4]),
                            cx=float(k[2]), cy=float(k[5]))


def _make(config: RobotConfig) -> Robot:
    if not isinstance(config, Ros2RobotConfig):
        raise UsageError("the ros2 backend needs a Ros2RobotConfig (make_robot('ros2', profile=...))")
    return Ros2Robot(config)


register_robot("ros2", Ros2RobotConfig, _make)
