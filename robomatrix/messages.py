"""The stack's own messages: typed, validated dataclasses carried as JSON in std_msgs/String.

Sensors and actuators use standard ROS 2 types (`robomatrix.msgs`); everything the
stack says to itself — tasks, plans, skill goals/feedback/results, detections,
corrections, executive status — is one of these, so `ros2 topic echo /robomatrix/plan`
is readable and no interface package has to be built.

Every class has `to_json()` / `from_json(text)`, `to_dict()` / `from_dict(data)`,
`to_msg() -> String` / `from_msg(String)`. Construction and decoding validate field
types and ranges and raise `MessageError` with a one-line reason; decoding also
refuses unknown fields (with the closest valid name). Subscribe with
`node.create_json_subscription(Plan, "/robomatrix/plan", callback)`: malformed
messages are logged and dropped there.
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from robomatrix.errors import UsageError, closest
from robomatrix.msgs import String


class MessageError(UsageError, ValueError):
    """A message that does not match its type: wrong JSON, wrong field type, value out of range."""


def new_id() -> str:
    """A short random id for tasks, plans and goals."""
    return uuid.uuid4().hex[:12]


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _check(path: str, value: Any, tp: Any, decode: bool) -> Any:
    """`value` checked against annotation `tp` (ints widen to float; with `decode`, dicts become messages)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            if option is type(None) and value is None:
                return None
        option = next(a for a in typing.get_args(tp) if a is not type(None))
        if value is None:
            raise MessageError(f"{path} must be {_type_name(tp)}, got null")
        return _check(path, value, option, decode)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise MessageError(f"{path} must be a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return [_check(f"{path}[{i}]", v, item, decode) for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, JsonMessage):
        if decode and isinstance(value, dict):
            return tp.from_dict(value, path=path)
        if not isinstance(value, tp):
            raise MessageError(f"{path} must be a {tp.__name__} object, got {type(value).__name__}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MessageError(f"{path} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise MessageError(f"{path} must be finite, got {value!r}")
        return float(value)
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise MessageError(f"{path} must be an integer, got {type(value).__name__} {value!r}")
    if tp is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise MessageError(f"{path} must be an object with string keys, got {type(value).__name__}")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise MessageError(f"{path} must hold only JSON values: {exc}") from None
        return dict(value)
    if tp in (str, bool) and type(value) is not tp:
        raise MessageError(f"{path} must be {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


class JsonMessage:
    """Base of the stack's messages (subclasses are dataclasses; `validate()` adds range checks)."""

    _hints: ClassVar[dict[str, Any]]

    def __post_init__(self):
        self._normalise(decode=False)
        self.validate()

    def _normalise(self, decode: bool) -> None:
        hints = type(self)._field_types()
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check(f"{type(self).__name__}.{f.name}",
                                                    getattr(self, f.name), hints[f.name], decode))

    @classmethod
    def _field_types(cls) -> dict[str, Any]:
        if "_hints" not in cls.__dict__:
            cls._hints = typing.get_type_hints(cls)
        return cls._hints

    def validate(self) -> None:
        """Range checks beyond types; raise `MessageError` (override in subclasses)."""

    def _fail(self, field_name: str, why: str) -> None:
        raise MessageError(f"{type(self).__name__}.{field_name} {why}, got {getattr(self, field_name)!r}")

    # ------------------------------------------------------------------ encoding
    def to_dict(self) -> dict[str, Any]:
        def plain(value):
            if isinstance(value, JsonMessage):
                return value.to_dict()
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    def to_msg(self) -> String:
        return String(data=self.to_json())

    @classmethod
    def from_dict(cls, data: Any, path: str = ""):
        path = path or cls.__name__
        if not isinstance(data, dict):
            raise MessageError(f"{path} must be a JSON object, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                hint = closest(key, names)
                raise MessageError(f"{path} has no field '{key}'" + (f"; did you mean '{hint}'?" if hint else
                                                                      f"; fields: {', '.join(names)}"))
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [n for n in required if n not in data]
        if missing:
            raise MessageError(f"{path} is missing field(s): {', '.join(missing)}")
        hints = cls._field_types()
        values = {k: _check(f"{path}.{k}", v, hints[k], decode=True) for k, v in data.items()}
        return cls(**values)

    @classmethod
    def from_json(cls, text: str | bytes):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str):
            raise MessageError(f"{cls.__name__}: expected JSON text, got {type(text).__name__}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MessageError(f"{cls.__name__}: not valid JSON ({exc.msg} at character {exc.pos})") from None
        return cls.from_dict(data)

    @classmethod
    def from_msg(cls, msg: String):
        if not isinstance(msg, String):
            raise MessageError(f"{cls.__name__}: expected a std_msgs/String, got {type(msg).__name__}")
        return cls.from_json(msg.data)


def _nonempty(msg: JsonMessage, *names: str) -> None:
    for name in names:
        if not getattr(msg, name).strip():
            msg._fail(name, "must not be empty")


def _at_least(msg: JsonMessage, name: str, low: float) -> None:
    if getattr(msg, name) < low:
        msg._fail(name, f"must be >= {low}")


def _unit(msg: JsonMessage, name: str) -> None:
    if not 0.0 <= getattr(msg, name) <= 1.0:
        msg._fail(name, "must be within 0..1")


@dataclass
class Task(JsonMessage):
    """A person's request: `Task("put the red can in the box")`."""

    instruction: str                    # what to do, in natural language
    id: str = field(default_factory=new_id)
    stamp: float = 0.0                  # seconds (the sender's clock)
    source: str = "user"                # who asked: user, console, test, ...

    def validate(self):
        _nonempty(self, "instruction", "id")


@dataclass
class SkillCall(JsonMessage):
    """One meta-skill invocation in a plan: `SkillCall("grasp", {"object": "red_can"})`."""

    skill: str                          # registered meta-skill name
    args: dict = field(default_factory=dict)  # typed arguments, checked against the skill registry

    def validate(self):
        _nonempty(self, "skill")

    def to_text(self) -> str:
        """`grasp(object='red_can')`"""
        return f"{self.skill}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"


@dataclass
class Plan(JsonMessage):
    """An instruction broken into meta-skill calls by a planner."""

    instruction: str
    steps: list[SkillCall]
    planner: str = ""                   # which planner made it: rule, hf, openai, tree
    id: str = field(default_factory=new_id)
    task_id: str = ""                   # the Task this plan serves, when known

    def validate(self):
        _nonempty(self, "id")


@dataclass
class SkillGoal(JsonMessage):
    """The goal sent to the skill server (the action's goal dict is `to_dict()`)."""

    skill: str
    args: dict = field(default_factory=dict)
    goal_id: str = field(default_factory=new_id)
    time_limit_s: float = 60.0          # the skill server aborts the skill after this long

    def validate(self):
        _nonempty(self, "skill", "goal_id")
        if not self.time_limit_s > 0:
            self._fail("time_limit_s", "must be > 0")


@dataclass
class SkillFeedback(JsonMessage):
    """Progress of a running skill."""

    goal_id: str
    skill: str
    progress: float = 0.0               # 0..1, the skill's own estimate
    elapsed_s: float = 0.0
    message: str = ""

    def validate(self):
        _unit(self, "progress")
        _at_least(self, "elapsed_s", 0.0)


@dataclass
class SkillResult(JsonMessage):
    """How a skill ended."""

    goal_id: str
    skill: str
    success: bool
    reason: str = ""                    # why it failed (or a note on success)
    duration_s: float = 0.0

    def validate(self):
        _at_least(self, "duration_s", 0.0)


@dataclass
class Detection(JsonMessage):
    """One perceived object."""

    name: str                           # e.g. 'red_can'
    box: list[float]                    # [x, y, w, h] in image pixels, top-left origin
    position_base: list[float] | None = None  # [x, y, z] in the robot base frame, m (None: no depth)
    confidence: float = 1.0             # 0..1

    def validate(self):
        _nonempty(self, "name")
        if len(self.box) != 4 or self.box[2] < 0 or self.box[3] < 0:
            self._fail("box", "must be [x, y, w, h] with w, h >= 0")
        if self.position_base is not None and len(self.position_base) != 3:
            self._fail("position_base", "must be [x, y, z] or null")
        _unit(self, "confidence")


@dataclass
class Detections(JsonMessage):
    """Everything perception saw in one camera frame."""

    stamp: float                        # seconds, the image's stamp
    detections: list[Detection] = field(default_factory=list)

    def find(self, name: str) -> Detection | None:
        return next((d for d in self.detections if d.name == name), None)


@dataclass
class Correction(JsonMessage):
    """A person's language correction while the robot works ("a bit to the left")."""

    text: str
    stamp: float = 0.0
    source: str = "user"

    def validate(self):
        _nonempty(self, "text")


CORRECTION_LEVELS = ("motion", "skill", "plan", "preference", "question")
"""How a correction was understood (robomatrix.corrections.interpret.LEVELS)."""

EXECUTIVE_STATES = ("idle", "planning", "executing", "verifying", "replanning", "editing", "paused",
                    "succeeded", "failed", "canceled")


@dataclass
class ExecutiveStatus(JsonMessage):
    """What the executive is doing (latched on its status topic)."""

    state: str                          # one of EXECUTIVE_STATES
    step_index: int = -1                # index into the plan's steps (-1: none yet)
    message: str = ""
    plan_id: str = ""
    step_count: int = 0                 # number of steps in the current plan
    skill: str = ""                     # the running skill, if any
    task_id: str = ""
    stamp: float = 0.0
    correction: str = ""                # the person's correction this status answers ("" for none)
    correction_level: str = ""          # what it was understood as: motion, skill, plan, preference,
    # question (a question back: nothing moves); "" for statuses that answer no correction

    def validate(self):
        if self.correction_level not in ("", *CORRECTION_LEVELS):
            self._fail("correction_level", f"must be one of {', '.join(CORRECTION_LEVELS)} or empty")
        if self.state not in EXECUTIVE_STATES:
            hint = closest(self.state, EXECUTIVE_STATES)
            raise MessageError(f"ExecutiveStatus.state '{self.state}' is unknown"
                               + (f"; did you mean '{hint}'?" if hint else "")
                               + f" Valid: {', '.join(EXECUTIVE_STATES)}")
        _at_least(self, "step_index", -1)
        _at_least(self, "step_count", 0)


@dataclass
class SkillAdjust(JsonMessage):
    """A motion correction for the skill server (`/robomatrix/skill_adjust`): an offset of where the
    running skill goes (`robomatrix.skills.runner.MotionOffset` fields) or a standing one for a skill."""

    offset: dict = field(default_factory=dict)  # MotionOffset.to_dict(): base_dx_m, base_dy_m, arm_dx_m, arm_dz_m, speed_scale
    scope: str = "running"              # running: add to the running skill (or the next one); skill: from now on
    # for `skill` on objects of `noun`; clear: drop the standing offsets (a new task)
    skill: str = ""                     # scope "skill": which skill
    noun: str = ""                      # scope "skill": object noun ("can"), "" for any
    except_call: str = ""               # scope "skill": the running call (its text), which gets it as a
    # "running" adjustment already, also on its retries (TaskOffsets.add)
    text: str = ""                      # the correction it came from
    stamp: float = 0.0

    def validate(self):
        if self.scope not in ("running", "skill", "clear"):
            self._fail("scope", "must be running, skill or clear")
        if self.scope == "skill":
            _nonempty(self, "skill")


MESSAGE_CLASSES: dict[str, type[JsonMessage]] = {
    cls.__name__: cls for cls in (Task, SkillCall, Plan, SkillGoal, SkillFeedback, SkillResult,
                                  Detection, Detections, Correction, ExecutiveStatus)
}
