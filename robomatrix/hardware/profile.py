"""Robot profiles: how one ROS 2 robot driver's standard topics map onto the `Robot` contract.

A profile is a YAML file (`robomatrix/hardware/profiles/<name>.yaml`, or any path) that names,
per *channel*, the driver's topic and message type, the units and scales to convert with, and
the robot's velocity and workspace limits and safety timeouts. The `ros2` backend
(`Ros2Robot`) reads it to drive a robot; `robomatrix sim serve --profile` reads the same file to
play that robot's driver with the simulator. Loading validates everything and every error names
the file and the key (`sim.yaml: topics.cmd_vel.type: ...`).

Channels (driver side; `topic: null` where the driver has none, for the optional ones):
  cmd_vel          geometry_msgs/msg/Twist        base velocity in base_link (x fwd, y left, wz)
  odom             nav_msgs/msg/Odometry          base pose in odom, twist in base_link
  rgb              sensor_msgs/msg/Image          rgb8 or bgr8
  depth            sensor_msgs/msg/Image          32FC1 (m) or 16UC1 (`depth_unit_m` each)
  camera_info      sensor_msgs/msg/CameraInfo     intrinsics of rgb and depth (registered)
  arm_state        sensor_msgs/msg/JointState     gripper x, z from two joints (`x_joint`, `z_joint`)
                   geometry_msgs/msg/PointStamped  or the end point (x, z) in the arm's frame
  arm_command      geometry_msgs/msg/Point        absolute gripper target (x, z) in the arm's frame
                   geometry_msgs/msg/Vector3       or a relative one (target − measured)
  gripper_state    sensor_msgs/msg/JointState     opening from joint `joint` (optional)
  gripper_command  std_msgs/msg/Float64           opening set-point (optional)
  estop            std_msgs/msg/Bool              the driver's own e-stop input (optional)

Arm frames: the driver's arm frame sits at `arm_offset_m` (x, z) in base_link, so
driver = ours − offset. Gripper values map linearly: `closed` ↔ 0, `open` ↔ 1.
Velocity scales: driver value = ours × `linear_scale` / `angular_scale`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robomatrix.errors import UsageError, closest, unknown_name
from robomatrix.msgs import (
    Bool,
    CameraInfo,
    Float64,
    Image,
    JointState,
    Odometry,
    Point,
    PointStamped,
    Twist,
    Vector3,
    ros_type_name,
)

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
PROFILE_VERSION = 1

# channel → message types the driver may use for it (the first is the usual one)
CHANNEL_TYPES: dict[str, tuple[type, ...]] = {
    "cmd_vel": (Twist,),
    "odom": (Odometry,),
    "rgb": (Image,),
    "depth": (Image,),
    "camera_info": (CameraInfo,),
    "arm_state": (JointState, PointStamped),
    "arm_command": (Point, Vector3),
    "gripper_state": (JointState,),
    "gripper_command": (Float64,),
    "estop": (Bool,),
}
OPTIONAL_CHANNELS = ("gripper_state", "gripper_command", "estop")
SENSOR_CHANNELS = ("odom", "rgb", "depth", "camera_info", "arm_state", "gripper_state")
COMMAND_CHANNELS = ("cmd_vel", "arm_command", "gripper_command", "estop")
# per-channel options and their defaults (beyond `topic` and `type`)
CHANNEL_OPTIONS: dict[str, dict[str, Any]] = {
    "cmd_vel": {"linear_scale": 1.0, "angular_scale": 1.0},
    "odom": {},
    "rgb": {},
    "depth": {"depth_unit_m": 0.001},
    "camera_info": {},
    "arm_state": {"x_joint": "arm_x_joint", "z_joint": "arm_z_joint", "scale": 1.0},
    "arm_command": {"scale": 1.0, "min_step_m": 0.002},
    "gripper_state": {"joint": "gripper_opening", "closed": 0.0, "open": 1.0},
    "gripper_command": {"closed": 0.0, "open": 1.0},
    "estop": {},
}
LIMITS = {  # profile key → (RobotConfig field, default)
    "base_velocity_mps": ("base_velocity_limit_mps", 1.0),
    "base_yaw_rate_radps": ("base_yaw_rate_limit_radps", 2.0),
    "base_acceleration_mps2": ("base_acceleration_limit_mps2", 3.0),
    "base_yaw_acceleration_radps2": ("base_yaw_acceleration_limit_radps2", 8.0),
    "arm_speed_mps": ("arm_speed_limit_mps", 0.35),
    "arm_x_range_m": ("arm_x_range_m", (0.18, 0.42)),
    "arm_z_range_m": ("arm_z_range_m", (0.03, 0.30)),
}
SAFETY = {  # key → default seconds
    "command_timeout_s": 0.5,  # no command from the stack for this long: stop the base
    "sensor_timeout_s": 0.5,  # odometry / arm state older than this: stop, refuse to move
    "camera_timeout_s": 1.0,  # no camera frame for this long: stop, refuse to move
    "startup_timeout_s": 10.0,  # wait this long for every required topic at connect
}


@dataclass(frozen=True)
class Channel:
    """One driver topic. `topic` is fully resolved ('' when the driver has none)."""

    name: str  # channel name (see the module docstring)
    topic: str  # resolved topic name, '' = not available
    msg_type: type | None  # message class
    options: dict = field(default_factory=dict)  # channel options with defaults filled in

    @property
    def available(self) -> bool:
        return bool(self.topic)

    def opt(self, key: str):
        return self.options[key]


@dataclass(frozen=True)
class RobotProfile:
    """A validated profile. Build with `load_profile(name_or_path)`."""

    name: str  # profile name
    source: str  # the file it came from
    description: str  # one line for people
    namespace: str  # prefix of the relative topic names
    channels: dict[str, Channel]  # every channel of CHANNEL_TYPES
    limits: dict[str, Any]  # RobotConfig field → value
    safety: dict[str, float]  # SAFETY key → seconds
    arm_offset_m: tuple[float, float]  # driver's arm frame origin (x, z) in base_link, m

    def channel(self, name: str) -> Channel:
        return self.channels[name]

    def required_topics(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.available]


def profile_names() -> list[str]:
    """The profiles shipped in robomatrix/hardware/profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def profile_path(name_or_path: str) -> Path:
    """A shipped profile's file by name, or the file itself when given a path."""
    text = str(name_or_path).strip()
    if not text:
        raise UsageError(f"A robot profile is needed: one of {', '.join(profile_names())}, or a .yaml file.")
    if "/" in text or text.endswith((".yaml", ".yml")):
        path = Path(text).expanduser()
        if not path.is_file():
            raise UsageError(f"Robot profile file '{text}' does not exist.")
        return path
    if text not in profile_names():
        raise unknown_name("robot profile", text, profile_names())
    return PROFILE_DIR / f"{text}.yaml"


class _Where:
    """Builds errors that name the file and the key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str) -> UsageError:
        return UsageError(f"{self.source}: {key}: {problem}")

    def number(self, value, key: str, positive: bool = True, nonzero: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be > 0, got {value!r}")
        if nonzero and value == 0:
            raise self.fail(key, "must not be 0")
        return float(value)

    def mapping(self, value, key: str, allowed) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        for k in value:
            if k not in allowed:
                hint = closest(str(k), allowed)
                raise self.fail(f"{key}.{k}" if key else str(k),
                                f"unknown key{f' (did you mean {hint!r}?)' if hint else ''}; "
                                f"expected one of {', '.join(sorted(allowed))}")
        return value


def _resolve(topic: str, namespace: str) -> str:
    if topic.startswith("/"):
        return topic
    return namespace.rstrip("/") + "/" + topic


def _topic_name(value, key: str, where: _Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.fail(key, f"expected a topic name, got {value!r}")
    text = value.strip()
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/~")
    if not set(text) <= allowed or "//" in text or text.endswith("/") or text[0].isdigit():
        raise where.fail(key, f"{value!r} is not a valid ROS 2 topic name")
    return text


def _channel(name: str, body, namespace: str, where: _Where) -> Channel:
    key = f"topics.{name}"
    if body is None:
        if name in OPTIONAL_CHANNELS:
            return Channel(name, "", None, dict(CHANNEL_OPTIONS[name]))
        raise where.fail(key, "missing (every robot needs this channel)")
    body = where.mapping(body, key, {"topic", "type", *CHANNEL_OPTIONS[name]})
    if body.get("topic") is None:
        if name in OPTIONAL_CHANNELS:
            return Channel(name, "", None, dict(CHANNEL_OPTIONS[name]))
        raise where.fail(f"{key}.topic", "missing (every robot needs this channel)")
    topic = _resolve(_topic_name(body["topic"], f"{key}.topic", where), namespace)
    types = {ros_type_name(t): t for t in CHANNEL_TYPES[name]}
    type_name = body.get("type", next(iter(types)))
    if type_name not in types:
        hint = closest(str(type_name), types)
        raise where.fail(f"{key}.type", f"{type_name!r} is not supported for this channel"
                         f"{f' (did you mean {hint!r}?)' if hint else ''}; expected {' or '.join(types)}")
    options = dict(CHANNEL_OPTIONS[name])
    for opt, default in CHANNEL_OPTIONS[name].items():
        if opt not in body:
            continue
        value = body[opt]
        if isinstance(default, str):
            if not isinstance(value, str) or not value:
                raise where.fail(f"{key}.{opt}", f"expected a name, got {value!r}")
        else:
            value = where.number(value, f"{key}.{opt}", positive=opt in ("depth_unit_m", "min_step_m"),
                                 nonzero=opt.endswith("scale"))
        options[opt] = value
    if "closed" in options and options["closed"] == options["open"]:
        raise where.fail(f"{key}.open", f"must differ from 'closed' (both {options['open']!r})")
    return Channel(name, topic, types[type_name], options)


def parse_profile(data: Any, source: str) -> RobotProfile:
    """Validate a profile's parsed YAML (`source` names it in errors)."""
    where = _Where(source)
    data = where.mapping(data, "", {"profile", "name", "description", "namespace", "topics", "limits", "safety",
                                    "arm_offset_m"})
    if "profile" not in data:
        raise where.fail("profile", f"missing: the format version, 'profile: {PROFILE_VERSION}'")
    if data["profile"] != PROFILE_VERSION:
        raise where.fail("profile", f"unsupported version {data['profile']!r}; this robomatrix reads "
                                    f"version {PROFILE_VERSION}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise where.fail("name", f"expected the profile's name, got {name!r}")
    namespace = data.get("namespace", "/") or "/"
    if not isinstance(namespace, str) or not namespace.startswith("/"):
        raise where.fail("namespace", f"expected an absolute namespace like '/robot', got {namespace!r}")
    if namespace != "/":
        _topic_name(namespace, "namespace", where)
    topics = where.mapping(data.get("topics"), "topics", CHANNEL_TYPES)
    channels = {ch: _channel(ch, topics.get(ch), namespace, where) for ch in CHANNEL_TYPES}
    # a topic carries one type: two channels on one topic must agree (arm and gripper joint states)
    seen: dict[str, Channel] = {}
    for ch in channels.values():
        if not ch.available:
            continue
        other = seen.setdefault(ch.topic, ch)
        if other is not ch and (other.msg_type is not ch.msg_type or other.name in COMMAND_CHANNELS
                                or ch.name in COMMAND_CHANNELS):
            raise where.fail(f"topics.{ch.name}.topic", f"{ch.topic} is also topics.{other.name}'s topic; "
                                                        "only sensor channels of the same type may share one")

    limits_in = where.mapping(data.get("limits"), "limits", LIMITS)
    limits = {}
    for key, (cfg_name, default) in LIMITS.items():
        value = limits_in.get(key, default)
        if isinstance(default, tuple):
            if (not isinstance(value, (list, tuple)) or len(value) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                    or not value[0] < value[1]):
                raise where.fail(f"limits.{key}", f"expected [low, high] metres with low < high, got {value!r}")
            value = (float(value[0]), float(value[1]))
        else:
            value = where.number(value, f"limits.{key}")
        limits[cfg_name] = value
    safety_in = where.mapping(data.get("safety"), "safety", SAFETY)
    safety = {key: where.number(safety_in.get(key, default), f"safety.{key}") for key, default in SAFETY.items()}
    offset = data.get("arm_offset_m", [0.0, 0.0])
    if (not isinstance(offset, (list, tuple)) or len(offset) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in offset)):
        raise where.fail("arm_offset_m", f"expected [x, z] metres, got {offset!r}")
    return RobotProfile(name=name.strip(), source=source, description=str(data.get("description", "")).strip(),
                        namespace=namespace, channels=channels, limits=limits, safety=safety,
                        arm_offset_m=(float(offset[0]), float(offset[1])))


def load_profile(name_or_path: str) -> RobotProfile:
    """Load and validate a profile by shipped name ('sim', 'robomaster_ep') or file path."""
    path = profile_path(name_or_path)
    source = path.name if path.parent == PROFILE_DIR else str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"{source}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
    return parse_profile(data, source)


# ------------------------------------------------------------------ value mappings (both directions)

def gripper_to_driver(opening: float, channel: Channel) -> float:
    """Our opening (0 closed … 1 open) → the driver's value."""
    lo, hi = channel.opt("closed"), channel.opt("open")
    return lo + (hi - lo) * float(opening)


def gripper_from_driver(value: float, channel: Channel) -> float:
    """The driver's gripper value → our opening, clamped to [0, 1]."""
    lo, hi = channel.opt("closed"), channel.opt("open")
    return min(1.0, max(0.0, (float(value) - lo) / (hi - lo)))
