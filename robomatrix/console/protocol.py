"""What the console page may send over its WebSocket, validated into typed commands.

Every message is one JSON object with a `type`. Anything else — too long, not JSON, an unknown
type or field, a wrong type, a number out of range — raises `ConsoleInputError` with a one-line
reason that the server sends back to the page as `{"type": "error", "message": ...}`; nothing
moves and nothing crashes.

    {"type": "task", "text": "put the red can in the box"}
    {"type": "correction", "text": "a bit to the left"}
    {"type": "stop"} | {"type": "resume"}
    {"type": "estop", "engaged": true}
    {"type": "teleop", "base": [vx, vy, wz], "arm": [dx, dz], "gripper": 0.0 | 1.0 | null}
        base and arm are rates normalised to -1..1 (the teleop limits scale them)
    {"type": "record", "action": "start", "skill": "grasp", "args": {"object": "red can"}}
    {"type": "record", "action": "stop" | "discard"}
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from robomatrix.errors import closest

MAX_MESSAGE_BYTES = 4096  # a WebSocket text message longer than this is refused unread
MAX_TEXT_CHARS = 500  # a task or correction longer than this is refused
MESSAGE_TYPES = ("task", "correction", "stop", "resume", "estop", "teleop", "record")
RECORD_ACTIONS = ("start", "stop", "discard")


class ConsoleInputError(ValueError):
    """A message from the page that cannot be accepted (the reason is one line, for people)."""


@dataclass(frozen=True)
class TextCommand:
    kind: str  # "task" or "correction"
    text: str


@dataclass(frozen=True)
class ControlCommand:
    kind: str  # "stop", "resume" or "estop"
    engaged: bool = True  # "estop" only: engage (true) or release (false)


@dataclass(frozen=True)
class TeleopCommand:
    base: tuple[float, float, float]  # vx, vy, wz, each -1..1 of the teleop limit
    arm: tuple[float, float]  # dx, dz rates, each -1..1 of the teleop arm speed
    gripper: float | None = None  # set-point 0 closed … 1 open; None: leave it


@dataclass(frozen=True)
class RecordCommand:
    action: str  # one of RECORD_ACTIONS
    skill: str = ""
    args: dict = field(default_factory=dict)


Command = TextCommand | ControlCommand | TeleopCommand | RecordCommand


def _fields(msg: dict, allowed: tuple[str, ...]) -> None:
    for key in msg:
        if key not in allowed:
            hint = closest(key, allowed)
            raise ConsoleInputError(f"'{msg['type']}' message has no field '{key}'"
                                    + (f"; did you mean '{hint}'?" if hint else f"; fields: {', '.join(allowed)}"))


def _text(msg: dict) -> str:
    text = msg.get("text")
    if not isinstance(text, str):
        raise ConsoleInputError(f"'{msg['type']}' needs a text string, got {type(text).__name__}")
    text = " ".join(text.split())
    if not text:
        raise ConsoleInputError(f"'{msg['type']}' text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise ConsoleInputError(f"'{msg['type']}' text is {len(text)} characters; at most {MAX_TEXT_CHARS}")
    return text


def _unit_vector(msg: dict, name: str, size: int) -> tuple[float, ...]:
    value = msg.get(name, [0.0] * size)
    if not isinstance(value, list) or len(value) != size:
        raise ConsoleInputError(f"teleop {name} must be a list of {size} numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConsoleInputError(f"teleop {name} must hold finite numbers, got {v!r}")
        if not -1.0 <= v <= 1.0:
            raise ConsoleInputError(f"teleop {name} values must be within -1..1, got {v!r}")
        out.append(float(v))
    return tuple(out)


def parse_message(raw: str | bytes) -> Command:
    """One WebSocket message from the page → a command (ConsoleInputError when it is not acceptable)."""
    if isinstance(raw, bytes):
        raise ConsoleInputError("binary messages are not accepted; send JSON text")
    if len(raw.encode("utf-8", errors="replace")) > MAX_MESSAGE_BYTES:
        raise ConsoleInputError(f"message too long ({len(raw)} characters; at most {MAX_MESSAGE_BYTES} bytes)")
    try:
        msg = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConsoleInputError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(msg, dict):
        raise ConsoleInputError(f"a message must be a JSON object, got {type(msg).__name__}")
    kind = msg.get("type")
    if kind not in MESSAGE_TYPES:
        hint = closest(str(kind), MESSAGE_TYPES) if isinstance(kind, str) else None
        raise ConsoleInputError(f"unknown message type {kind!r}" + (f"; did you mean '{hint}'?" if hint else "")
                                + f" Valid: {', '.join(MESSAGE_TYPES)}")
    if kind in ("task", "correction"):
        _fields(msg, ("type", "text"))
        return TextCommand(kind, _text(msg))
    if kind in ("stop", "resume"):
        _fields(msg, ("type",))
        return ControlCommand(kind)
    if kind == "estop":
        _fields(msg, ("type", "engaged"))
        engaged = msg.get("engaged", True)
        if not isinstance(engaged, bool):
            raise ConsoleInputError(f"estop engaged must be true or false, got {engaged!r}")
        return ControlCommand("estop", engaged)
    if kind == "teleop":
        _fields(msg, ("type", "base", "arm", "gripper"))
        gripper = msg.get("gripper")
        if gripper is not None:
            if isinstance(gripper, bool) or not isinstance(gripper, (int, float)) or not 0.0 <= gripper <= 1.0:
                raise ConsoleInputError(f"teleop gripper must be a number within 0..1 or null, got {gripper!r}")
            gripper = float(gripper)
        return TeleopCommand(_unit_vector(msg, "base", 3), _unit_vector(msg, "arm", 2), gripper)
    _fields(msg, ("type", "action", "skill", "args"))
    action = msg.get("action")
    if action not in RECORD_ACTIONS:
        raise ConsoleInputError(f"record action must be one of {', '.join(RECORD_ACTIONS)}, got {action!r}")
    skill, args = msg.get("skill", ""), msg.get("args", {})
    if not isinstance(skill, str) or len(skill) > 64:
        raise ConsoleInputError("record skill must be a skill name")
    if not isinstance(args, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float))
                                             and not isinstance(v, bool) for k, v in args.items()):
        raise ConsoleInputError("record args must be an object of names to strings or numbers")
    if action == "start" and not skill:
        raise ConsoleInputError("record start needs a skill")
    args = {k: (" ".join(v.split()) if isinstance(v, str) else v) for k, v in args.items()
            if not (isinstance(v, str) and not v.strip())}
    return RecordCommand(action, skill, args)

