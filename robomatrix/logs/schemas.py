"""ROS 2 `.msg` definitions generated from our message classes (`robomatrix.msgs`).

MCAP files with the `ros2msg` schema encoding carry, per message type, the type's own
definition followed by every nested type's definition, each introduced by a line of 80 `=`
and `MSG: pkg/Type` — the concatenated format rosbag2 writes:

    std_msgs/Header header
    uint32 height
    ...
    ================================================================================
    MSG: std_msgs/Header
    builtin_interfaces/Time stamp
    string frame_id
    ================================================================================
    MSG: builtin_interfaces/Time
    int32 sec
    uint32 nanosec

Generating the text from the IDL structs (rather than copying it) keeps the log's schemas and
the bytes we put on the wire from drifting apart.
"""
from __future__ import annotations

import typing

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, sequence

from robomatrix.msgs import ros_type_name

SEPARATOR = "=" * 80
_PRIMITIVES = {"bool", "byte", "char", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
               "uint64", "float32", "float64"}


def _short_name(cls: type) -> str:
    """'sensor_msgs/msg/Image' → 'sensor_msgs/Image' (how .msg files name other types)."""
    pkg, _, name = ros_type_name(cls).split("/")
    return f"{pkg}/{name}"


def _element(tp, nested: list[type]) -> str:
    if tp is str:
        return "string"
    if tp is bool:
        return "bool"
    if typing.get_origin(tp) is typing.Annotated:
        meta = tp.__metadata__[0]
        if isinstance(meta, str) and meta in _PRIMITIVES:
            return meta
        if isinstance(meta, sequence):
            bound = f"<={meta.max_length}" if meta.max_length else ""
            return f"{_element(meta.subtype, nested)}[{bound}]"
        if isinstance(meta, array):
            return f"{_element(meta.subtype, nested)}[{meta.length}]"
    if isinstance(tp, type) and issubclass(tp, IdlStruct):
        nested.append(tp)
        return _short_name(tp)
    raise TypeError(f"no ROS 2 .msg spelling for field type {tp!r}")


def msg_fields(cls: type) -> tuple[list[str], list[type]]:
    """The .msg lines of `cls` itself (`type name` per field) and the struct types it uses."""
    nested: list[type] = []
    hints = typing.get_type_hints(cls, include_extras=True)
    # ROS 2's empty messages get a padding member in IDL; their .msg text has no fields.
    lines = [f"{_element(tp, nested)} {name}" for name, tp in hints.items()
             if name != "structure_needs_at_least_one_member"]
    return lines, nested


def msg_definition(cls: type) -> str:
    """The full concatenated ROS 2 definition of `cls` (its fields, then each nested type once,
    depth-first in order of first use, as rosbag2 and `rosbags` write it), as MCAP `ros2msg` schemas and rosbag2 store it."""
    own, nested = msg_fields(cls)
    parts = ["\n".join(own)]
    seen = {cls}

    def visit(types: list[type]) -> None:
        for sub in types:
            if sub in seen:
                continue
            seen.add(sub)
            lines, more = msg_fields(sub)
            parts.append(f"{SEPARATOR}\nMSG: {_short_name(sub)}\n" + "\n".join(lines))
            visit(more)

    visit(nested)
    return "\n".join(parts) + ("\n" if parts[0] else "")
